// Package training fine-tunes a decoder on token or packed records with a
// per-token weighting (NLIRG by default): SFT windowed as the original
// (an optimizer step every TokenBatch answer tokens) or fused (one step per
// batch), or CPT on packed rows; LoRA or full; checkpoints that PEFT and
// transformers load, and resumable to the step.
package training

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"

	"github.com/ytrain/ytrain/formats"
	"github.com/ytrain/ytrain/internal/model"
	"github.com/ytrain/ytrain/internal/scoring"
	"github.com/ytrain/ytrain/internal/tensorboard"
	"github.com/ytrain/ytrain/internal/torch"
	"github.com/ytrain/ytrain/internal/weighting"
)

// Config is a training run.
type Config struct {
	Model  string   // HF model folder
	Data   []string // token or packed record files
	Output string   // checkpoints, metrics.jsonl, final model
	Device gotch.Device
	DType  gotch.DType

	Kind       string // sft or cpt
	TokenBatch int    // sft: answer tokens per step (windowed); 0: fused
	V2Windows  bool   // sft windowed: the original v2's token-dropping windows
	BatchSize  int    // rows per unit (fused SFT, CPT)
	Weighting  weighting.Scheme
	TopK       int // EAFT's k: compute top-k entropies

	UseLoRA bool
	LoRA    model.LoRAConfig

	LR, Beta1, Beta2, Eps, WeightDecay float64
	Schedule                           string
	Warmup                             float64 // steps, or a fraction of the run when < 1
	GradClip                           float64 // 0: off
	GradAccum                          int
	Epochs, MaxSteps                   int
	Seed                               int64
	Shuffle                            bool
	GradientCheckpointing              bool

	Eval      []string // held-out token or packed files, logged by base name
	EvalEvery int
	SaveEvery int
	Merge     bool
	Resume    string

	TensorBoard string
	LogEvery    int
	MaxBadSteps int
	Progress    io.Writer // stderr
	Terminal    bool      // Progress is a terminal: redraw one progress line
}

type trainer struct {
	cfg      Config
	m        *model.Model
	lora     map[string]*ts.Tensor // PEFT key → adapter tensor; nil for full fine-tuning
	fullFT   bool
	opt      *adamW
	sched    schedule
	topK     int
	tb       *tensorboard.Writer
	log      *os.File // metrics.jsonl
	evals    []evalSet
	st       state
	perEpoch int // units
}

type evalSet struct {
	name string
	rows []*row
}

