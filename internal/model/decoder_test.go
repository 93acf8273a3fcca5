package model_test

import (
	"encoding/binary"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sugarme/gotch"

	"github.com/ytrain/ytrain/internal/model"
	"github.com/ytrain/ytrain/internal/modeltest"
	"github.com/ytrain/ytrain/internal/safetensors"
	"github.com/ytrain/ytrain/internal/tinymodel"
)

var archs = []tinymodel.Spec{
	{Arch: "LlamaForCausalLM", Llama3Rope: true, Tied: true, Seed: 1},
	{Arch: "MistralForCausalLM", KVHeads: 4, Seed: 2},
	{Arch: "Qwen2ForCausalLM", Seed: 3},
	{Arch: "Qwen3ForCausalLM", HeadDim: 24, Seed: 4}, // explicit head_dim ≠ hidden/heads
}

func toInts(v []int64) []int {
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out
}

// A packed row of two documents and padding matches the float64 reference,
// and each document's logits equal a run of that document alone.
func TestMatchesReference(t *testing.T) {
	for _, spec := range archs {
		t.Run(spec.Arch, func(t *testing.T) {
			spec.Vocab, spec.Hidden, spec.Heads, spec.Inter = 97, 48, 4, 80
			m, dir := modeltest.New(t, spec)
			ref, err := tinymodel.NewReference(dir)
			if err != nil {
				t.Fatal(err)
			}
			ids := []int64{5, 17, 3, 96, 40, 40, 2, 11, 63, 7, 0, 0}
			pos := []int64{0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 0, 0}
			seg := []int64{1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0}
			got := modeltest.Logits(t, m, ids, pos, seg)
			want := ref.Logits(toInts(ids), toInts(pos), toInts(seg))
			maxDiff := 0.0
			for tt := 0; tt < 10; tt++ { // padding rows are never read
				for v := range want[tt] {
					maxDiff = math.Max(maxDiff, math.Abs(float64(got[tt][v])-want[tt][v]))
				}
			}
			if maxDiff > 1e-4 {
				t.Fatalf("max |logit - reference| = %g > 1e-4", maxDiff)
			}
			alone := modeltest.Logits(t, m, ids[6:10], pos[6:10], []int64{1, 1, 1, 1})
			for tt := range alone {
				for v := range alone[tt] {
					if d := math.Abs(float64(alone[tt][v] - got[6+tt][v])); d > 1e-5 {
						t.Fatalf("document 2 packed vs alone differ by %g at %d", d, tt)
					}
				}
			}
			t.Logf("max |logit - float64 reference| = %.2g", maxDiff)
		})
	}
}

func TestLoadErrors(t *testing.T) {
	dir := modeltest.Write(t, tinymodel.Spec{Arch: "Qwen2ForCausalLM"})
	cfg, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	bad := func(name, config, want string) {
		t.Run(name, func(t *testing.T) {
			d := t.TempDir()
			st, _ := os.ReadFile(filepath.Join(dir, "model.safetensors"))
			os.WriteFile(filepath.Join(d, "model.safetensors"), st, 0o644)
			os.WriteFile(filepath.Join(d, "config.json"), []byte(config), 0o644)
			_, err := model.Load(d, gotch.CPU, gotch.Float)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("got %v, want %q", err, want)
			}
		})
	}
	bad("unknown architecture", strings.Replace(string(cfg), "Qwen2ForCausalLM", "GPTNeoXForCausalLM", 1), `architecture "GPTNeoXForCausalLM" is not supported`)
	bad("misshaped tensor", strings.Replace(string(cfg), `"hidden_size": 64`, `"hidden_size": 32`, 1), "tensor model.embed_tokens.weight has shape [256 64], want [256 32]")
	bad("missing tensor", strings.Replace(string(cfg), "Qwen2ForCausalLM", "Qwen3ForCausalLM", 1), "tensor model.layers.0.self_attn.q_norm.weight is missing")
	bad("corrupt config", "{", "config.json")
}

// A bf16 checkpoint loads into float32 compute (converted once) and into
// bf16 compute (aliasing the file); both give the float32 model's logits
// within bf16 rounding.
func TestBF16Checkpoint(t *testing.T) {
	spec := tinymodel.Spec{Arch: "Qwen3ForCausalLM", Vocab: 97, Seed: 5}
	f32 := modeltest.Write(t, spec)
	spec.DType = "BF16"
	bf16 := modeltest.Write(t, spec)
	ids, pos, seg := []int64{3, 14, 15, 92, 65}, []int64{0, 1, 2, 3, 4}, []int64{1, 1, 1, 1, 1}
	var base [][]float32
	for i, c := range []struct {
		dir string
		dt  gotch.DType
	}{{f32, gotch.Float}, {bf16, gotch.Float}, {bf16, gotch.BFloat16}} {
		m, err := model.Load(c.dir, gotch.CPU, c.dt)
		if err != nil {
			t.Fatal(err)
		}
		got := modeltest.Logits(t, m, ids, pos, seg)
		m.Close()
		if i == 0 {
			base = got
			continue
		}
		worst := 0.0
		for r := range got {
			for v := range got[r] {
				worst = math.Max(worst, math.Abs(float64(got[r][v]-base[r][v])))
			}
		}
		if worst > 1.0 || worst == 0 {
			t.Fatalf("case %d: max |logit diff| to float32 = %g (want bf16 rounding: small, non-zero)", i, worst)
		}
		t.Logf("case %d: max |logit diff| to float32 = %.3g", i, worst)
	}
}

// A weight holding NaN or Inf is refused at load, naming the tensor; so are
// configs no model can run.
func TestNonFiniteWeightsAndBadConfigs(t *testing.T) {
	dir := modeltest.Write(t, tinymodel.Spec{Arch: "Qwen3ForCausalLM"})
	st, err := safetensors.Open(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	var list []safetensors.Tensor
	for _, name := range slices.Sorted(maps.Keys(st.Tensors)) {
		tt := *st.Tensors[name]
		tt.Name, tt.Data = name, append([]byte(nil), tt.Data...)
		if name == "model.layers.1.mlp.up_proj.weight" {
			binary.LittleEndian.PutUint32(tt.Data[4*17:], 0x7fc00000) // NaN
		}
		list = append(list, tt)
	}
	st.Close()
	if err := safetensors.Write(filepath.Join(dir, "model.safetensors"), list, nil); err != nil {
		t.Fatal(err)
	}
	_, err = model.Load(dir, gotch.CPU, gotch.Float)
	if err == nil || !strings.Contains(err.Error(), "tensor model.layers.1.mlp.up_proj.weight holds a NaN or infinite value (element 17)") {
		t.Fatalf("got %v", err)
	}
	cfg, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	for _, c := range []struct{ from, to, want string }{
		{`"rope_theta": 10000`, `"rope_theta": -1`, "rope_theta -1 must be positive"},
		{`"rms_norm_eps": 0.000001`, `"rms_norm_eps": -0.001`, "rms_norm_eps -0.001 must be a small positive number"},
	} {
		bad := strings.Replace(string(cfg), c.from, c.to, 1)
		if bad == string(cfg) {
			t.Fatalf("config has no %s", c.from)
		}
		os.WriteFile(filepath.Join(dir, "config.json"), []byte(bad), 0o644)
		if _, err := model.LoadConfig(dir); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
}
