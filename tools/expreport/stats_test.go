package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func TestHolm(t *testing.T) {
	nan := math.NaN()
	for _, c := range []struct{ p, want []float64 }{
		// sorted 0.005, 0.01, 0.03, 0.04 → ×4, ×3, ×2, ×1 → 0.02, 0.03, 0.06, max(0.04, 0.06)
		{[]float64{0.01, 0.04, 0.03, 0.005}, []float64{0.03, 0.06, 0.06, 0.02}},
		// a hypothesis not run is not in the family: m = 2
		{[]float64{0.01, nan, 0.04}, []float64{0.02, nan, 0.04}},
		{[]float64{0.5, 0.6}, []float64{1, 1}},
		{[]float64{0.001}, []float64{0.001}},
	} {
		got := holm(c.p)
		for i := range got {
			if math.IsNaN(c.want[i]) != math.IsNaN(got[i]) || (!math.IsNaN(got[i]) && math.Abs(got[i]-c.want[i]) > 1e-12) {
				t.Errorf("holm(%v) = %v, want %v", c.p, got, c.want)
				break
			}
		}
	}
}

func TestPTwoSided(t *testing.T) {
	xs := []float64{-0.1, 0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8}
	if p := pTwoSided(0.4, xs); math.Abs(p-0.4) > 1e-12 { // 2 of 10 at or below 0, doubled
		t.Errorf("p = %v, want 0.4", p)
	}
	if p := pTwoSided(-0.4, xs); math.Abs(p-1) > 1e-12 { // 9 of 10 at or above 0: capped
		t.Errorf("p = %v, want 1", p)
	}
	if p := pTwoSided(0.4, []float64{0.1, 0.2}); p != 0 {
		t.Errorf("p = %v, want 0", p)
	}
}

func TestQuantile(t *testing.T) {
	xs := []float64{1, 2, 3, 4, 5}
	if q := quantile(xs, 0.5); q != 3 {
		t.Errorf("median %v", q)
	}
	if q := quantile(xs, 0.025); math.Abs(q-1.1) > 1e-12 {
		t.Errorf("2.5 %% quantile %v, want 1.1", q)
	}
}

// oneSeed is a registry of n facts of one kind in data seed 1, and a set
// holding perFact questions of each, all correct or all wrong as correct(i)
// says.
func oneSeed(n, perFact int, correct func(i int) bool) (*registry, *set) {
	g := newRegistry()
	s := &set{}
	for i := range n {
		f, _ := g.add(1, fmt.Sprintf("drug%d/dose", i), "new")
		r := factRow{fact: f, n: float64(perFact)}
		if correct(i) {
			r.correct = float64(perFact)
		}
		s.rows = append(s.rows, r)
		s.questions += perFact
	}
	return g, s
}

// The percentile interval covers the true accuracy about 95 % of the time:
// 200 data sets of 150 facts drawn with p 0.3.
func TestBootstrapCoverage(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	covered, trials := 0, 200
	for trial := range trials {
		g, s := oneSeed(150, 1, func(int) bool { return rng.Float64() < 0.3 })
		b := newBoot(g, 400, uint64(trial), false)
		est := b.estimate(func(w []float64) float64 { return s.mean(w, accuracy, g.kinds, "") })
		if est.Value != s.mean(g.ones(), accuracy, g.kinds, "") {
			t.Fatalf("estimate %v is not the data's mean", est.Value)
		}
		if est.Lo <= 0.3 && 0.3 <= est.Hi {
			covered++
		}
	}
	if share := float64(covered) / float64(trials); share < 0.88 || share > 0.99 {
		t.Errorf("95 %% interval covered the true mean in %.2f of data sets", share)
	}
}