// Run trains; it returns when the epochs or MaxSteps are done, or on the
// first error.
func Run(cfg Config) error {
	// grad mode and gotch's last error are per OS thread (see package torch)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	tr := &trainer{cfg: cfg, topK: cfg.TopK, fullFT: !cfg.UseLoRA}
	modelDir := cfg.Model
	if cfg.Resume != "" && tr.fullFT {
		modelDir = cfg.Resume // a full checkpoint is itself the model folder
	}
	mcfg, err := model.LoadConfig(cfg.Model)
	if err != nil {
		return err
	}
	rows, err := readRows(cfg.Data, mcfg.Vocab)
	if err != nil {
		return err
	}
	for _, e := range cfg.Eval {
		er, err := readRows([]string{e}, mcfg.Vocab)
		if err != nil {
			return err
		}
		tr.evals = append(tr.evals, evalSet{name: filepath.Base(e), rows: er})
	}
	torch.ManualSeed(cfg.Seed)
	if tr.m, err = model.Load(modelDir, cfg.Device, cfg.DType); err != nil {
		return err
	}
	defer tr.m.Close()
	trainable := map[string]*ts.Tensor{}
	if cfg.UseLoRA {
		if tr.lora, err = tr.m.AttachLoRA(cfg.LoRA); err != nil {
			return err
		}
		trainable = tr.lora
	} else {
		for name, p := range tr.m.Params {
			p.MustRequiresGrad_(true)
			trainable[name] = p
		}
	}
	names := make([]string, 0, len(trainable))
	for n := range trainable {
		names = append(names, n)
	}
	sort.Strings(names)
	tr.opt = newAdamW(trainable, names, cfg.Beta1, cfg.Beta2, cfg.Eps, cfg.WeightDecay)

	mode := Fused
	if cfg.Kind == "sft" && cfg.TokenBatch > 0 {
		mode = Windowed
	}
	perEpoch := len(units(rows, mode, cfg.BatchSize, cfg.TokenBatch, cfg.V2Windows, false, 0, 0))
	tr.perEpoch = perEpoch
	stepsPerEpoch := (perEpoch + cfg.GradAccum - 1) / cfg.GradAccum
	total := stepsPerEpoch * cfg.Epochs
	if cfg.MaxSteps > 0 && cfg.MaxSteps < total {
		total = cfg.MaxSteps
	}
	if tr.sched, err = newSchedule(cfg.Schedule, cfg.LR, cfg.Warmup, total); err != nil {
		return err
	}
	tr.st = state{Seed: cfg.Seed, Mode: map[bool]string{true: "lora", false: "full"}[cfg.UseLoRA]}
	if cfg.Resume != "" {
		st, err := tr.restore(cfg.Resume)
		if err != nil {
			return err
		}
		tr.st = *st
	}
	if err := os.MkdirAll(cfg.Output, 0o755); err != nil {
		return err
	}
	if tr.log, err = os.OpenFile(filepath.Join(cfg.Output, "metrics.jsonl"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
		return err
	}
	defer tr.log.Close()
	if cfg.TensorBoard != "" {
		if tr.tb, err = tensorboard.NewWriter(cfg.TensorBoard); err != nil {
			return err
		}
		defer tr.tb.Close()
	}
	fmt.Fprintf(cfg.Progress, "train: %d rows, %d units/epoch (%s), %d steps; training %s; %s\n",
		len(rows), perEpoch, map[Mode]string{Fused: "fused", Windowed: fmt.Sprintf("windowed, %d tokens", cfg.TokenBatch)}[mode],
		total, describe(trainable), cfg.Weighting.Name())
	return tr.loop(rows, mode, perEpoch, total)
}

// stepAcc gathers the units of one optimizer step.
type stepAcc struct {
	losses, weights []float32
	j               float64
	units, skipped  int
	bad             bool
	tokens          int
}

func (tr *trainer) loop(rows []*row, mode Mode, perEpoch, total int) error {
	cfg := tr.cfg
	start := time.Now()
	tokensSince, since := 0, time.Now()
	tr.m.Training = true
	for epoch := tr.st.Unit / perEpoch; epoch < cfg.Epochs && tr.st.Step < total; epoch++ {
		us := units(rows, mode, cfg.BatchSize, cfg.TokenBatch, cfg.V2Windows, cfg.Shuffle, cfg.Seed, epoch)
		var acc stepAcc
		for k := tr.st.Unit - epoch*perEpoch; k < len(us) && tr.st.Step < total; k++ {
			global := epoch*perEpoch + k
			torch.ManualSeed(cfg.Seed*1_000_003 + int64(global)) // dropout: the same masks after a resume
			res, err := tr.runUnit(&us[k], 1/float64(cfg.GradAccum))
			if err != nil {
				return err
			}
			acc.units++
			acc.tokens += res.tokens
			tokensSince += res.tokens
			acc.bad = acc.bad || res.bad
			if res.skipped {
				acc.skipped++
				tr.st.SkippedUnits++
			} else {
				acc.j += res.j
			}
			acc.losses = append(acc.losses, res.losses...)
			acc.weights = append(acc.weights, res.weights...)
			tr.st.Unit = global + 1
			tr.st.Epoch = tr.st.Unit / perEpoch
			if (k+1)%cfg.GradAccum != 0 && k != len(us)-1 {
				continue
			}
			if err := tr.step(&acc, tokensSince, since, start, total); err != nil {
				return err
			}
			tokensSince, since = 0, time.Now()
			acc = stepAcc{}
			if cfg.SaveEvery > 0 && tr.st.Step%cfg.SaveEvery == 0 && tr.st.Step > 0 {
				if err := tr.checkpoint(); err != nil {
					return err
				}
			}
		}
		if tr.st.Unit%perEpoch == 0 && (cfg.SaveEvery == 0 || tr.st.Step%cfg.SaveEvery != 0) {
			if err := tr.checkpoint(); err != nil { // epoch end
				return err
			}
		}
	}
	tr.m.Training = false
	if err := tr.save(filepath.Join(cfg.Output, "final"), nil); err != nil {
		return err
	}
	if cfg.Merge && tr.lora != nil {
		dir := filepath.Join(cfg.Output, "merged")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if err := tr.writeModel(dir, tr.m.Params, tr.merged()); err != nil {
			return err
		}
		if err := copyFiles(cfg.Model, dir, tokenizerFiles); err != nil {
			return err
		}
	}
	fmt.Fprintf(cfg.Progress, "train: done: %d steps in %s; %d units skipped (all weights 0), %d bad steps; model in %s\n",
		tr.st.Step, time.Since(start).Round(time.Second), tr.st.SkippedUnits, tr.st.BadSteps, filepath.Join(cfg.Output, "final"))
	return nil
}

func (tr *trainer) checkpoint() error {
	st := tr.st
	return tr.save(filepath.Join(tr.cfg.Output, fmt.Sprintf("checkpoint-%d", tr.st.Step)), &st)
}

// step finishes an optimizer step: checks the gradients, clips, updates,
// logs.
func (tr *trainer) step(acc *stepAcc, tokens int, since, start time.Time, total int) error {
	cfg := tr.cfg
	defer tr.opt.zeroGrad()
	if !acc.bad && acc.skipped == acc.units {
		return nil // nothing contributed a gradient
	}
	norm := math.NaN()
	if !acc.bad {
		norm = tr.opt.gradNorm()
	}
	if math.IsNaN(norm) || math.IsInf(norm, 0) || math.IsNaN(acc.j) {
		tr.st.BadSteps++
		fmt.Fprintf(cfg.Progress, "train: step %d: loss or gradient not finite; step skipped (%d so far)\n", tr.st.Step+1, tr.st.BadSteps)
		if tr.st.BadSteps >= cfg.MaxBadSteps {
			return fmt.Errorf("%d steps with a non-finite loss or gradient (--max-bad-steps %d): lower --lr or check the data", tr.st.BadSteps, cfg.MaxBadSteps)
		}
		return nil
	}
	scale := 1.0
	if cfg.GradClip > 0 && norm > cfg.GradClip {
		scale = cfg.GradClip / (norm + 1e-6)
	}
	tr.st.Step++
	lr := tr.sched.at(tr.st.Step)
	tr.opt.update(lr, scale)
	took := time.Since(since) // the step's units and its update, not the logging below

	m := map[string]any{"step": tr.st.Step, "epoch": float64(tr.st.Unit) / float64(tr.perEpoch),
		"loss": mean(acc.losses), "weighted_loss": acc.j / float64(acc.units-acc.skipped), "lr": lr, "grad_norm": norm,
		"tokens_per_s": float64(tokens) / took.Seconds(), "step_time": took.Seconds(), "targets": len(acc.losses),
		"skipped_units": acc.skipped}
	var regions [weighting.NumRegions]int
	for _, l := range acc.losses {
		regions[weighting.Region(l)]++
	}
	for i, n := range weighting.RegionNames {
		m["frac_"+n] = float64(regions[i]) / float64(max(1, len(acc.losses)))
	}
	if cfg.EvalEvery > 0 && tr.st.Step%cfg.EvalEvery == 0 || tr.st.Step == total {
		for _, e := range tr.evals {
			l, err := tr.evalLoss(e.rows)
			if err != nil {
				return err
			}
			m["eval/"+e.name+"/loss"] = l
		}
	}
	if err := tr.record(m, acc.weights); err != nil {
		return err
	}
	if tr.st.Step%max(1, cfg.LogEvery) == 0 || tr.st.Step == total {
		el := time.Since(start)
		eta := time.Duration(float64(el) / float64(tr.st.Step) * float64(total-tr.st.Step))
		end := "\n"
		if cfg.Terminal {
			end = "   \r" // one line, rewritten in place
		}
		fmt.Fprintf(cfg.Progress, "step %d/%d  loss %.4f  weighted %.4f  lr %.2e  %.0f tok/s  ETA %s%s",
			tr.st.Step, total, m["loss"], m["weighted_loss"], lr, m["tokens_per_s"], eta.Round(time.Second), end)
	}
	return nil
}

// record appends a metrics.jsonl line and the TensorBoard scalars (plus the
// histogram of this step's weights).
func (tr *trainer) record(m map[string]any, weights []float32) error {
	b, _ := json.Marshal(m)
	if _, err := tr.log.Write(append(b, '\n')); err != nil {
		return err
	}
	if tr.tb == nil {
		return nil
	}
	step := int64(tr.st.Step)
	for k, v := range m {
		if f, ok := toFloat(v); ok && k != "step" {
			if !strings.HasPrefix(k, "eval/") {
				k = "train/" + k
			}
			if err := tr.tb.Scalar(k, step, f); err != nil {
				return err
			}
		}
	}
	if len(weights) > 0 {
		w := make([]float64, len(weights))
		for i, x := range weights {
			w[i] = float64(x)
		}
		if err := tr.tb.Histogram("train/token_weight", step, w); err != nil {
			return err
		}
	}
	return tr.tb.Flush()
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, !math.IsNaN(x) && !math.IsInf(x, 0)
	case int:
		return float64(x), true
	}
	return 0, false
}

