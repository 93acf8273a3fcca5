package training

import (
	"bufio"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"

	"github.com/ytrain/ytrain/formats"
	"github.com/ytrain/ytrain/internal/model"
	"github.com/ytrain/ytrain/internal/modeltest"
	"github.com/ytrain/ytrain/internal/packing"
	"github.com/ytrain/ytrain/internal/safetensors"
	"github.com/ytrain/ytrain/internal/seq"
	"github.com/ytrain/ytrain/internal/tensorboard"
	"github.com/ytrain/ytrain/internal/tinymodel"
	"github.com/ytrain/ytrain/internal/torch"
	"github.com/ytrain/ytrain/internal/weighting"
)

// lock pins the test's goroutine to its OS thread, where libtorch keeps
// grad mode; subtests run on goroutines of their own.
func lock(t *testing.T) {
	runtime.LockOSThread()
	t.Cleanup(runtime.UnlockOSThread)
}

const vocab = 64

// fixture writes a tiny model and n token records with a prompt and an
// answer; the answers repeat patterns, so the model can learn them.
func fixture(t *testing.T, n int) (modelDir, data string) {
	t.Helper()
	modelDir = modeltest.Write(t, tinymodel.Spec{Arch: "Qwen3ForCausalLM", Vocab: vocab, Hidden: 32, Heads: 4, KVHeads: 2, Inter: 64, Seed: 1})
	data = filepath.Join(t.TempDir(), "data.jsonl")
	f, _ := os.Create(data)
	defer f.Close()
	w := formats.NewWriter(f, formats.JSONL, formats.TokenCodec)
	rng := rand.New(rand.NewSource(2))
	for i := 0; i < n; i++ {
		prompt := 4 + rng.Intn(4)
		rec := formats.Token{ID: fmt.Sprintf("d%d", i)}
		for k := 0; k < prompt+12; k++ {
			id := int32(rng.Intn(vocab))
			if k >= prompt {
				id = int32((i%3)*7 + k%5) // three answer patterns
			}
			rec.InputIDs = append(rec.InputIDs, id)
			rec.LossMask = append(rec.LossMask, uint8(map[bool]int{true: 1}[k >= prompt]))
		}
		w.Write(&rec)
	}
	w.Close()
	return modelDir, data
}

// packedFixture packs the token records for CPT.
func packedFixture(t *testing.T, data string) string {
	in := formats.OpenInputs([]string{data}, nil, formats.TokenCodec)
	defer in.Close()
	out := filepath.Join(filepath.Dir(data), "packed.jsonl")
	f, _ := os.Create(out)
	defer f.Close()
	w := formats.NewWriter(f, formats.JSONL, formats.PackedCodec)
	p, _ := packing.New(packing.Options{Length: 48, Strategy: packing.NextFit}, w.Write)
	for rec, err := range in.All() {
		if err != nil {
			t.Fatal(err)
		}
		rec.LossMask = make(formats.Mask, len(rec.InputIDs)) // CPT: every token but the first
		for k := 1; k < len(rec.LossMask); k++ {
			rec.LossMask[k] = 1
		}
		p.Add(rec)
	}
	p.Flush()
	w.Close()
	return out
}

func baseConfig(modelDir, data, out string) Config {
	return Config{Model: modelDir, Data: []string{data}, Output: out, Device: "cpu", DType: "f32",
		Objective: "sft", TokenBatch: 0, BatchSize: 4, Weighting: weighting.DefaultNLIRG(),
		LoRA: &model.LoRAConfig{Rank: 4, Alpha: 8, Dropout: 0.1, Targets: model.Modules},
		LR:   2e-2, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01, Schedule: "constant", GradAccum: 1,
		Epochs: 6, Seed: 7, MaxBadSteps: 3, Progress: nopWriter{}}
}

type nopWriter struct{}

func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }

type metric struct {
	Step     int     `json:"step"`
	Loss     float64 `json:"loss"`
	Weighted float64 `json:"weighted_loss"`
	Epoch    float64 `json:"epoch"`
}

