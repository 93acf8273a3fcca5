package training

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/ytrain/ytrain/internal/model"
	"github.com/ytrain/ytrain/internal/weighting"
)

// Flags are train's command-line settings: a Config, plus what the command
// line says in other words (the weighting by name, --full, the LoRA
// targets as a list).
type Flags struct {
	Config
	weighting string
	params    weighting.Params
	full      bool
	lora      model.LoRAConfig
	targets   string
}

// Register binds f to fs.
func (f *Flags) Register(fs *pflag.FlagSet) {
	c, p := &f.Config, &f.params
	*p = weighting.DefaultParams()
	fs.StringVar(&c.Model, "model", "", "Hugging Face model folder (required)")
	fs.StringVar(&c.Output, "output", "", "output folder: checkpoint-N/, final/, merged/, metrics.jsonl (required)")
	fs.StringVar(&c.Objective, "objective", "sft", "sft (token records) or cpt (packed rows)")
	fs.IntVar(&c.TokenBatch, "token-batch", 10, "sft: answer tokens per optimizer step (windowed); 0 = fused")
	fs.BoolVar(&c.V2Windows, "v2-windows", false, "sft windowed: reproduce Y-Trainer v2's windows, which skip each window's last token and the remainder (for comparing numbers only)")
	fs.IntVar(&c.BatchSize, "batch-size", 1, "documents (fused SFT) or packed rows (CPT) per unit")
	fs.StringVar(&f.weighting, "weighting", "nlirg", "token weighting: "+strings.Join(weighting.Names(), ", "))
	p.Register(fs)
	fs.BoolVar(&f.full, "full", false, "full fine-tuning (float32 master weights) instead of LoRA")
	fs.IntVar(&f.lora.Rank, "lora-rank", 16, "LoRA rank")
	fs.Float64Var(&f.lora.Alpha, "lora-alpha", 32, "LoRA alpha (scale α/r)")
	fs.Float64Var(&f.lora.Dropout, "lora-dropout", 0.2, "LoRA dropout")
	fs.StringVar(&f.targets, "lora-targets", strings.Join(model.Modules, ","), "modules to adapt")
	fs.Float64Var(&c.LR, "lr", 5e-6, "peak learning rate")
	fs.Float64Var(&c.Beta1, "beta1", 0.9, "AdamW β1")
	fs.Float64Var(&c.Beta2, "beta2", 0.999, "AdamW β2")
	fs.Float64Var(&c.Eps, "adam-eps", 1e-8, "AdamW ε")
	fs.Float64Var(&c.WeightDecay, "weight-decay", 0.01, "AdamW decoupled weight decay")
	fs.StringVar(&c.Schedule, "lr-schedule", "constant", "constant, linear or cosine (after warmup)")
	fs.Float64Var(&c.Warmup, "warmup", 0, "warmup steps, or a fraction of the run when < 1")
	fs.Float64Var(&c.GradClip, "grad-clip", 0, "clip the global gradient norm (0 = off)")
	fs.IntVar(&c.GradAccum, "grad-accum", 1, "units per optimizer step")
	fs.IntVar(&c.Epochs, "epochs", 3, "passes over the data")
	fs.IntVar(&c.MaxSteps, "max-steps", 0, "stop after this many optimizer steps (0 = all epochs)")
	fs.Int64Var(&c.Seed, "seed", 42, "seed for LoRA init, dropout and --shuffle")
	fs.BoolVar(&c.Shuffle, "shuffle", false, "shuffle rows each epoch (off: the input order is the curriculum)")
	fs.BoolVar(&c.GradientCheckpointing, "gradient-checkpointing", false, "keep only each layer's input and recompute the layer in backward")
	fs.StringArrayVar(&c.Eval, "eval-data", nil, "held-out token/packed file whose loss is logged (repeatable)")
	fs.IntVar(&c.EvalEvery, "eval-every", 50, "steps between evaluations (and at the end)")
	fs.IntVar(&c.SaveEvery, "save-every", 0, "steps between checkpoints (0: at epoch ends only)")
	fs.IntVar(&c.SaveTotalLimit, "save-total-limit", 0, "keep only the newest N checkpoints (0: all)")
	fs.BoolVar(&c.Merge, "merge", false, "LoRA: also write the merged full model to OUTPUT/merged")
	fs.BoolVar(&c.MergeCheckpoints, "merge-checkpoints", false, "LoRA: also write each checkpoint's merged full model to checkpoint-N/merged (to evaluate the run at several points)")
	fs.StringVar(&c.Resume, "resume", "", "continue from this checkpoint-N folder (latest: the newest in --output)")
	fs.StringSliceVar(&c.AllowChanged, "allow-changed", nil, "with --resume: settings that may differ from the run's ("+strings.Join(Changeable, ", ")+")")
	fs.BoolVar(&c.Overwrite, "overwrite", false, "train into an output folder that has another run: its checkpoints, final/, merged/ and metrics.jsonl are removed first")
	fs.StringVar(&c.DistBackend, "dist-backend", "auto", "with torchrun's variables (RANK, WORLD_SIZE, ...): auto (nccl on CUDA, gloo on the CPU), gloo or nccl")
	fs.DurationVar(&c.DistTimeout, "dist-timeout", 10*time.Minute, "how long a rank waits for the others (start-up, every collective) before failing")
	fs.IntVar(&c.Zero, "zero", 0, "1: shard optimizer moments and float32 masters over the ranks (full fine-tuning)")
	fs.StringVar(&c.TensorBoard, "tensorboard", "", "write TensorBoard event files here (HF Trainer's tags: train/loss, train/learning_rate, eval/loss, ...)")
	fs.IntVar(&c.LogEvery, "log-every", 10, "steps between progress lines")
	fs.IntVar(&c.MaxBadSteps, "max-bad-steps", 10, "stop after this many steps with a non-finite loss or gradient")
}