// A fact's questions move together: with two facts of two questions each,
// one right and one wrong, a resample's accuracy is 0, 1/2 or 1, never
// 1/4 or 3/4 as resampling questions would give; and the spread is that of
// 40 facts, not of 80 questions.
func TestBootstrapClustered(t *testing.T) {
	g, s := oneSeed(2, 2, func(i int) bool { return i == 0 })
	b := newBoot(g, 500, 1, false)
	seen := map[float64]int{}
	for _, w := range b.reps {
		seen[s.mean(w, accuracy, g.kinds, "")]++
	}
	for v := range seen {
		if v != 0 && v != 0.5 && v != 1 {
			t.Fatalf("resampled accuracy %v splits a fact's questions", v)
		}
	}
	if len(seen) != 3 {
		t.Errorf("resampled accuracies %v, want 0, 1/2 and 1", seen)
	}

	g, s = oneSeed(40, 2, func(i int) bool { return i%2 == 0 })
	b = newBoot(g, 2000, 1, false)
	var sum, sq float64
	for _, w := range b.reps {
		x := s.mean(w, accuracy, g.kinds, "")
		sum += x
		sq += x * x
	}
	n := float64(len(b.reps))
	sd := math.Sqrt(sq/n - (sum/n)*(sum/n))
	if want := math.Sqrt(0.25 / 40); math.Abs(sd-want) > 0.15*want {
		t.Errorf("bootstrap sd %.4f, want %.4f (40 facts); questions resampled alone would give %.4f", sd, want, math.Sqrt(0.25/80))
	}
}

// Strata: each data seed and kind keeps its number of facts in every
// resample.
func TestBootstrapStrata(t *testing.T) {
	g := newRegistry()
	for d := 1; d <= 2; d++ {
		for i := range 5 {
			g.add(d, fmt.Sprintf("f%d", i), "new")
		}
		for i := range 3 {
			g.add(d, fmt.Sprintf("t%d", i), "general")
		}
	}
	for _, d := range []int{1, 2} {
		g.slot("data", d)
	}
	g.slot("init", 1)
	b := newBoot(g, 50, 3, false)
	for _, w := range b.reps {
		for _, level := range []string{"data", "init"} {
			for _, i := range g.seedSets[level] {
				if w[i] != 1 {
					t.Fatalf("seed slot %d weighs %v without --resample-seeds", i, w[i])
				}
			}
		}
		for k, idx := range g.strata {
			tot := 0.0
			for _, i := range idx {
				tot += w[i]
			}
			if int(tot) != len(idx) {
				t.Fatalf("stratum %v drew %v facts, has %d", k, tot, len(idx))
			}
		}
	}
	moved := false
	for _, w := range newBoot(g, 50, 3, true).reps {
		d1, d2 := w[g.seedSets["data"][0]], w[g.seedSets["data"][1]]
		if d1+d2 != 2 || w[g.seedSets["init"][0]] != 1 {
			t.Fatalf("seeds drawn %v %v, init %v", d1, d2, w[g.seedSets["init"][0]])
		}
		moved = moved || d1 != 1
	}
	if !moved {
		t.Error("--resample-seeds never drew a data seed twice in 50 resamples")
	}
	// the same seed gives the same resamples
	c := newBoot(g, 50, 3, false)
	for r := range b.reps {
		for i := range b.reps[r] {
			if b.reps[r][i] != c.reps[r][i] {
				t.Fatal("resamples differ for the same seed")
			}
		}
	}
}

// A verdict needs the Holm p below α and the interval on the predicted side.
func TestVerdicts(t *testing.T) {
	g, s := oneSeed(60, 1, func(i int) bool { return i%3 != 0 }) // accuracy 2/3
	b := newBoot(g, 1000, 1, false)
	acc := func(w []float64) float64 { return s.mean(w, accuracy, g.kinds, "") }
	hs := []*hypothesis{
		{ID: "up", Direction: +1, stat: func(w []float64) float64 { return acc(w) - 0.2 }},   // clearly > 0
		{ID: "down", Direction: -1, stat: func(w []float64) float64 { return acc(w) - 0.2 }}, // clearly the other way
		{ID: "flat", Direction: +1, stat: func(w []float64) float64 { return acc(w) - 2.0/3 }},
		{ID: "absent", Direction: +1},
	}
	test(hs, b)
	want := []struct {
		verdict  string
		opposite bool
	}{{"holds", false}, {"not shown", true}, {"not shown", false}, {"not run", false}}
	for i, h := range hs {
		if h.Verdict != want[i].verdict || h.Opposite != want[i].opposite {
			t.Errorf("%s: verdict %q opposite %v, want %+v", h.ID, h.Verdict, h.Opposite, want[i])
		}
	}
	// flat's observed statistic is 0: p 1, and Holm over three leaves it 1
	if *hs[2].P != 1 || *hs[2].PHolm != 1 || hs[3].PHolm != nil {
		t.Errorf("flat p %v Holm %v; absent Holm %v", *hs[2].P, *hs[2].PHolm, hs[3].PHolm)
	}
}