// metrics reads metrics.jsonl; a step logged twice (a resumed run) keeps its
// last line.
func metrics(t *testing.T, out string) []metric {
	t.Helper()
	f, err := os.Open(filepath.Join(out, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	by := map[int]metric{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m metric
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		by[m.Step] = m
	}
	var ms []metric
	for _, m := range by {
		ms = append(ms, m)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Step < ms[j].Step })
	return ms
}

// firstLast is the mean loss of the first and the last fifth of the steps.
func firstLast(ms []metric) (float64, float64) {
	k := max(1, len(ms)/5)
	a, b := 0.0, 0.0
	for i := 0; i < k; i++ {
		a += ms[i].Loss
		b += ms[len(ms)-1-i].Loss
	}
	return a / float64(k), b / float64(k)
}

func TestLossFalls(t *testing.T) {
	lock(t)
	modelDir, data := fixture(t, 12)
	packed := packedFixture(t, data)
	cases := []struct {
		name string
		mod  func(*Config)
	}{
		{"sft fused lora", func(c *Config) {}},
		{"sft windowed lora", func(c *Config) { c.TokenBatch, c.BatchSize, c.Epochs = 4, 1, 2 }},
		{"sft fused full", func(c *Config) { c.LoRA, c.LR = nil, 3e-3 }},
		{"sft fused lora checkpointed", func(c *Config) { c.GradientCheckpointing = true }},
		{"cpt full", func(c *Config) {
			c.Objective, c.Data, c.LoRA, c.LR, c.BatchSize = "cpt", []string{packed}, nil, 3e-3, 2
		}},
		{"cpt lora", func(c *Config) { c.Objective, c.Data, c.BatchSize = "cpt", []string{packed}, 2 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := baseConfig(modelDir, data, t.TempDir())
			tc.mod(&cfg)
			if err := Run(cfg); err != nil {
				t.Fatal(err)
			}
			first, last := firstLast(metrics(t, cfg.Output))
			if !(last < 0.8*first) {
				t.Fatalf("loss %.3f → %.3f: did not fall by 20%%", first, last)
			}
			t.Logf("loss %.3f → %.3f", first, last)
		})
	}
}

// LoRA training leaves every base weight bit-identical, and the adapter is
// laid out as PEFT writes it.
func TestLoRAFrozenBaseAndPEFTLayout(t *testing.T) {
	lock(t)
	modelDir, data := fixture(t, 8)
	before, err := safetensors.OpenDir(modelDir)
	if err != nil {
		t.Fatal(err)
	}
	defer before.Close()
	cfg := baseConfig(modelDir, data, t.TempDir())
	cfg.Epochs, cfg.Merge, cfg.MergeCheckpoints = 2, true, true
	cfg.LoRA.Targets = []string{"q_proj", "v_proj", "down_proj"}
	if err := Run(cfg); err != nil {
		t.Fatal(err)
	}
	// each epoch's checkpoint holds its own merged model: the last one is the
	// final merge byte for byte, the first one is another model
	mergedAt := func(dir string) string {
		b, err := os.ReadFile(filepath.Join(cfg.Output, dir, "model.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if mergedAt("checkpoint-4/merged") != mergedAt("merged") {
		t.Error("checkpoint-4/merged (the last epoch's end) differs from merged/")
	}
	if mergedAt("checkpoint-2/merged") == mergedAt("merged") {
		t.Error("checkpoint-2/merged (epoch 1's end) is the final model")
	}
	// the run's own loaded weights are checked through its final merge: the
	// merged model differs from the base exactly in the adapted modules
	merged, err := safetensors.OpenDir(filepath.Join(cfg.Output, "merged"))
	if err != nil {
		t.Fatal(err)
	}
	defer merged.Close()
	for name, b := range before.Tensors {
		m, ok := merged.Tensors[name]
		if !ok {
			t.Fatalf("merged model lacks %s", name)
		}
		adapted := strings.Contains(name, "q_proj") || strings.Contains(name, "v_proj") || strings.Contains(name, "down_proj")
		if same := string(m.Data) == string(b.Data); same == adapted {
			t.Fatalf("%s: changed=%v, adapted=%v", name, !same, adapted)
		}
	}
	ad, err := safetensors.Open(filepath.Join(cfg.Output, "final", "adapter_model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer ad.Close()
	if len(ad.Tensors) != 2*3*2 {
		t.Fatalf("%d adapter tensors, want 12", len(ad.Tensors))
	}
	want := map[string][]int64{
		"base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight": {4, 32},
		"base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight": {32, 4},
		"base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight": {16, 4},
		"base_model.model.model.layers.0.mlp.down_proj.lora_A.weight":    {4, 64},
	}
	for k, shape := range want {
		got, ok := ad.Tensors[k]
		if !ok || fmt.Sprint(got.Shape) != fmt.Sprint(shape) || got.DType != "F32" {
			if ok {
				got.Data = nil
			}
			t.Fatalf("%s: present %v, got %v, want F32%v", k, ok, got, shape)
		}
	}
	var ac map[string]any
	b, _ := os.ReadFile(filepath.Join(cfg.Output, "final", "adapter_config.json"))
	json.Unmarshal(b, &ac)
	if ac["peft_type"] != "LORA" || ac["r"] != 4.0 || ac["lora_alpha"] != 8.0 || ac["task_type"] != "CAUSAL_LM" {
		t.Fatalf("adapter_config.json: %v", ac)
	}
}

// The model's weights are the mmapped checkpoint itself: compare them after
// a LoRA run directly.
func TestLoRAWeightsUntouchedInMemory(t *testing.T) {
	lock(t)
	modelDir, data := fixture(t, 4)
	cfg := baseConfig(modelDir, data, t.TempDir())
	cfg.Epochs = 1
	m := modeltest.Load(t, modelDir)
	snap := map[string][]float32{}
	for n, p := range m.Params {
		snap[n], _ = torch.Float32s(p)
	}
	tr := &trainer{cfg: cfg, m: m}
	var err error
	if tr.adapters, err = m.AttachLoRA(*cfg.LoRA); err != nil {
		t.Fatal(err)
	}
	names := sortedKeys(tr.adapters)
	tr.opt = newAdamW(tr.adapters, names, 0.9, 0.999, 1e-8, 0.01)
	seqs, _ := seq.Read(cfg.Data, seq.Limits{Vocab: vocab})
	for _, u := range (layout{stepping: Fused, batchSize: 2}).units(seqs, 0) {
		if _, err := tr.runUnit(&u, 1); err != nil {
			t.Fatal(err)
		}
		tr.opt.update(1e-2, 1)
		tr.opt.zeroGrad()
	}
	for n, p := range m.Params {
		v, _ := torch.Float32s(p)
		for i := range v {
			if math.Float32bits(v[i]) != math.Float32bits(snap[n][i]) {
				t.Fatalf("%s changed under LoRA", n)
			}
		}
	}
}

// Gradient checkpointing gives the plain path's gradients.
func TestGradientCheckpointingGradients(t *testing.T) {
	lock(t)
	modelDir, data := fixture(t, 4)
	for _, full := range []bool{false, true} {
		cfg := baseConfig(modelDir, data, t.TempDir())
		m := modeltest.Load(t, modelDir)
		tr := &trainer{cfg: cfg, m: m}
		params := m.Params
		if !full {
			params, _ = m.AttachLoRA(*cfg.LoRA)
			// B starts at zero, which would hide errors in A's gradient
			for _, n := range sortedKeys(params) {
				if strings.HasSuffix(n, "lora_B.weight") {
					p := params[n]
					r := ts.MustRand(p.MustSize(), gotch.Float, gotch.CPU)
					ts.NoGrad(func() { p.Copy_(r) })
					r.MustDrop()
				}
			}
		} else {
			for _, p := range params {
				p.MustRequiresGrad_(true)
			}
		}
		tr.opt = newAdamW(params, sortedKeys(params), 0.9, 0.999, 1e-8, 0)
		seqs, _ := seq.Read(cfg.Data, seq.Limits{Vocab: vocab})
		u := (layout{stepping: Fused, batchSize: 4}).units(seqs, 0)[0]
		grads := func(gc bool) map[string][]float32 {
			tr.cfg.GradientCheckpointing = gc
			tr.opt.zeroGrad()
			if _, err := tr.runUnit(&u, 1); err != nil {
				t.Fatal(err)
			}
			out := map[string][]float32{}
			for _, q := range tr.opt.params {
				out[q.name], _ = torch.Float32s(q.p.MustGrad(false))
			}
			return out
		}
		plain, ckpt := grads(false), grads(true)
		worst := 0.0
		for n, g := range plain {
			for i := range g {
				worst = math.Max(worst, math.Abs(float64(g[i]-ckpt[n][i])))
			}
		}
		if worst > 1e-5 {
			t.Fatalf("full=%v: gradients differ by %g with checkpointing", full, worst)
		}
	}
}

func TestAllZeroWeightsSkipSteps(t *testing.T) {
	lock(t)
	modelDir, data := fixture(t, 4)
	cfg := baseConfig(modelDir, data, t.TempDir())
	n := weighting.DefaultNLIRG()
	n.Threshold, n.Deadline = 0, 1e-3 // every loss is past the deadline: weight 0
	cfg.Weighting, cfg.Epochs = n, 1
	if err := Run(cfg); err != nil {
		t.Fatal(err)
	}
	if ms := metrics(t, cfg.Output); len(ms) != 0 {
		t.Fatalf("%d steps taken with all weights 0", len(ms))
	}
	b, _ := os.ReadFile(filepath.Join(cfg.Output, "checkpoint-0", stateFile))
	var st state
	json.Unmarshal(b, &st)
	if st.SkippedUnits != 1 || st.Step != 0 {
		t.Fatalf("state %+v: want 1 skipped unit, 0 steps", st)
	}
}

func TestRefusedStarts(t *testing.T) {
	lock(t)
	modelDir, data := fixture(t, 2)
	empty := filepath.Join(t.TempDir(), "empty.jsonl")
	os.WriteFile(empty, nil, 0o644)
	big := filepath.Join(t.TempDir(), "big.jsonl")
	os.WriteFile(big, []byte(`{"id":"x","input_ids":[1,2,999],"loss_mask":[0,1,1]}`+"\n"), 0o644)
	cases := []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.LoRA.Targets = []string{"qkv_proj"} }, `unknown module "qkv_proj"`},
		{func(c *Config) { c.LoRA.Rank = 100 }, "--lora-rank 100 is larger than model.layers.0.self_attn.q_proj"},
		{func(c *Config) { c.Data = []string{empty} }, "empty input"},
		{func(c *Config) { c.Data = []string{big} }, "input_ids[2] = 999 is outside the model's vocabulary of 64"},
		{func(c *Config) { c.Schedule = "step" }, `--lr-schedule "step"`},
	}
	for _, tc := range cases {
		cfg := baseConfig(modelDir, data, t.TempDir())
		tc.mod(&cfg)
		if err := Run(cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want %q", err, tc.want)
		}
	}
}

func TestTensorBoardAndEval(t *testing.T) {
	lock(t)
	modelDir, data := fixture(t, 4)
	cfg := baseConfig(modelDir, data, t.TempDir())
	cfg.Epochs, cfg.TensorBoard, cfg.Eval, cfg.EvalEvery = 2, filepath.Join(cfg.Output, "tb"), []string{data}, 1
	if err := Run(cfg); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(cfg.TensorBoard, "events.out.tfevents.*"))
	if len(files) != 1 {
		t.Fatalf("event files: %v", files)
	}
	evs, err := tensorboard.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, e := range evs {
		for tag := range e.Scalars {
			seen[tag]++
		}
		for tag := range e.Histograms {
			seen[tag]++
		}
	}
	for _, tag := range []string{"train/loss", "train/weighted_loss", "train/learning_rate", "train/grad_norm", "train/tokens_per_s",
		"train/frac_known", "train/frac_learning", "train/frac_hard", "train/frac_cut", "train/token_weight", "eval/loss"} {
		if seen[tag] != 2 {
			t.Errorf("tag %s logged %d times, want 2", tag, seen[tag])
		}
	}
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// A diverged run (non-finite losses) skips its steps, counts them, and stops
// at --max-bad-steps with a message, instead of passing for weights of 0.
func TestBadStepsStop(t *testing.T) {
	lock(t)
	modelDir, data := fixture(t, 8)
	cfg := baseConfig(modelDir, data, t.TempDir())
	cfg.LoRA, cfg.LR, cfg.BatchSize, cfg.Epochs = nil, 1e6, 1, 20
	err := Run(cfg)
	if err == nil || !strings.Contains(err.Error(), "3 steps with a non-finite loss or gradient (--max-bad-steps 3)") {
		t.Fatalf("got %v", err)
	}
}

// bf16 compute with float32 master weights trains (LoRA and full), and its
// gradients agree with float32's within bf16 rounding.
func TestBF16(t *testing.T) {
	lock(t)
	modelDir, data := fixture(t, 8)
	for _, full := range []bool{false, true} {
		grads := map[string]map[string][]float32{}
		for _, dtype := range []string{"f32", "bf16"} {
			cfg := baseConfig(modelDir, data, t.TempDir())
			cfg.DType = dtype
			if full {
				cfg.LoRA, cfg.LR = nil, 3e-3
			}
			m, err := model.Open(modelDir, "cpu", dtype)
			if err != nil {
				t.Fatal(err)
			}
			tr := &trainer{cfg: cfg, m: m}
			torch.ManualSeed(1)
			params, err := tr.trainable()
			if err != nil {
				t.Fatal(err)
			}
			if !full { // B starts at zero, which would hide A's gradient
				for _, n := range sortedKeys(params) {
					if strings.HasSuffix(n, "lora_B.weight") {
						p := params[n]
						r := ts.MustRand(p.MustSize(), gotch.Float, gotch.CPU).MustTotype(p.DType(), true)
						ts.NoGrad(func() { p.Copy_(r) })
						r.MustDrop()
					}
				}
			}
			tr.opt = newAdamW(params, sortedKeys(params), 0.9, 0.999, 1e-8, 0)
			seqs, _ := seq.Read(cfg.Data, seq.Limits{Vocab: vocab})
			u := (layout{stepping: Fused, batchSize: 4}).units(seqs, 0)[0]
			if _, err := tr.runUnit(&u, 1); err != nil {
				t.Fatalf("%s: %v", dtype, err)
			}
			grads[dtype] = map[string][]float32{}
			for _, q := range tr.opt.params {
				grads[dtype][q.name], _ = torch.Float32s(q.p.MustGrad(false))
			}
			m.Close()

			cfg.Epochs = 4
			if err := Run(cfg); err != nil {
				t.Fatalf("%s run: %v", dtype, err)
			}
			first, last := firstLast(metrics(t, cfg.Output))
			if !(last < 0.9*first) {
				t.Fatalf("full=%v %s: loss %.3f → %.3f did not fall", full, dtype, first, last)
			}
		}
		var diff, norm float64
		for n, g := range grads["f32"] {
			for i := range g {
				d := float64(g[i] - grads["bf16"][n][i])
				diff += d * d
				norm += float64(g[i]) * float64(g[i])
			}
		}
		if rel := math.Sqrt(diff / norm); !(rel < 0.05) {
			t.Fatalf("full=%v: bf16 gradients differ from float32's by %.3g (relative L2)", full, rel)
		} else {
			t.Logf("full=%v: bf16 vs float32 gradients: relative L2 difference %.3g", full, rel)
		}
	}
}

// --resume refuses a run whose settings changed, naming the setting; the
// safe ones pass with --allow-changed. A checkpoint written before the
// objective was called so (its spec says "task") resumes as well.
func TestResumeRefusesChangedRun(t *testing.T) {
	lock(t)
	modelDir, data := fixture(t, 8)
	cfg := baseConfig(modelDir, data, t.TempDir())
	cfg.Epochs = 1
	if err := Run(cfg); err != nil {
		t.Fatal(err)
	}
	ckpt := filepath.Join(cfg.Output, "checkpoint-2")
	_, data2 := fixture(t, 9)
	for _, c := range []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.BatchSize = 2 }, "batch-size is 2, the run had 4: the data cursor counts units"},
		{func(c *Config) { c.TokenBatch, c.BatchSize = 4, 1 }, "token-batch is 4, the run had 0"},
		{func(c *Config) { c.LoRA.Targets = []string{"q_proj"} }, "lora is rank 4, alpha 8, dropout 0.1 on q_proj, the run had"},
		{func(c *Config) { l := *c.LoRA; l.Alpha = 16; c.LoRA = &l }, "lora is rank 4, alpha 16"},
		{func(c *Config) { c.Data = []string{data2} }, "data is "},
		{func(c *Config) { c.Epochs = 3 }, "epochs is 3, the run had 1: the learning-rate schedule spans the run; --allow-changed epochs continues with the new value"},
		{func(c *Config) { c.Objective = "cpt" }, "objective is cpt, the run had sft: another objective"},
	} {
		r := baseConfig(modelDir, data, cfg.Output)
		r.Epochs, r.Resume = 1, ckpt
		c.mod(&r)
		if err := Run(r); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
	state := filepath.Join(ckpt, stateFile)
	b, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	old := strings.Replace(string(b), `"objective": "sft"`, `"task": "sft"`, 1)
	if old == string(b) {
		t.Fatalf("%s has no objective: %s", state, b)
	}
	if err := os.WriteFile(state, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	r := baseConfig(modelDir, data, cfg.Output)
	r.Epochs, r.Resume, r.AllowChanged = 3, ckpt, []string{"epochs"}
	if err := Run(r); err != nil {
		t.Fatalf("--allow-changed epochs, from a checkpoint that says \"task\": %v", err)
	}
	if ms := metrics(t, cfg.Output); len(ms) != 6 {
		t.Fatalf("%d steps after resuming for 3 epochs", len(ms))
	}
}

// One run per output folder; --overwrite starts clean.
func TestOutputLockAndOverwrite(t *testing.T) {
	lock(t)
	modelDir, data := fixture(t, 8)
	cfg := baseConfig(modelDir, data, t.TempDir())
	cfg.Epochs = 2
	held, err := lockOutput(cfg.Output)
	if err != nil {
		t.Fatal(err)
	}
	if err := Run(cfg); err == nil || !strings.Contains(err.Error(), "is in use by another train (pid ") {
		t.Fatalf("second run into a locked folder: %v", err)
	}
	held.Close()
	if err := Run(cfg); err != nil {
		t.Fatal(err)
	}
	cfg.Epochs, cfg.Overwrite = 1, true
	if err := Run(cfg); err != nil {
		t.Fatal(err)
	}
	if steps := rawSteps(t, cfg.Output); fmt.Sprint(steps) != "[1 2]" {
		t.Fatalf("--overwrite: metrics.jsonl steps %v, want [1 2]", steps)
	}
	if old, _ := filepath.Glob(filepath.Join(cfg.Output, "checkpoint-4")); len(old) > 0 {
		t.Fatalf("--overwrite kept the old run's %v", old)
	}
}
