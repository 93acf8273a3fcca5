package model

import (
	"math"
	"runtime"
	"slices"
	"testing"

	"github.com/sugarme/gotch"

	"github.com/ytrain/ytrain/internal/seq"
	"github.com/ytrain/ytrain/internal/tinymodel"
	"github.com/ytrain/ytrain/internal/torch"
)

// Attention per document (Docs: each document alone, causal, stacked by
// length) gives the logits and gradients of the explicit block-diagonal
// mask, through SDPA where the shim has it (libtorch ≥ 2.0) and explicitly
// where SDPA is stubbed (1.13), on packed rows with documents of equal and
// unequal lengths and padding; and the decoder takes SDPA where it can.
func TestDocsEqualTheMask(t *testing.T) {
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

	// row 0: documents of 6, 4 and 4 tokens, then padding; row 1: one
	// document of 4 (the length of two of row 0's), then padding
	b := seq.NewBatch([]*seq.Seq{
		{IDs: []int64{5, 17, 3, 96, 40, 40, 2, 11, 63, 7, 8, 9, 1, 4}, Pos: []int64{0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 0, 1, 2, 3}, Seg: []int64{1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3}},
		{IDs: []int64{31, 32, 33, 34}, Pos: []int64{0, 1, 2, 3}, Seg: []int64{1, 1, 1, 1}},
	}, nil)
	b.T += 2 // two columns of padding on both rows
	b.IDs, b.Pos, b.Seg = pad(b.IDs, 14, 2), pad(b.Pos, 14, 2), pad(b.Seg, 14, 2)
	real := []int64{}
	for i, sg := range b.Seg {
		if sg != 0 {
			real = append(real, int64(i))
		}
	}
	// logits at the real positions and d(Σ those logits)/d q_proj
	run := func(docs bool) (logits, grad []float32) {
		s := &torch.Scope{}
		defer s.Drop()
		ids, pos, err := b.Tensors(s, m.Device)
		if err != nil {
			t.Fatal(err)
		}
		seg, err := seq.Upload(s, m.Device, b.Seg, b.B, b.T)
		if err != nil {
			t.Fatal(err)
		}
		lay := &Layout{Mask: Mask(s, seg)}
		if docs {
			lay = Docs(b)
		}
		h, err := m.Hidden(s, ids, pos, lay, nil)
		if err != nil {
			t.Fatal(err)
		}
		at, err := seq.Upload(s, m.Device, real, int64(len(real)))
		if err != nil {
			t.Fatal(err)
		}
		flat := s.Add(h.MustView([]int64{b.B * b.T, -1}, false))
		out := m.Logits(s, s.Add(flat.MustIndexSelect(0, at, false))) // (real, V)
		s.Add(out.MustSum(gotch.Float, false)).MustBackward()
		g := s.Add(w.MustGrad(false))
		if grad, err = torch.Float32s(g); err != nil {
			t.Fatal(err)
		}
		g.MustZero_()
		if logits, err = torch.Float32s(out); err != nil {
			t.Fatal(err)
		}
		return logits, grad
	}
	maxDiff := func(a, b []float32) float64 {
		d := 0.0
		for i := range a {
			d = math.Max(d, math.Abs(float64(a[i]-b[i])))
		}
		return d
	}

	names, err := torch.Stubbed()
	if err != nil {
		t.Fatal(err)
	}
	hasSDPA := !slices.Contains(names, "atg_scaled_dot_product_attention")
	maskL, maskG := run(false)
	if m.explicitAttention() == hasSDPA {
		t.Fatalf("shim has SDPA: %v, but the decoder used SDPA: %v (%s)", hasSDPA, !m.explicitAttention(), torch.ShimInfo())
	}
	type path struct {
		name   string
		docs   bool
		noSDPA bool
	}
	paths := []path{{"documents, explicit", true, true}}
	if hasSDPA {
		paths = append(paths, path{"documents, SDPA", true, false}, path{"mask, explicit", false, true})
	} else {
		t.Logf("SDPA is stubbed in this libtorch: the explicit path, checked against the float64 reference by TestMatchesReference, is the only one")
	}
	for _, p := range paths {
		m.noSDPA = p.noSDPA
		l, g := run(p.docs)
		dl, dg := maxDiff(l, maskL), maxDiff(g, maskG)
		t.Logf("%s vs the mask (%s): max |Δlogit| %.2g, max |Δgrad q_proj| %.2g", p.name, torch.ShimInfo(), dl, dg)
		if dl > 1e-5 || dg > 1e-4 {
			t.Errorf("%s differs from the mask: max |Δlogit| %g (> 1e-5), max |Δgrad| %g (> 1e-4)", p.name, dl, dg)
		}
	}
}

// Docs stacks the documents of one length and folds a row's trailing
// padding into its last document.
func TestDocsGroups(t *testing.T) {
	b := &seq.Batch{B: 2, T: 8, Seg: []int64{
		1, 1, 1, 2, 2, 2, 0, 0, // two documents of 3, the second taking the padding
		4, 4, 4, 4, 4, 4, 4, 4, // one document
	}}
	lay := Docs(b)
	want := []docGroup{{L: 3, at: [][2]int64{{0, 0}}}, {L: 5, at: [][2]int64{{0, 3}}}, {L: 8, at: [][2]int64{{1, 0}}}}
	if lay.whole || !slices.EqualFunc(lay.groups, want, func(a, b docGroup) bool { return a.L == b.L && slices.Equal(a.at, b.at) }) {
		t.Errorf("Docs = %+v, want groups %+v", lay, want)
	}
	if n := lay.Pairs(); n != 3*3+5*5+8*8 {
		t.Errorf("Pairs = %d, want 3² + 5² + 8² = 98", n)
	}
	b.Seg = []int64{1, 1, 1, 1, 1, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2}
	if lay := Docs(b); !lay.whole || len(lay.groups) != 1 || len(lay.groups[0].at) != 2 {
		t.Errorf("one document a row (padding folded in): Docs = %+v, want whole rows", lay)
	}
}

// pad widens rows of width T by n columns of zeros.
func pad(v []int64, T, n int) []int64 {
	var out []int64
	for r := 0; r < len(v)/T; r++ {
		out = append(append(out, v[r*T:(r+1)*T]...), make([]int64, n)...)
	}
	return out
}
