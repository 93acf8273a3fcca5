package model

import (
	"fmt"
	"math"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"

	"github.com/ytrain/ytrain/internal/torch"
)

// LoRA is a low-rank adapter on a frozen Linear: Δy = (α/r)·B(A(dropout(x))),
// with PEFT's initialisation (A Kaiming-uniform, B zero: the adapter starts
// as a no-op) and PEFT's weight names.
type LoRA struct {
	A, B    *ts.Tensor // lora_A.weight (r, in), lora_B.weight (out, r)
	scale   *ts.Scalar
	Dropout float64
}

func (l *LoRA) forward(s *torch.Scope, x *ts.Tensor, training bool) *ts.Tensor {
	if training && l.Dropout > 0 {
		x = s.Add(ts.MustDropout(x, l.Dropout, true))
	}
	h := s.Add(ts.MustLinear(x, l.A, ts.None))                                        // (..., r)
	return s.Add(s.Add(ts.MustLinear(h, l.B, ts.None)).MustMulScalar(l.scale, false)) // (..., out)
}

// LoRAConfig says where adapters go and how big they are.
type LoRAConfig struct {
	Rank    int
	Alpha   float64
	Dropout float64
	Targets []string // module names: q_proj k_proj v_proj o_proj gate_proj up_proj down_proj
}

// Modules are the projections an adapter can target, by HF module name.
var Modules = []string{"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}

// linears maps module names to a layer's projections.
func (L *Layer) linears() map[string]*Linear {
	return map[string]*Linear{"q_proj": &L.QProj, "k_proj": &L.KProj, "v_proj": &L.VProj, "o_proj": &L.OProj,
		"gate_proj": &L.Gate, "up_proj": &L.Up, "down_proj": &L.Down}
}

// ModulePath is the HF path of module name in layer i.
func ModulePath(i int, name string) string {
	group := "self_attn"
	if name == "gate_proj" || name == "up_proj" || name == "down_proj" {
		group = "mlp"
	}
	return fmt.Sprintf("model.layers.%d.%s.%s", i, group, name)
}

// AttachLoRA adds fresh adapters (float32, trainable) to the target modules
// of every layer and returns them by PEFT key
// (base_model.model.<module>.lora_A.weight). The random A matrices come from
// libtorch's generator: seed it first for reproducible runs.
func (m *Model) AttachLoRA(c LoRAConfig) (map[string]*ts.Tensor, error) {
	if c.Rank <= 0 {
		return nil, fmt.Errorf("--lora-rank %d: want a positive rank", c.Rank)
	}
	known := map[string]bool{}
	for _, n := range Modules {
		known[n] = true
	}
	for _, t := range c.Targets {
		if !known[t] {
			return nil, fmt.Errorf("--lora-targets: unknown module %q (want some of %v)", t, Modules)
		}
	}
	out := map[string]*ts.Tensor{}
	for i := range m.Layers {
		lin := m.Layers[i].linears()
		for _, name := range c.Targets {
			l := lin[name]
			sz := l.Weight.MustSize()
			outDim, inDim := sz[0], sz[1]
			if int64(c.Rank) > min(inDim, outDim) {
				return nil, fmt.Errorf("--lora-rank %d is larger than %s (%d×%d)", c.Rank, ModulePath(i, name), outDim, inDim)
			}
			// PEFT: kaiming_uniform_(a=√5) on A, i.e. U(±1/√in); zeros on B
			bound := 1 / math.Sqrt(float64(inDim))
			a := ts.MustRand([]int64{int64(c.Rank), inDim}, gotch.Float, m.Device).MustMulScalar(ts.FloatScalar(2*bound), true).MustSubScalar(ts.FloatScalar(bound), true)
			b := ts.MustZeros([]int64{outDim, int64(c.Rank)}, gotch.Float, m.Device)
			if m.DType != gotch.Float {
				a, b = a.MustTotype(m.DType, true), b.MustTotype(m.DType, true)
			}
			inPlace(a, func() { a.MustRequiresGrad_(true) })
			inPlace(b, func() { b.MustRequiresGrad_(true) })
			l.LoRA = &LoRA{A: a, B: b, scale: ts.FloatScalar(c.Alpha / float64(c.Rank)), Dropout: c.Dropout}
			key := "base_model.model." + ModulePath(i, name)
			out[key+".lora_A.weight"], out[key+".lora_B.weight"] = a, b
		}
	}
	return out, nil
}
