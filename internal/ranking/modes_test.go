package ranking

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/ytrain/ytrain/formats"
)

func curves(loss, entropy []float32) *formats.Score {
	return &formats.Score{ID: "x", Loss: loss, Entropy: entropy, NTargets: int32(len(loss))}
}

func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-6 {
		t.Errorf("%s = %.9g, want %.9g", what, got, want)
	}
}

func score(t *testing.T, o ModeOptions, s *formats.Score) Result {
	t.Helper()
	f, err := NewRule(o)
	if err != nil {
		t.Fatal(err)
	}
	r, err := f(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestSimilarity(t *testing.T) {
	sim := ModeOptions{Mode: Similarity}
	for _, c := range []struct {
		name          string
		loss, entropy []float32
		want          float64
	}{
		// ml = 4/3, dl = (-4/3, -4/3, 8/3); me = 1/3, de = (2/3, -1/3, -1/3):
		// Σdl·de = -4/3, Σdl² = 32/3, Σde² = 2/3, r = (-4/3)/(8/3) = -0.5.
		{"hand", []float32{0, 0, 4}, []float32{1, 0, 0}, 0.5},
		{"loss where sure", []float32{1, 2, 3}, []float32{3, 2, 1}, 1},
		{"loss where unsure", []float32{1, 2, 3}, []float32{1, 2, 3}, -1},
		{"uncorrelated", []float32{0, 1, 2, 3}, []float32{1, 0, 0, 1}, 0},
		// Defined where Y-Trainer's code gave NaN: no spread, no correlation.
		{"constant entropy", []float32{1, 2, 3}, []float32{2, 2, 2}, 0},
		{"constant loss, inexact mean", []float32{0.1, 0.1, 0.1}, []float32{1, 2, 5}, 0},
		{"one target", []float32{7}, []float32{0.1}, 0},
		{"no targets", nil, nil, 0},
	} {
		r := score(t, sim, curves(c.loss, c.entropy))
		if r.Score != c.want && math.Abs(r.Score-c.want) > 1e-6 || math.IsNaN(r.Score) {
			t.Errorf("%s: score %v, want %v", c.name, r.Score, c.want)
		}
	}
	if r := score(t, sim, curves([]float32{7}, []float32{0.1})); r.Score != 0 || math.Signbit(r.Score) {
		t.Errorf("one target: score %v, want exactly +0", r.Score)
	}
	r := score(t, sim, curves([]float32{0, 0, 4}, []float32{1, 0, 0}))
	if want := "r(entropy, loss) = -0.50 over 3 targets: loss is high where the model is sure"; r.Why != want {
		t.Errorf("why %q, want %q", r.Why, want)
	}
}

func TestFiltered(t *testing.T) {
	// loss > 3 at entropy ≤ 1 counts 1 (t0, and t2 at entropy exactly 1),
	// at entropy > 1 counts 0.5 (t4); loss exactly 3 does not count (t1).
	s := curves([]float32{3.5, 3, 5, 0.2, 10}, []float32{0.5, 0.1, 1, 2, 1.5})
	r := score(t, ModeOptions{Mode: Filtered}, s)
	near(t, "filtered", r.Score, 2.5)
	if want := "2 confident-wrong (loss > 3, entropy ≤ 1) and 1 unsure-wrong (loss > 3, entropy > 1) of 5 targets"; r.Why != want {
		t.Errorf("why %q, want %q", r.Why, want)
	}
	near(t, "filtered --per-target", score(t, ModeOptions{Mode: Filtered, PerTarget: true}, s).Score, 0.5)
	near(t, "filtered, no targets", score(t, ModeOptions{Mode: Filtered, PerTarget: true}, curves(nil, nil)).Score, 0)
}

func TestSmooth(t *testing.T) {
	// pandas rolling(w, center=True, min_periods=1).mean()
	if got := smooth([]float64{1, 2, 3, 4, 5}, 3); !reflect.DeepEqual(got, []float64{1.5, 2, 3, 4, 4.5}) {
		t.Errorf("w=3: %v", got)
	}
	// even window: position i averages i-2 .. i+1
	if got := smooth([]float64{1, 2, 3, 4, 5}, 4); !reflect.DeepEqual(got, []float64{1.5, 2, 2.5, 3.5, 4}) {
		t.Errorf("w=4: %v", got)
	}
	if got := smooth([]float64{1, 2, 3}, 1); !reflect.DeepEqual(got, []float64{1, 2, 3}) {
		t.Errorf("w=1: %v", got)
	}
}

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		zl, ze, loss, meanLoss float64
		want                   Class
	}{
		{0.7, -0.7, 9, 1, LabelError}, // also suspicious certainty: the first rule wins
		{0.7, 0.7, 0, 1, Hard},
		{-0.7, 0.7, 0, 1, Lucky},
		{0.5, -1.2, 3, 2, SuspiciousCertainty},
		{0.5, -1.2, 1, 2, Normal}, // loss below the mean smoothed loss
		{0.6, -0.6, 9, 1, Normal}, // thresholds are strict
	} {
		if got := classify(c.zl, c.ze, c.loss, c.meanLoss); got != c.want {
			t.Errorf("classify(%v, %v, %v, %v) = %q, want %q", c.zl, c.ze, c.loss, c.meanLoss, got, c.want)
		}
	}
}

