// Package training fine-tunes a decoder on token or packed records with a
// per-token weighting (NLIRG by default): SFT windowed as Y-Trainer
// (an optimizer step every TokenBatch answer tokens) or fused (one step per
// batch), or CPT on packed rows; LoRA or full; checkpoints that PEFT and
// transformers load, and resumable to the step.
package training

import (
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"syscall"
	"time"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"

	"github.com/ytrain/ytrain/internal/cli"
	"github.com/ytrain/ytrain/internal/dist"
	"github.com/ytrain/ytrain/internal/model"
	"github.com/ytrain/ytrain/internal/seq"
	"github.com/ytrain/ytrain/internal/shard"
	"github.com/ytrain/ytrain/internal/tensorboard"
	"github.com/ytrain/ytrain/internal/torch"
	"github.com/ytrain/ytrain/internal/weighting"
)

// Config is a training run.
type Config struct {
	Model  string   // HF model folder
	Data   []string // token or packed record files
	Output string   // checkpoints, metrics.jsonl, final model
	Device string   // cpu, cuda, cuda:N (cuda: cuda:LOCAL_RANK among several processes)
	DType  string   // auto, f32, bf16, f16

	Objective  string // sft or cpt
	TokenBatch int    // sft: answer tokens per step (windowed); 0: fused
	V2Windows  bool   // sft windowed: Y-Trainer v2's token-dropping windows
	BatchSize  int    // sequences per unit (fused SFT, CPT)
	Weighting  weighting.Scheme

	// LoRA trains adapters on a frozen base; nil trains every weight (full
	// fine-tuning, with float32 master weights).
	LoRA *model.LoRAConfig

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
	// SaveTotalLimit keeps only the newest checkpoints (0: all of them)
	SaveTotalLimit int
	Merge          bool
	// MergeCheckpoints also writes each LoRA checkpoint's merged model into
	// checkpoint-N/merged, so a run can be evaluated at several points
	MergeCheckpoints bool
	Overwrite        bool // start clean in an output folder that holds another run
	Resume           string
	// AllowChanged names settings (of Changeable) that may differ from the
	// resumed run's.
	AllowChanged []string

	// torchrun's variables (RANK, WORLD_SIZE, ...) make the run one rank of
	// several: the process group's backend (auto, gloo, nccl) and timeout.
	DistBackend string
	DistTimeout time.Duration
	Zero        int // 1: shard the optimizer's state over the ranks (full fine-tuning)

	TensorBoard string
	LogEvery    int
	MaxBadSteps int
	Progress    io.Writer // stderr
	Terminal    bool      // Progress is a terminal: redraw one progress line
	// Interrupt, when it delivers, stops the run after the step under way,
	// with a checkpoint; Run then returns an Interrupted.
	Interrupt <-chan os.Signal
}

// Interrupted is Run's error when Config.Interrupt stopped it.
type Interrupted struct {
	Signal     os.Signal
	Checkpoint string
	code       int
}

func (e *Interrupted) Error() string {
	return fmt.Sprintf("stopped by %v; %s saved: --resume %s continues", e.Signal, e.Checkpoint, e.Checkpoint)
}

// ExitCode is the shell's status for a process ended by the signal.
func (e *Interrupted) ExitCode() int { return e.code }

type trainer struct {
	cfg      Config
	m        *model.Model
	adapters map[string]*ts.Tensor // PEFT key → adapter tensor; nil for full fine-tuning
	opt      *adamW
	sched    schedule
	topK     int // the weighting needs top-k entropies: k
	layout   layout
	tb       *tensorboard.Writer
	log      *os.File // metrics.jsonl
	evals    []evalSet
	st       state
	resumed  int         // the step this process started at (0, or a checkpoint's): the ETA counts steps since
	perEpoch int         // units
	g        *dist.Group // the ranks training together (a world of one alone)
	hf       hfFiles
}

type evalSet struct {
	name string
	seqs []*seq.Seq
}

