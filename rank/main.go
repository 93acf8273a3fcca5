// Command rank orders a corpus by the per-token loss and entropy curves that
// score wrote for it, attaches each record's own score, drops the worst if
// asked, and reports the worst records and why.
//
//	rank --scores scores.arrow data.jsonl -o ranked.jsonl
package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/ytrain/ytrain/formats"
	"github.com/ytrain/ytrain/internal/ranking"
)

const usage = `usage: rank --scores FILE [flags] RECORDS ...

Joins score records (score's output, Arrow or JSON Lines) with the records
they were computed from, by id, and writes those records in the new order
with their scores attached.

RECORDS is either
  - your data file(s): JSON array, JSON Lines, CSV or text lines, as given to
    tokenize (records without an "id" are matched as FILE:N, the name
    tokenize gave them). Every field is kept in its order; "score" and
    "rank_reason" (and "rank_spans" in divergence mode) are added or
    replaced. Written as JSON Lines, or a JSON array for a .json input or -o.
  - token records (Arrow or JSON Lines): written as token records with
    "rank_score", "rank_reason" (and "rank_spans") in their meta object,
    ready for pack or train, which read in order.

Modes (in every mode higher = worse, and "worst" means highest):
  similarity  −Pearson r of the entropy and loss curves (z-scored): high when
              the loss peaks where the model is sure. A constant or
              one-target curve scores 0 (no correlation), never NaN.
  filtered    targets with loss > 3, weighted 1 when entropy ≤ 1 and 0.5
              otherwise; --normalize divides by the number of targets.
  divergence  the original's analyzer: smoothed z-scores, per-target classes
              (label_error, hard, lucky, suspicious_certainty), spans, and
              anomaly = Σ|z_loss − z_entropy| over anomalous targets / targets.
  ifd         mean loss with the prompt / mean loss of the answer alone
              (needs score --prompt-free); --drop-above 1 drops answers the
              prompt does not help.
  ppl         exp(mean loss); --keep-band mid:0.8 keeps the middle 80 %.

Filters apply in this order, each to what the previous one left, and are
counted: --drop-above, --drop-worst (round(F·n) highest), --keep-band
(round(F·n) kept). Equal scores keep their input order.

--mix interleave:K cuts the ordered list into K strata of consecutive ranks
(sizes differ by at most one) and writes one record of each stratum in turn,
so every K outputs span every difficulty level instead of easy → hard.

The report (markdown: mode, counts, score range, the --worst N highest
scores with why) goes to stderr, or to --report FILE.

`

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "rank:", err)
		os.Exit(1)
	}
}

func run() error {
	fs := pflag.NewFlagSet("rank", pflag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(os.Stderr, usage)
		fs.PrintDefaults()
	}
	var (
		scores     = fs.StringArray("scores", nil, "score records (repeat for several files; required)")
		mode       = fs.String("mode", "similarity", "similarity, filtered, divergence, ifd or ppl")
		normalize  = fs.Bool("normalize", false, "filtered: divide by the number of targets")
		window     = fs.Int("smooth-window", 3, "divergence: centred rolling-mean window")
		zThreshold = fs.Float64("z-threshold", 1.96, "divergence: a span needs a divergence of at least this")
		order      = fs.String("order", "desc", "desc (highest score first, as the original) or asc")
		mix        = fs.String("mix", "none", "none or interleave:K")
		dropWorst  = fs.Float64("drop-worst", 0, "drop this fraction of the highest-scoring records, in [0, 1)")
		dropAbove  = fs.Float64("drop-above", 0, "drop records scoring above this")
		band       = fs.String("keep-band", "", "keep one band of the scores: low|mid|high:FRACTION, e.g. mid:0.8")
		skip       = fs.Bool("skip-unscored", false, "drop records that have no score (counted) instead of failing")
		report     = fs.String("report", "", "write the markdown report to this file instead of stderr")
		worst      = fs.Int("worst", 10, "highest-scoring records listed in the report")
		out        = fs.StringP("output", "o", "", "output file (default stdout); written whole or not at all")
		format     = fs.String("format", "", "jsonl or json for data files, arrow or jsonl for token records (default: see above)")
	)
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil
		}
		return err
	}
	opt := ranking.Options{
		Scores:       *scores,
		Records:      fs.Args(),
		Mode:         ranking.ModeOptions{Mode: ranking.Mode(*mode), Normalize: *normalize, SmoothWindow: *window, ZThreshold: *zThreshold},
		SkipUnscored: *skip,
	}
	var err error
	switch *order {
	case "desc", "asc":
		opt.Plan.Desc = *order == "desc"
	default:
		return fmt.Errorf("--order %q: want desc or asc", *order)
	}
	if opt.Plan.Interleave, err = ranking.ParseMix(*mix); err != nil {
		return err
	}
	if *dropWorst < 0 || *dropWorst >= 1 {
		return fmt.Errorf("--drop-worst %g: want a fraction in [0, 1)", *dropWorst)
	}
	opt.Plan.DropWorst = *dropWorst
	if fs.Changed("drop-above") {
		opt.Plan.DropAbove = dropAbove
	}
	if *band != "" {
		if opt.Plan.Band, err = ranking.ParseBand(*band); err != nil {
			return err
		}
	}
	switch *format {
	case "", "arrow", "jsonl", "json":
	default:
		return fmt.Errorf("--format %q: want jsonl or json (data files), arrow or jsonl (token records)", *format)
	}
	if *worst < 0 {
		return fmt.Errorf("--worst %d: want 0 or more", *worst)
	}

	start := time.Now()
	rk, err := ranking.Rank(opt, os.Stdin)
	if err != nil {
		return err
	}
	if len(rk.Order) == 0 {
		return fmt.Errorf("no record left to write (%d scored, %d dropped)", len(rk.Results), rk.Dropped.Total())
	}
	form, err := rk.Records.OutputForm(*format, *out, os.Stdout)
	if err != nil {
		return err
	}
	o, err := formats.CreateOutput(*out, os.Stdout)
	if err != nil {
		return err
	}
	defer o.Abort()
	if err := rk.Records.Write(o, form, rk.Results, rk.Order); err != nil {
		return err
	}
	rep, err := formats.CreateOutput(*report, os.Stderr)
	if err != nil {
		return err
	}
	defer rep.Abort()
	if err := rk.Report(rep, opt.Mode, opt.Plan, *worst); err != nil {
		return err
	}
	if err := o.Commit(); err != nil {
		return err
	}
	if err := rep.Commit(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "rank: %d records scored (%s), %d unscored skipped, %d dropped, %d written; %.1fs\n",
		len(rk.Results), *mode, rk.Unscored, rk.Dropped.Total(), len(rk.Order), time.Since(start).Seconds())
	return nil
}