func TestDivergence(t *testing.T) {
	// Window 1 (no smoothing). loss (1,1,1,5): mean 2, sd (ddof 1) 2, z =
	// (-.5,-.5,-.5,1.5); entropy (1,1,1,.2): mean .8, sd .4, z = (.5,.5,.5,-1.5).
	// divergence (-1,-1,-1,3): only the last target is anomalous (label
	// error), score |3|/4.
	s := curves([]float32{1, 1, 1, 5}, []float32{1, 1, 1, 0.2})
	r := score(t, ModeOptions{Mode: Divergence, SmoothWindow: 1, ZThreshold: 1.96}, s)
	near(t, "anomaly", r.Score, 0.75)
	if len(r.Spans) != 1 || r.Spans[0].First != 3 || r.Spans[0].Last != 3 || r.Spans[0].Class != LabelError {
		t.Fatalf("spans %+v", r.Spans)
	}
	near(t, "span divergence", r.Spans[0].MaxDivergence, 3)
	if want := "anomaly 0.750 over 4 targets; label_error at 3–3 (divergence 3.00); targets: 1 label_error"; r.Why != want {
		t.Errorf("why %q, want %q", r.Why, want)
	}
	// Same curves, span threshold above the peak: still anomalous, no span.
	r = score(t, ModeOptions{Mode: Divergence, SmoothWindow: 1, ZThreshold: 3.5}, s)
	near(t, "anomaly", r.Score, 0.75)
	if r.Spans == nil || len(r.Spans) != 0 {
		t.Errorf("spans %#v, want empty, not nil", r.Spans)
	}

	// Window 3. loss (0,0,6,0,0) smooths to (0,2,2,2,0): mean 1.2, sd √1.2,
	// z = (-a, b, b, b, -a) with a = √1.2, b = .8/√1.2. entropy (1,1,0,1,1)
	// smooths to (1,⅔,⅔,⅔,1): z = (a, -b, -b, -b, a). So t0, t4 are lucky
	// (divergence -2a), t1..t3 label errors (divergence 2b), one run 0..4
	// peaking at 2b ≈ 1.46 at t1; score (2·2a + 3·2b)/5.
	a, b := math.Sqrt(1.2), 0.8/math.Sqrt(1.2)
	s = curves([]float32{0, 0, 6, 0, 0}, []float32{1, 1, 0, 1, 1})
	r = score(t, ModeOptions{Mode: Divergence, SmoothWindow: 3, ZThreshold: 1.96}, s)
	near(t, "anomaly", r.Score, (4*a+6*b)/5)
	if len(r.Spans) != 0 {
		t.Errorf("spans %+v, want none below 1.96", r.Spans)
	}
	r = score(t, ModeOptions{Mode: Divergence, SmoothWindow: 3, ZThreshold: 1.4}, s)
	if len(r.Spans) != 1 || r.Spans[0] != (Span{First: 0, Last: 4, Class: LabelError, MaxDivergence: r.Spans[0].MaxDivergence}) {
		t.Fatalf("spans %+v", r.Spans)
	}
	near(t, "peak", r.Spans[0].MaxDivergence, 2*b)
	if !strings.Contains(r.Why, "targets: 3 label_error, 2 lucky") {
		t.Errorf("why %q", r.Why)
	}

	// Flat, single and empty curves are defined and score 0.
	for _, c := range [][2][]float32{{{2, 2, 2}, {1, 1, 1}}, {{5}, {0}}, {nil, nil}} {
		if r := score(t, ModeOptions{Mode: Divergence, SmoothWindow: 3, ZThreshold: 1.96}, curves(c[0], c[1])); r.Score != 0 {
			t.Errorf("%v: score %v, want 0", c, r.Score)
		}
	}
}

