package ranking

import (
	"errors"
	"fmt"
	"math"

	"github.com/spf13/pflag"
)

// Flags are rank's command-line settings: Register binds them, Finish
// makes the run's Options. Records are the files named after the flags.
type Flags struct {
	Records    []string
	Scores     []string
	Mode       string
	PerTarget  bool
	Window     int
	ZThreshold float64
	Order      string
	Mix        string
	DropWorst  float64
	DropAbove  float64
	Band       string
	Skip       bool
	Report     string
	Worst      int
	Encoding   string

	fs *pflag.FlagSet // to tell a flag set to 0 from one not given
}

// Register binds f to fs.
func (f *Flags) Register(fs *pflag.FlagSet) {
	f.fs = fs
	fs.StringArrayVar(&f.Scores, "scores", nil, "score records (repeat for several files; required)")
	fs.StringVar(&f.Mode, "mode", "similarity", "similarity, filtered, divergence, ifd or ppl")
	fs.BoolVar(&f.PerTarget, "per-target", false, "filtered: divide by the number of targets")
	fs.IntVar(&f.Window, "smooth-window", 3, "divergence: centred rolling-mean window")
	fs.Float64Var(&f.ZThreshold, "z-threshold", 1.96, "divergence: a span needs a divergence of at least this")
	fs.StringVar(&f.Order, "order", "desc", "desc (highest score first, as Y-Trainer) or asc")
	fs.StringVar(&f.Mix, "mix", "none", "none or interleave:K")
	fs.Float64Var(&f.DropWorst, "drop-worst", 0, "drop this fraction of the highest-scoring records, in [0, 1)")
	fs.Float64Var(&f.DropAbove, "drop-above", 0, "drop records scoring above this")
	fs.StringVar(&f.Band, "keep-band", "", "keep one band of the scores: low|mid|high:FRACTION, e.g. mid:0.8")
	fs.BoolVar(&f.Skip, "skip-unscored", false, "drop records that have no score (counted) instead of failing")
	fs.StringVar(&f.Report, "report", "", "write the markdown report to this file instead of stderr")
	fs.IntVar(&f.Worst, "worst", 10, "highest-scoring records listed in the report")
	fs.StringVar(&f.Encoding, "encoding", "", "jsonl or json for data files, arrow or jsonl for token records (default: see above)")
}

// Finish checks the flags and makes the run's options.
func (f *Flags) Finish() (Options, error) {
	opt := Options{
		Scores:       f.Scores,
		Records:      f.Records,
		Mode:         ModeOptions{Mode: Mode(f.Mode), PerTarget: f.PerTarget, SmoothWindow: f.Window, ZThreshold: f.ZThreshold},
		SkipUnscored: f.Skip,
	}
	var err error
	switch f.Order {
	case "desc", "asc":
		opt.Plan.Desc = f.Order == "desc"
	default:
		return opt, fmt.Errorf("--order %q: want desc or asc", f.Order)
	}
	if opt.Plan.Interleave, err = ParseMix(f.Mix); err != nil {
		return opt, err
	}
	if !(f.DropWorst >= 0 && f.DropWorst < 1) {
		return opt, fmt.Errorf("--drop-worst %g: want a fraction in [0, 1)", f.DropWorst)
	}
	opt.Plan.DropWorst = f.DropWorst
	if f.fs.Changed("drop-above") {
		if math.IsNaN(f.DropAbove) {
			return opt, errors.New("--drop-above NaN: want a number")
		}
		opt.Plan.DropAbove = &f.DropAbove
	}
	if math.IsNaN(f.ZThreshold) || math.IsInf(f.ZThreshold, 0) {
		return opt, fmt.Errorf("--z-threshold %g: want a number", f.ZThreshold)
	}
	if f.Band != "" {
		if opt.Plan.Band, err = ParseBand(f.Band); err != nil {
			return opt, err
		}
	}
	switch f.Encoding {
	case "", "arrow", "jsonl", "json":
	default:
		return opt, fmt.Errorf("--encoding %q: want jsonl or json (data files), arrow or jsonl (token records)", f.Encoding)
	}
	if f.Worst < 0 {
		return opt, fmt.Errorf("--worst %d: want 0 or more", f.Worst)
	}
	return opt, nil
}
