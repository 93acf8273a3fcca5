package training

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/ytrain/ytrain/internal/seq"
)

// spec is what defines a run, saved in every checkpoint: resuming with
// another would silently reinterpret the data cursor, drop trained
// adapters, or train another objective, so --resume compares it setting by
// setting.
type spec struct {
	Objective  string   `json:"objective"`
	TokenBatch int      `json:"token_batch"`
	V2Windows  bool     `json:"v2_windows"`
	BatchSize  int      `json:"batch_size"` // global: --batch-size × ranks
	GradAccum  int      `json:"grad_accum"`
	Shuffle    bool     `json:"shuffle"`
	Seed       int64    `json:"seed"`
	Model      string   `json:"model"` // architecture and shapes
	Data       string   `json:"data"`  // sha256 of every sequence, in order
	LoRA       string   `json:"lora"`  // "" for full fine-tuning
	Weighting  string   `json:"weighting"`
	Epochs     int      `json:"epochs"`
	MaxSteps   int      `json:"max_steps"`
	LR         float64  `json:"lr"`
	Schedule   string   `json:"lr_schedule"`
	Warmup     float64  `json:"warmup"`
	Optimizer  []string `json:"optimizer"` // beta1, beta2, eps, weight decay, clipping
}

// UnmarshalJSON reads a spec, and the spec of a checkpoint written before
// the rename to "objective", which called it "task": such a run must still
// resume.
func (s *spec) UnmarshalJSON(b []byte) error {
	type plain spec // without this method
	var v struct {
		plain
		Task string `json:"task"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = spec(v.plain)
	if s.Objective == "" {
		s.Objective = v.Task
	}
	return nil
}

// specOf describes the run that cfg and seqs make.
func (tr *trainer) specOf(seqs []*seq.Seq) spec {
	c, m := tr.cfg, tr.m.Cfg
	s := spec{Objective: c.Objective, TokenBatch: c.TokenBatch, V2Windows: c.V2Windows, BatchSize: tr.layout.batchSize,
		GradAccum: c.GradAccum, Shuffle: c.Shuffle, Seed: c.Seed,
		Model: fmt.Sprintf("%s vocab %d, hidden %d, %d layers, %d/%d heads of %d, mlp %d",
			m.Arch, m.Vocab, m.Hidden, m.Layers, m.Heads, m.KVHeads, m.HeadDim, m.Inter),
		Data:      fingerprint(seqs),
		Weighting: fmt.Sprintf("%s %+v", c.Weighting.Name(), c.Weighting),
		Epochs:    c.Epochs, MaxSteps: c.MaxSteps, LR: c.LR, Schedule: c.Schedule, Warmup: c.Warmup,
		Optimizer: []string{fmt.Sprint(c.Beta1), fmt.Sprint(c.Beta2), fmt.Sprint(c.Eps), fmt.Sprint(c.WeightDecay), fmt.Sprint(c.GradClip)},
	}
	if l := c.LoRA; l != nil {
		s.LoRA = fmt.Sprintf("rank %d, alpha %g, dropout %g on %s", l.Rank, l.Alpha, l.Dropout, strings.Join(l.Targets, ","))
	}
	return s
}

// fingerprint hashes the training sequences: ids, positions, segments and
// targets, in order.
func fingerprint(seqs []*seq.Seq) string {
	h := sha256.New()
	var b []byte
	for _, s := range seqs {
		b = binary.AppendUvarint(b[:0], uint64(s.Len()))
		for _, v := range [][]int64{s.IDs, s.Pos, s.Seg} {
			for _, x := range v {
				b = binary.AppendVarint(b, x)
			}
		}
		for _, t := range s.Targets {
			b = binary.AppendUvarint(b, uint64(t))
		}
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Changeable are the settings that may differ on --resume when named in
// --allow-changed: they change where the run goes from here, not how the
// steps taken so far are counted.
var Changeable = []string{"epochs", "max-steps", "lr", "lr-schedule", "warmup", "optimizer", "weighting"}

// setting is one of a spec's settings: its flag, its value, and why a run
// cannot change it halfway.
type setting struct {
	flag  string
	value any
	why   string
}

func (s spec) settings() []setting {
	return []setting{
		{"objective", s.Objective, "another objective"},
		{"token-batch", s.TokenBatch, "the data cursor counts units: another --token-batch skips or repeats data"},
		{"v2-windows", s.V2Windows, "the data cursor counts windows"},
		{"batch-size", s.BatchSize, "the data cursor counts units of the global batch (--batch-size × ranks): another skips or repeats data"},
		{"grad-accum", s.GradAccum, "the steps taken counted units of another size"},
		{"shuffle", s.Shuffle, "the epoch's order would change under the cursor"},
		{"seed", s.Seed, "the shuffle order and dropout masks follow the seed"},
		{"model", s.Model, "another model"},
		{"data", s.Data, "other training data (or another order): the cursor would point elsewhere"},
		{"lora", s.LoRA, "the adapters trained so far do not fit"},
		{"weighting", s.Weighting, "another objective from here on"},
		{"epochs", s.Epochs, "the learning-rate schedule spans the run"},
		{"max-steps", s.MaxSteps, "the learning-rate schedule spans the run"},
		{"lr", s.LR, "another learning rate from here on"},
		{"lr-schedule", s.Schedule, "another schedule from here on"},
		{"warmup", s.Warmup, "another schedule from here on"},
		{"optimizer", fmt.Sprint(s.Optimizer), "other AdamW settings or clipping from here on"},
	}
}

// compare checks the resumed run against the checkpoint's, naming the first
// setting that differs and why it matters.
func (s spec) compare(was spec, allowed []string) error {
	then := was.settings()
	for i, d := range s.settings() {
		if fmt.Sprint(d.value) == fmt.Sprint(then[i].value) || slices.Contains(allowed, d.flag) {
			continue
		}
		msg := fmt.Sprintf("%s is %v, the run had %v: %s", d.flag, d.value, then[i].value, d.why)
		if slices.Contains(Changeable, d.flag) {
			return fmt.Errorf("%s; --allow-changed %s continues with the new value", msg, d.flag)
		}
		return fmt.Errorf("%s; resume with the run's own settings", msg)
	}
	return nil
}