// Run trains; it returns when the epochs or MaxSteps are done, or on the
// first error.
func Run(cfg Config) error {
	// grad mode and gotch's last error are per OS thread (see package torch)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	tr := &trainer{cfg: cfg}
	if c, ok := cfg.Weighting.(weighting.Calibrated); ok {
		fmt.Fprintf(cfg.Progress, "%s: %s\n", c.Name(), c.Calibration())
	}
	if e, ok := cfg.Weighting.(weighting.EntropyUser); ok {
		tr.topK = e.EntropyTopK()
	}
	modelDir := cfg.Model
	if cfg.Resume != "" && cfg.LoRA == nil {
		modelDir = cfg.Resume // a full checkpoint is itself the model folder
	}
	g, err := joinGroup(&cfg)
	if err != nil {
		return err
	}
	defer g.Close()
	tr.g, tr.cfg.Device = g, cfg.Device
	if g.Rank() != 0 {
		tr.cfg.Progress = io.Discard // rank 0 reports for all
	}
	torch.ManualSeed(cfg.Seed)
	if tr.m, err = model.Open(modelDir, cfg.Device, cfg.DType); err != nil {
		return err
	}
	defer tr.m.Close()
	if int64(tr.topK) > tr.m.Cfg.Vocab {
		return fmt.Errorf("--eaft-topk %d exceeds the model's vocabulary of %d", tr.topK, tr.m.Cfg.Vocab)
	}
	seqs, err := seq.Read(cfg.Data, tr.m.Cfg.Limits())
	if err != nil {
		return err
	}
	for _, e := range cfg.Eval {
		es, err := seq.Read([]string{e}, tr.m.Cfg.Limits())
		if err != nil {
			return err
		}
		tr.evals = append(tr.evals, evalSet{name: filepath.Base(e), seqs: es})
	}
	// the global batch: the units (and the data cursor) of one process
	tr.layout = layout{stepping: Fused, batchSize: cfg.BatchSize * g.Size(), tokenBatch: cfg.TokenBatch,
		v2Windows: cfg.V2Windows, shuffle: cfg.Shuffle, seed: cfg.Seed}
	if cfg.Objective == "sft" && cfg.TokenBatch > 0 {
		tr.layout.stepping = Windowed
	}
	tr.perEpoch = len(tr.layout.units(seqs, 0))
	stepsPerEpoch := (tr.perEpoch + cfg.GradAccum - 1) / cfg.GradAccum
	total := stepsPerEpoch * cfg.Epochs
	if cfg.MaxSteps > 0 && cfg.MaxSteps < total {
		total = cfg.MaxSteps
	}
	if tr.sched, err = newSchedule(cfg.Schedule, cfg.LR, cfg.Warmup, total); err != nil {
		return err
	}
	run := tr.specOf(seqs)
	if err := g.CheckSame(tr.agreement(run)); err != nil {
		return err
	}
	trainable, err := tr.trainable()
	if err != nil {
		return err
	}
	// rank 0's initial weights (fresh adapters above all) for every rank
	if err := g.Broadcast(0, tensors(trainable)...); err != nil {
		return err
	}
	tr.opt = newAdamW(trainable, sortedNames(trainable), cfg.Beta1, cfg.Beta2, cfg.Eps, cfg.WeightDecay)
	if cfg.Zero == 1 {
		tr.opt.shard(g.Rank(), g.Size())
		here, whole := tr.opt.stateMB()
		fmt.Fprintf(tr.cfg.Progress, "train: --zero 1: optimizer state %.1f MB on rank 0, %.1f MB unsharded\n", here, whole)
	}

	tr.st = state{Seed: cfg.Seed, LoRA: cfg.LoRA != nil, Spec: &run, WorldSize: g.Size()}
	if cfg.Resume != "" {
		st, err := tr.restore(cfg.Resume)
		if err != nil {
			return err
		}
		if st.Spec == nil {
			fmt.Fprintf(cfg.Progress, "train: warning: %s records no run settings (an older checkpoint): they are not checked\n", cfg.Resume)
		} else if err := run.compare(*st.Spec, cfg.AllowChanged); err != nil {
			return fmt.Errorf("--resume %s: %w", cfg.Resume, err)
		}
		tr.st = *st
		tr.st.Spec = &run
		tr.st.WorldSize = g.Size()
	}
	if g.Rank() == 0 { // rank 0 writes for all
		lock, err := lockOutput(cfg.Output)
		if err != nil {
			return err
		}
		defer lock.Close()
		if cfg.Overwrite && cfg.Resume == "" {
			if err := clearOutput(cfg.Output); err != nil {
				return err
			}
		}
		if cfg.Resume != "" {
			if err := truncateMetrics(cfg.Output, tr.st.Step); err != nil {
				return err
			}
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
			if cfg.Resume != "" { // TensorBoard forgets the steps logged after the checkpoint
				if err := tr.tb.SessionStart(int64(tr.st.Step) + 1); err != nil {
					return err
				}
			}
		}
	}
	how := "fused"
	if tr.layout.stepping == Windowed {
		how = fmt.Sprintf("windowed, %d tokens", cfg.TokenBatch)
	}
	ranks := ""
	if g.Size() > 1 {
		ranks = fmt.Sprintf(" on %d ranks (%s)", g.Size(), g.Backend())
	}
	fmt.Fprintf(tr.cfg.Progress, "train: %d rows, %d units/epoch (%s), %d steps%s; training %s; %s\n",
		len(seqs), tr.perEpoch, how, total, ranks, describe(trainable), cfg.Weighting.Name())
	if err := tr.loop(seqs, total); err != nil {
		return err
	}
	return g.Barrier() // rank 0 serves the group's store: it leaves last
}

