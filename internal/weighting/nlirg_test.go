package weighting

import (
	"math"
	"testing"
)

// table is docs/nlirg.md §1.3: L, W(L), W·L, W as bf16 (-1: not given).
var table = []struct{ l, w, wl, bf float64 }{
	{0, 0.115067, 0, 0.1152},
	{0.5, 0.233259, 0.1166, 0.2334},
	{1, 0.415810, 0.4158, 0.4160},
	{1.2, 0.500000, 0.6, 0.5},
	{1.45, 0.604679, 0.8768, 0.6055},
	{2, 0.795760, 1.5915, 0.7969},
	{3, 0.955212, 2.8656, 0.957}, // branch A, inclusive
	{3 + 1e-9, 0.960834, 2.8825, -1},
	{4, 0.900250, 3.6010, 0.8984},
	{5, 0.768525, 3.8426, 0.7695},
	{6.2, 0.500000, 3.1, 0.5039},
	{6.6, 0.401313, 2.6487, 0.4023},
	{8, 0.141851, 1.1348, 0.1416},
	{10, 0.0218814, 0.2188, 0.02185},
	{14.9, 0.000166727, 0.002484, 0.0001707},
	{15, 0, 0, 0},
	{20, 0, 0, 0},
}

func TestNLIRGTable(t *testing.T) {
	n := DefaultNLIRG()
	for _, r := range table {
		w := n.W(r.l)
		if math.Abs(w-r.w) > 1e-6 {
			t.Errorf("W(%v) = %.9g, want %v", r.l, w, r.w)
		}
		if wl := w * r.l; math.Abs(wl-r.wl) > 1e-4 {
			t.Errorf("W(%v)·L = %.6g, want %v", r.l, wl, r.wl)
		}
	}
	if w := n.W(math.NaN()); w != 0 {
		t.Errorf("W(NaN) = %v, want 0", w)
	}
	if w := n.W(math.Inf(1)); w != 0 {
		t.Errorf("W(+Inf) = %v, want 0", w)
	}
	// The exponent clamp keeps the far left finite: σ → 0, W → ε.
	if w := n.W(-1e6); w != eps {
		t.Errorf("W(-1e6) = %v, want ε", w)
	}
}

func TestNLIRGBF16(t *testing.T) {
	n := DefaultNLIRG()
	n.BF16 = true
	for _, r := range table {
		if r.bf < 0 {
			continue
		}
		w := n.Weight(float32(r.l))
		if RoundBF16(w) != w {
			t.Errorf("bf16 W(%v) = %v is not a bf16 value", r.l, w)
		}
		if d := math.Abs(float64(w) - r.bf); d > 5e-4*r.bf {
			t.Errorf("bf16 W(%v) = %.7g, want %v", r.l, w, r.bf)
		}
	}
	// Exact bf16 values behind the table's rounded decimals (docs/nlirg.md §1.5).
	for l, want := range map[float32]float32{0: 0.115234375, 3: 0.95703125, 6.2: 0.50390625, 10: 0.021850586} {
		if w := n.Weight(l); w != want {
			t.Errorf("bf16 W(%v) = %.9g, want %.9g", l, w, want)
		}
	}
	// Without BF16, Weight is W in float32.
	n.BF16 = false
	if w := n.Weight(6.2); w != float32(n.W(float64(float32(6.2)))) {
		t.Errorf("float32 W(6.2) = %v", w)
	}
}

func TestNLIRGShape(t *testing.T) {
	n := DefaultNLIRG()
	if j := n.W(3+1e-9) - n.W(3); math.Abs(j-0.0056) > 1e-4 {
		t.Errorf("jump at 3 = %v, want ≈ +0.0056", j)
	}
	if w := n.W(15 - 1e-9); math.Abs(w-1.509e-4) > 1e-6 {
		t.Errorf("W(15⁻) = %v, want ≈ 1.509e-4", w)
	}
	// W·L peaks at ≈ 3.85 near L ≈ 4.85, and the max weight ≈ 0.96083 is just above 3.
	var peak, at, wmax float64
	for l := 0.0; l < 15; l += 1e-3 {
		if v := n.W(l) * l; v > peak {
			peak, at = v, l
		}
		wmax = max(wmax, n.W(l))
	}
	if math.Abs(peak-3.85) > 5e-3 || math.Abs(at-4.85) > 0.05 {
		t.Errorf("W·L peak %v at %v, want ≈ 3.85 near 4.85", peak, at)
	}
	if math.Abs(wmax-0.96083) > 1e-4 {
		t.Errorf("max W = %v, want ≈ 0.96083", wmax)
	}
}

func TestNLIRGParams(t *testing.T) {
	n := DefaultNLIRG()
	n.MaxLR, n.HardK, n.HardX0, n.MinLR = 2, 2, 7, 0
	if w, want := n.W(7), 2*0.5+eps; math.Abs(w-want) > 1e-15 {
		t.Errorf("hard branch midpoint: W(7) = %v, want %v", w, want)
	}
	if w, want := n.W(8), 2/(1+math.Exp(2))+eps; math.Abs(w-want) > 1e-15 {
		t.Errorf("hard branch slope: W(8) = %v, want %v", w, want)
	}
	n = DefaultNLIRG()
	n.Threshold, n.Deadline = 2, 10
	if w, want := n.W(2.5), 1/(1+math.Exp(2.5-6.2))+eps+5e-8; w != want {
		t.Errorf("moved threshold: W(2.5) = %v, want %v", w, want)
	}
	if w := n.W(10); w != 0 {
		t.Errorf("moved deadline: W(10) = %v, want 0", w)
	}
}

func TestRoundBF16(t *testing.T) {
	for _, c := range []struct{ in, want float32 }{
		{1, 1},
		{1 + 1.0/256, 1},                      // tie → even (down)
		{1 + 3.0/256, 1 + 4.0/256},            // tie → even (up)
		{1 + 1.0/256 + 1.0/4096, 1 + 2.0/256}, // above the tie
		{-6.2, -6.1875},
		{6.6, 6.59375},
		{math.MaxFloat32, float32(math.Inf(1))},
		{float32(math.Inf(-1)), float32(math.Inf(-1))},
	} {
		if got := RoundBF16(c.in); got != c.want {
			t.Errorf("RoundBF16(%v) = %v, want %v", c.in, got, c.want)
		}
	}
	// A NaN whose payload lies only in the dropped bits must stay NaN.
	nan := math.Float32frombits(0x7F800001)
	if got := RoundBF16(nan); got == got {
		t.Errorf("RoundBF16(NaN) = %v", got)
	}
}

func TestRegion(t *testing.T) {
	for _, c := range []struct {
		l    float32
		want int
	}{{0, RegionKnown}, {1.45, RegionKnown}, {1.46, RegionLearning}, {6.59, RegionLearning},
		{6.6, RegionHard}, {14.99, RegionHard}, {15, RegionCut}, {100, RegionCut},
		{float32(math.NaN()), RegionCut}} {
		if got := Region(c.l); got != c.want {
			t.Errorf("Region(%v) = %s, want %s", c.l, RegionNames[got], RegionNames[c.want])
		}
	}
}