// checkNumbers refuses values no run can use, NaN included (it passes
// every comparison).
func (f *Flags) checkNumbers() error {
	c := &f.Config
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	for _, n := range []struct {
		name string
		v    float64
		ok   bool
		want string
	}{
		{"lr", c.LR, c.LR > 0, "a positive number"},
		{"beta1", c.Beta1, c.Beta1 >= 0 && c.Beta1 < 1, "a number in [0, 1)"},
		{"beta2", c.Beta2, c.Beta2 >= 0 && c.Beta2 < 1, "a number in [0, 1)"},
		{"adam-eps", c.Eps, c.Eps > 0, "a positive number"},
		{"weight-decay", c.WeightDecay, c.WeightDecay >= 0, "0 or more"},
		{"warmup", c.Warmup, c.Warmup >= 0, "0 or more steps, or a fraction below 1"},
		{"grad-clip", c.GradClip, c.GradClip >= 0, "0 (off) or more"},
		{"lora-alpha", f.lora.Alpha, f.lora.Alpha > 0, "a positive number"},
		{"lora-dropout", f.lora.Dropout, f.lora.Dropout >= 0 && f.lora.Dropout < 1, "a probability in [0, 1)"},
	} {
		if !finite(n.v) || !n.ok {
			return fmt.Errorf("--%s %g: want %s", n.name, n.v, n.want)
		}
	}
	for _, n := range []struct {
		name string
		v    int
		min  int
	}{{"lora-rank", f.lora.Rank, 1}, {"max-steps", c.MaxSteps, 0}, {"save-every", c.SaveEvery, 0},
		{"save-total-limit", c.SaveTotalLimit, 0},
		{"eval-every", c.EvalEvery, 0}, {"log-every", c.LogEvery, 0}, {"max-bad-steps", c.MaxBadSteps, 1}} {
		if n.v < n.min {
			return fmt.Errorf("--%s %d: want %d or more", n.name, n.v, n.min)
		}
	}
	return nil
}

// Finish checks the flags and completes the Config they describe.
func (f *Flags) Finish() (*Config, error) {
	c := &f.Config
	switch {
	case c.Model == "":
		return nil, errors.New("--model is required")
	case c.Output == "":
		return nil, errors.New("--output is required")
	case len(c.Data) == 0:
		return nil, errors.New("no training data: name token or packed record files")
	case c.Objective != "sft" && c.Objective != "cpt":
		return nil, fmt.Errorf("--objective %q: want sft or cpt", c.Objective)
	case c.TokenBatch < 0 || c.BatchSize < 1 || c.GradAccum < 1 || c.Epochs < 1:
		return nil, errors.New("want --token-batch ≥ 0, --batch-size, --grad-accum and --epochs ≥ 1")
	case c.Objective == "sft" && c.TokenBatch > 0 && c.BatchSize > 1:
		return nil, errors.New("--batch-size > 1 needs fused SFT (--token-batch 0): windowed steps go one document at a time")
	case c.Zero != 0 && c.Zero != 1:
		return nil, fmt.Errorf("--zero %d: want 0 or 1", c.Zero)
	case c.Zero == 1 && !f.full:
		return nil, errors.New("--zero 1 shards full fine-tuning's optimizer state: add --full (LoRA's is small)")
	case f.full && (c.Merge || c.MergeCheckpoints):
		return nil, errors.New("--merge and --merge-checkpoints fold LoRA adapters in: --full saves whole models already")
	case c.DistTimeout <= 0:
		return nil, errors.New("--dist-timeout must be positive")
	}
	if err := f.checkNumbers(); err != nil {
		return nil, err
	}
	if c.Resume == "latest" {
		var err error
		if c.Resume, err = latestCheckpoint(c.Output); err != nil {
			return nil, err
		}
	}
	if c.Resume == "" && !c.Overwrite {
		if old, _ := filepath.Glob(filepath.Join(c.Output, "checkpoint-*")); len(old) > 0 {
			return nil, fmt.Errorf("%s already has checkpoints (%s): --resume one, or --overwrite", c.Output, filepath.Base(old[0]))
		}
	}
	for _, a := range c.AllowChanged {
		if !slices.Contains(Changeable, a) {
			return nil, fmt.Errorf("--allow-changed %s: want some of %s (the others change what the steps so far meant)", a, strings.Join(Changeable, ", "))
		}
	}
	var err error
	if c.Weighting, err = weighting.New(f.weighting, f.params); err != nil {
		return nil, err
	}
	if !f.full {
		f.lora.Targets = strings.Split(f.targets, ",")
		c.LoRA = &f.lora
	}
	c.Progress = os.Stderr
	if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		c.Terminal = true
	}
	return c, nil
}