func mean(v []float32) float64 {
	s := 0.0
	for _, x := range v {
		s += float64(x)
	}
	return s / float64(max(1, len(v)))
}

// evalLoss is the mean unweighted loss over every target of a held-out set,
// the early warning for over-fitting (domain set) and forgetting (general).
func (tr *trainer) evalLoss(rows []*row) (float64, error) {
	tr.m.Training = false
	defer func() { tr.m.Training = true }()
	sum, n := 0.0, 0
	sc := &scoring.Scorer{M: tr.m, BatchTokens: 4096, Emit: func(s *formats.Score) error {
		for _, l := range s.Loss {
			sum += float64(l)
		}
		n += len(s.Loss)
		return nil
	}}
	var err error
	ts.NoGrad(func() {
		for _, r := range rows {
			if err = sc.AddPacked(r.packed()); err != nil {
				return
			}
		}
		err = sc.Close()
	})
	return sum / float64(max(1, n)), err
}

// packed turns a row back into a one-row packed record for the scorer.
func (r *row) packed() *formats.Packed {
	n := len(r.ids)
	p := &formats.Packed{InputIDs: make([]int32, n), PositionIDs: make([]int32, n), SegmentIDs: make([]int32, n), LossMask: make(formats.Mask, n)}
	segs := int64(0)
	for t := range r.ids {
		p.InputIDs[t], p.PositionIDs[t], p.SegmentIDs[t] = int32(r.ids[t]), int32(r.pos[t]), int32(r.seg[t])
		segs = max(segs, r.seg[t])
	}
	for _, t := range r.targets {
		p.LossMask[t] = 1
	}
	for s := int64(1); s <= segs; s++ {
		p.DocIDs = append(p.DocIDs, fmt.Sprintf("%s#%d", r.id, s))
	}
	return p
}
