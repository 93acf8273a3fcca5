// Command train fine-tunes a Hugging Face model on token records (SFT) or
// packed rows (CPT), weighting every target token's gradient by its own loss
// (NLIRG) or another scheme, and writes PEFT adapters or HF model folders.
//
//	tokenize --tokenizer MODEL data.jsonl -o tokens.arrow && train --model MODEL --output run1 tokens.arrow
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/spf13/pflag"

	"github.com/ytrain/ytrain/internal/model"
	"github.com/ytrain/ytrain/internal/torch"
	"github.com/ytrain/ytrain/internal/training"
	"github.com/ytrain/ytrain/internal/weighting"
)

func main() {
	runtime.LockOSThread() // libtorch's grad mode and gotch's errors are per OS thread
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "train:", err)
		os.Exit(1)
	}
}

func run() error {
	fs := pflag.NewFlagSet("train", pflag.ContinueOnError)
	fs.SortFlags = false
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, `usage: train --model DIR --output DIR [flags] FILE...

FILEs are token records (tokenize; SFT) or packed rows (pack; CPT), Arrow or JSON Lines.
They are read in order (the order is the curriculum: see rank); --shuffle mixes them.

Weighting (default nlirg, the seed's intent; the original's CLI defaulted it off):
each target token's loss ℓ is multiplied by a detached weight w(ℓ):
  nlirg  rising sigmoid up to --nlirg-threshold, falling after, 0 from --nlirg-deadline
  dft    w = p;  focal  w = (1−p)^γ;  eaft  normalised top-k entropy^α
  trunc  drops the highest-loss fraction;  none  w = 1
SFT reduces Σ w·ℓ / #(w·ℓ ≠ 0) (a step whose weights are all 0 is skipped and counted);
CPT takes the mean over real targets.

SFT modes: --token-batch N (default 10, as the seed) takes an optimizer step every N answer
tokens, each after a full forward over the sequence (the original's windowed stepping, every
answer token covered); --token-batch 0 is fused: one forward/backward per --batch-size
documents, every token weighted, many times faster.

Defaults follow the original where it has one: lr 5e-6, LoRA r 16, α 32, dropout 0.2 on all
seven projections, AdamW weight decay 0.01, constant LR, no clipping, no shuffle.

`)
		fs.PrintDefaults()
	}
	var (
		cfg       training.Config
		p         = weighting.DefaultParams()
		device    string
		dtype     string
		scheme    string
		full      bool
		targets   string
		threads   int
		overwrite bool
	)
	fs.StringVar(&cfg.Model, "model", "", "Hugging Face model folder (required)")
	fs.StringVar(&cfg.Output, "output", "", "output folder: checkpoint-N/, final/, merged/, metrics.jsonl (required)")
	fs.StringVar(&cfg.Kind, "kind", "sft", "sft (token records) or cpt (packed rows)")
	fs.IntVar(&cfg.TokenBatch, "token-batch", 10, "sft: answer tokens per optimizer step (windowed); 0 = fused")
	fs.BoolVar(&cfg.V2Windows, "v2-windows", false, "sft windowed: reproduce the original v2's windows, which skip each window's last token and the remainder (for comparing numbers only)")
	fs.IntVar(&cfg.BatchSize, "batch-size", 1, "documents (fused SFT) or packed rows (CPT) per unit")
	fs.StringVar(&scheme, "weighting", "nlirg", "token weighting: "+strings.Join(weighting.Names(), ", "))
	fs.Float64Var(&p.NLIRG.X0, "nlirg-x0", p.NLIRG.X0, "nlirg: midpoint of the rising branch")
	fs.Float64Var(&p.NLIRG.K, "nlirg-k", p.NLIRG.K, "nlirg: slope of the rising branch")
	fs.Float64Var(&p.NLIRG.Threshold, "nlirg-threshold", p.NLIRG.Threshold, "nlirg: loss where the falling branch starts (exclusive)")
	fs.Float64Var(&p.NLIRG.Deadline, "nlirg-deadline", p.NLIRG.Deadline, "nlirg: loss from which the weight is 0")
	fs.Float64Var(&p.NLIRG.HardX0, "nlirg-hard-x0", p.NLIRG.HardX0, "nlirg: midpoint of the falling branch (hard-coded 6.2 in the original)")
	fs.Float64Var(&p.NLIRG.HardK, "nlirg-hard-k", p.NLIRG.HardK, "nlirg: slope of the falling branch (hard-coded 1 in the original)")
	fs.Float64Var(&p.NLIRG.MaxLR, "nlirg-max", p.NLIRG.MaxLR, "nlirg: scale of both branches")
	fs.Float64Var(&p.NLIRG.MinLR, "nlirg-min", p.NLIRG.MinLR, "nlirg: floor added to the falling branch")
	fs.BoolVar(&p.NLIRG.BF16, "nlirg-bf16", false, "nlirg: round loss and weight to bf16 like the original's default run")
	fs.Float64Var(&p.Focal.Gamma, "focal-gamma", p.Focal.Gamma, "focal: γ")
	fs.Float64Var(&p.EAFT.Alpha, "eaft-alpha", p.EAFT.Alpha, "eaft: α")
	fs.IntVar(&p.EAFT.TopK, "eaft-topk", p.EAFT.TopK, "eaft: k of the top-k entropy")
	fs.Float64Var(&p.Trunc.Fraction, "trunc-fraction", p.Trunc.Fraction, "trunc: fraction of highest-loss tokens dropped per step")
	fs.BoolVar(&full, "full", false, "full fine-tuning (float32 master weights) instead of LoRA")
	fs.IntVar(&cfg.LoRA.Rank, "lora-rank", 16, "LoRA rank")
	fs.Float64Var(&cfg.LoRA.Alpha, "lora-alpha", 32, "LoRA alpha (scale α/r)")
	fs.Float64Var(&cfg.LoRA.Dropout, "lora-dropout", 0.2, "LoRA dropout")
	fs.StringVar(&targets, "lora-targets", strings.Join(model.Modules, ","), "modules to adapt")
	fs.Float64Var(&cfg.LR, "lr", 5e-6, "peak learning rate")
	fs.Float64Var(&cfg.Beta1, "beta1", 0.9, "AdamW β1")
	fs.Float64Var(&cfg.Beta2, "beta2", 0.999, "AdamW β2")
	fs.Float64Var(&cfg.Eps, "adam-eps", 1e-8, "AdamW ε")
	fs.Float64Var(&cfg.WeightDecay, "weight-decay", 0.01, "AdamW decoupled weight decay")
	fs.StringVar(&cfg.Schedule, "lr-schedule", "constant", "constant, linear or cosine (after warmup)")
	fs.Float64Var(&cfg.Warmup, "warmup", 0, "warmup steps, or a fraction of the run when < 1")
	fs.Float64Var(&cfg.GradClip, "grad-clip", 0, "clip the global gradient norm (0 = off)")
	fs.IntVar(&cfg.GradAccum, "grad-accum", 1, "units per optimizer step")
	fs.IntVar(&cfg.Epochs, "epochs", 3, "passes over the data")
	fs.IntVar(&cfg.MaxSteps, "max-steps", 0, "stop after this many optimizer steps (0 = all epochs)")
	fs.Int64Var(&cfg.Seed, "seed", 42, "seed for LoRA init, dropout and --shuffle")
	fs.BoolVar(&cfg.Shuffle, "shuffle", false, "shuffle rows each epoch (off: the input order is the curriculum)")
	fs.BoolVar(&cfg.GradientCheckpointing, "gradient-checkpointing", false, "keep only each layer's input and recompute the layer in backward")
	fs.StringArrayVar(&cfg.Eval, "eval-data", nil, "held-out token/packed file whose loss is logged (repeatable)")
	fs.IntVar(&cfg.EvalEvery, "eval-every", 50, "steps between evaluations (and at the end)")
	fs.IntVar(&cfg.SaveEvery, "save-every", 0, "steps between checkpoints (0: at epoch ends only)")
	fs.BoolVar(&cfg.Merge, "merge", false, "LoRA: also write the merged full model to OUTPUT/merged")
	fs.StringVar(&cfg.Resume, "resume", "", "continue from this checkpoint-N folder")
	fs.BoolVar(&overwrite, "overwrite", false, "train into an output folder that already has checkpoints")
	fs.StringVar(&cfg.TensorBoard, "tensorboard", "", "write TensorBoard event files here")
	fs.IntVar(&cfg.LogEvery, "log-every", 10, "steps between progress lines")
	fs.IntVar(&cfg.MaxBadSteps, "max-bad-steps", 10, "stop after this many steps with a non-finite loss or gradient")
	fs.StringVar(&device, "device", "cpu", "cpu, cuda or cuda:N")
	fs.StringVar(&dtype, "dtype", "auto", "compute dtype: auto (f32 on CPU, the checkpoint's on GPU), f32, bf16")
	fs.IntVar(&threads, "threads", 0, "libtorch CPU threads (0: libtorch's default)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil
		}
		return err
	}
	cfg.Data = fs.Args()
	switch {
	case cfg.Model == "":
		return errors.New("--model is required")
	case cfg.Output == "":
		return errors.New("--output is required")
	case len(cfg.Data) == 0:
		return errors.New("no training data: name token or packed record files")
	case cfg.Kind != "sft" && cfg.Kind != "cpt":
		return fmt.Errorf("--kind %q: want sft or cpt", cfg.Kind)
	case cfg.TokenBatch < 0 || cfg.BatchSize < 1 || cfg.GradAccum < 1 || cfg.Epochs < 1:
		return errors.New("want --token-batch ≥ 0, --batch-size, --grad-accum and --epochs ≥ 1")
	case cfg.Kind == "sft" && cfg.TokenBatch > 0 && cfg.BatchSize > 1:
		return errors.New("--batch-size > 1 needs fused SFT (--token-batch 0): windowed steps go one document at a time")
	case cfg.LR <= 0:
		return errors.New("--lr must be positive")
	}
	if cfg.Resume == "" && !overwrite {
		if old, _ := filepath.Glob(filepath.Join(cfg.Output, "checkpoint-*")); len(old) > 0 {
			return fmt.Errorf("%s already has checkpoints (%s): --resume one, or --overwrite", cfg.Output, filepath.Base(old[0]))
		}
	}
	var err error
	if cfg.Weighting, err = weighting.New(scheme, p); err != nil {
		return err
	}
	if scheme == "eaft" {
		cfg.TopK = p.EAFT.TopK
	}
	cfg.UseLoRA = !full
	cfg.LoRA.Targets = strings.Split(targets, ",")
	if cfg.Device, err = torch.ParseDevice(device); err != nil {
		return err
	}
	mcfg, err := model.LoadConfig(cfg.Model)
	if err != nil {
		return err
	}
	if cfg.DType, err = torch.ParseDType(dtype, cfg.Device, mcfg.DType); err != nil {
		return err
	}
	torch.SetThreads(threads)
	cfg.Progress = os.Stderr
	if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		cfg.Terminal = true
	}
	return training.Run(cfg)
}