// joinGroup joins the process group torchrun's variables describe (a world
// of one without them), and makes a plain --device cuda this rank's GPU.
func joinGroup(cfg *Config) (*dist.Group, error) {
	dc, err := dist.FromEnv(os.Getenv, cfg.DistBackend, cfg.DistTimeout)
	if err != nil {
		return nil, err
	}
	if dc.Size > 1 {
		cfg.Device = shard.Device(cfg.Device, os.Getenv)
	}
	dev, err := torch.ParseDevice(cfg.Device)
	if err != nil {
		return nil, err
	}
	return dist.Init(dc, dev)
}

// tensors lists named tensors in name order, the order every rank shares.
func tensors(named map[string]*ts.Tensor) []*ts.Tensor {
	var out []*ts.Tensor
	for _, n := range sortedNames(named) {
		out = append(out, named[n])
	}
	return out
}

// trainable readies the weights to train: fresh LoRA adapters, or every
// weight of the model.
func (tr *trainer) trainable() (map[string]*ts.Tensor, error) {
	if tr.cfg.LoRA != nil {
		var err error
		tr.adapters, err = tr.m.AttachLoRA(*tr.cfg.LoRA)
		return tr.adapters, err
	}
	for _, p := range tr.m.Params {
		p.MustRequiresGrad_(true)
	}
	return tr.m.Params, nil
}

func sortedNames(m map[string]*ts.Tensor) []string { return slices.Sorted(maps.Keys(m)) }

// stepAcc gathers the units of one optimizer step.
type stepAcc struct {
	losses, weights []float32
	j               float64
	units, skipped  int
	bad             bool
	tokens          int
}

func (tr *trainer) loop(seqs []*seq.Seq, total int) error {
	cfg := tr.cfg
	start := time.Now()
	tr.resumed = tr.st.Step
	tokensSince, since := 0, time.Now()
	tr.m.Training = true
	perEpoch := tr.perEpoch
	for epoch := tr.st.Unit / perEpoch; epoch < cfg.Epochs && tr.st.Step < total; epoch++ {
		us := tr.layout.units(seqs, epoch)
		var acc stepAcc
		for k := tr.st.Unit - epoch*perEpoch; k < len(us) && tr.st.Step < total; k++ {
			global := epoch*perEpoch + k
			// dropout: the same masks after a resume, other masks on other ranks
			torch.ManualSeed(cfg.Seed*1_000_003 + int64(global) + int64(tr.g.Rank())*1_000_000_007)
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
			saved := cfg.SaveEvery > 0 && tr.st.Step%cfg.SaveEvery == 0 && tr.st.Step > 0
			if saved {
				if err := tr.checkpoint(); err != nil {
					return err
				}
			}
			sig, err := tr.interrupted()
			if err != nil {
				return err
			}
			if sig != nil {
				if !saved {
					if err := tr.checkpoint(); err != nil {
						return err
					}
				}
				return &Interrupted{Signal: sig, Checkpoint: tr.checkpointDir(), code: cli.ExitCode(sig)}
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
	if cfg.Merge && tr.adapters != nil && tr.g.Rank() == 0 {
		if err := tr.writeMerged(filepath.Join(cfg.Output, "merged")); err != nil {
			return err
		}
	}
	fmt.Fprintf(cfg.Progress, "train: done: %d steps in %s; %d units skipped (all weights 0), %d bad steps; model in %s\n",
		tr.st.Step, time.Since(start).Round(time.Second), tr.st.SkippedUnits, tr.st.BadSteps, filepath.Join(cfg.Output, "final"))
	return nil
}

func (tr *trainer) checkpoint() error {
	st := tr.st
	if err := tr.save(tr.checkpointDir(), &st); err != nil || tr.g.Rank() != 0 {
		return err
	}
	if err := pruneCheckpoints(tr.cfg.Output, tr.cfg.SaveTotalLimit); err != nil {
		return fmt.Errorf("--save-total-limit %d: %w", tr.cfg.SaveTotalLimit, err)
	}
	return nil
}

// interrupted reports the signal that asks the run to stop after this step.
// On W ranks they agree (any rank's signal stops all), so that every rank
// leaves the loop at the same step and no collective is left waiting.
func (tr *trainer) interrupted() (os.Signal, error) {
	var sig os.Signal
	select {
	case sig = <-tr.cfg.Interrupt:
	default:
	}
	if tr.g.Size() == 1 {
		return sig, nil
	}
	flag := 0.0
	if sig != nil {
		flag = 1
	}
	t, err := ts.OfSlice([]float64{flag})
	if err != nil {
		return nil, err
	}
	if tr.m.Device != gotch.CPU { // NCCL reduces on the GPU
		t = t.MustTo(tr.m.Device, true)
	}
	defer t.MustDrop()
	if err := tr.g.AllReduceSum(t); err != nil {
		return nil, err
	}
	if sig == nil && t.Float64Values()[0] > 0 {
		sig = syscall.SIGTERM // another rank's
	}
	return sig, nil
}

func (tr *trainer) checkpointDir() string {
	return checkpointPath(tr.cfg.Output, tr.st.Step)
}
