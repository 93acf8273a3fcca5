package model

import (
	"math"
	"runtime"
	"slices"
	"testing"

	"github.com/sugarme/gotch"

	"github.com/ytrain/ytrain/internal/tinymodel"
	"github.com/ytrain/ytrain/internal/torch"
)

// Where the shim has SDPA (libtorch ≥ 2.0) the decoder takes it, and its
// logits and gradients equal the explicit path's on a packed row with
// padding; where SDPA is stubbed (1.13) the decoder falls back.
func TestSDPAUsedAndEqualsExplicit(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	dir := t.TempDir()
	spec := tinymodel.Spec{Arch: "Qwen3ForCausalLM", Vocab: 97, Hidden: 48, Heads: 4, KVHeads: 2, Inter: 80, Seed: 6}
	if err := tinymodel.Write(dir, spec); err != nil {
		t.Fatal(err)
	}
	m, err := Load(dir, gotch.CPU, gotch.Float)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	w := m.Layers[0].QProj.Weight
	w.MustRequiresGrad_(true)

	// logits of the two documents (padding excluded) and d(Σ logits)/d q_proj
	run := func() (logits, grad []float32) {
		s := &torch.Scope{}
		defer s.Drop()
		ids, _ := torch.Int64s([]int64{5, 17, 3, 96, 40, 40, 2, 11, 63, 7, 0, 0}, m.Device, 1, 12)
		pos, _ := torch.Int64s([]int64{0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 0, 0}, m.Device, 1, 12)
		seg, _ := torch.Int64s([]int64{1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0}, m.Device, 1, 12)
		s.Add(ids)
		s.Add(pos)
		s.Add(seg)
		h, err := m.Hidden(s, ids, pos, Mask(s, seg), nil)
		if err != nil {
			t.Fatal(err)
		}
		out := s.Add(s.Add(m.Logits(s, h)).MustNarrow(1, 0, 10, false)) // (1, 10, V)
		s.Add(out.MustSum(gotch.Float, false)).MustBackward()
		g := s.Add(w.MustGrad(false))
		grad, err = torch.Float32s(g)
		if err != nil {
			t.Fatal(err)
		}
		g.MustZero_()
		if logits, err = torch.Float32s(out); err != nil {
			t.Fatal(err)
		}
		return logits, grad
	}

	names, err := torch.Stubbed()
	if err != nil {
		t.Fatal(err)
	}
	hasSDPA := !slices.Contains(names, "atg_scaled_dot_product_attention")
	fusedLogits, fusedGrad := run()
	if m.noSDPA == hasSDPA {
		t.Fatalf("shim has SDPA: %v, but the decoder used SDPA: %v (%s)", hasSDPA, !m.noSDPA, torch.ShimInfo())
	}
	if !hasSDPA {
		t.Logf("SDPA is stubbed in this libtorch: the explicit path, checked against the float64 reference by TestMatchesReference, is the only one")
		return
	}
	m.noSDPA = true
	explicitLogits, explicitGrad := run()
	maxDiff := func(a, b []float32) float64 {
		d := 0.0
		for i := range a {
			d = math.Max(d, math.Abs(float64(a[i]-b[i])))
		}
		return d
	}
	dl, dg := maxDiff(fusedLogits, explicitLogits), maxDiff(fusedGrad, explicitGrad)
	t.Logf("SDPA vs explicit attention: max |Δlogit| %.2g, max |Δgrad q_proj| %.2g", dl, dg)
	if dl > 1e-5 || dg > 1e-4 {
		t.Errorf("SDPA differs from explicit attention: max |Δlogit| %g (> 1e-5), max |Δgrad| %g (> 1e-4)", dl, dg)
	}
}