func TestIFD(t *testing.T) {
	o := ModeOptions{Mode: IFD}
	s := curves([]float32{1, 2, 3}, []float32{0, 0, 0})
	s.PromptFreeLoss = []float32{2, 2, 4}
	r := score(t, o, s) // mean 2 with the prompt, 8/3 without
	near(t, "ifd", r.Score, 0.75)
	if want := "IFD 0.750: mean loss 2.000 with the prompt, 2.667 without"; r.Why != want {
		t.Errorf("why %q, want %q", r.Why, want)
	}
	s.PromptFreeLoss, s.PromptFreeMeanLoss = nil, new(float32)
	*s.PromptFreeMeanLoss = 1.6
	r = score(t, o, s)
	near(t, "ifd from the mean", r.Score, 2/1.6)
	if !strings.HasSuffix(r.Why, "(the prompt does not help)") {
		t.Errorf("why %q", r.Why)
	}
	zero := curves([]float32{0, 0}, []float32{0, 0})
	zero.PromptFreeLoss = []float32{0, 0}
	near(t, "ifd 0/0", score(t, o, zero).Score, 1)
	near(t, "ifd, no targets", score(t, o, curves(nil, nil)).Score, 1)

	f, _ := NewRule(o)
	if _, err := f(curves([]float32{1}, []float32{1})); err == nil || !strings.Contains(err.Error(), "score --prompt-free") {
		t.Errorf("no prompt-free data: err %v", err)
	}
	bad := curves([]float32{1}, []float32{1})
	bad.PromptFreeLoss = []float32{0}
	if _, err := f(bad); err == nil || !strings.Contains(err.Error(), "IFD undefined") {
		t.Errorf("zero prompt-free loss: err %v", err)
	}
}

func TestPPL(t *testing.T) {
	r := score(t, ModeOptions{Mode: PPL}, curves([]float32{1, 3}, []float32{0, 0}))
	near(t, "ppl", r.Score, math.Exp(2))
	if want := "ppl 7.389 (mean loss 2.000 over 2 targets)"; r.Why != want {
		t.Errorf("why %q, want %q", r.Why, want)
	}
	near(t, "ppl, no targets", score(t, ModeOptions{Mode: PPL}, curves(nil, nil)).Score, 1)
}

func TestRuleErrors(t *testing.T) {
	if _, err := NewRule(ModeOptions{Mode: "loss"}); err == nil || !strings.Contains(err.Error(), "similarity, filtered, divergence, ifd, ppl") {
		t.Errorf("unknown mode: %v", err)
	}
	if _, err := NewRule(ModeOptions{Mode: Divergence}); err == nil {
		t.Error("divergence with window 0 accepted")
	}
	f, _ := NewRule(ModeOptions{Mode: PPL})
	if _, err := f(curves([]float32{1, float32(math.NaN())}, []float32{0, 0})); err == nil || !strings.Contains(err.Error(), "loss[1] is NaN") {
		t.Errorf("NaN curve: %v", err)
	}
}
