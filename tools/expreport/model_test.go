package main

import "testing"

func TestParseArm(t *testing.T) {
	for _, c := range []struct {
		name, method, lr string
		val              float64
	}{
		{"base", "base", "", 0},
		{"sft-lr1e-3", "sft", "1e-3", 1e-3},
		{"nlirg-auto-lr2e-3", "nlirg-auto", "2e-3", 2e-3},
		{"sft-mix-lr5e-4", "sft-mix", "5e-4", 5e-4},
	} {
		m, lr, v, err := parseArm(c.name)
		if err != nil || m != c.method || lr != c.lr || v != c.val {
			t.Errorf("parseArm(%q) = %q %q %v %v", c.name, m, lr, v, err)
		}
	}
	for _, bad := range []string{"sft", "-lr1e-3", "sft-lrfast", "sft-lr-1e-3"} {
		if _, _, _, err := parseArm(bad); err == nil {
			t.Errorf("parseArm(%q): no error", bad)
		}
	}
}

func TestChooseLR(t *testing.T) {
	scores := func(acc ...float64) []lrScore {
		lrs := []float64{5e-4, 1e-3, 2e-3, 4e-3}
		var s []lrScore
		for i, a := range acc {
			s = append(s, lrScore{Accuracy: a, lrVal: lrs[i]})
		}
		return s
	}
	for _, c := range []struct {
		acc  []float64
		nVal int
		want int
	}{
		{[]float64{0.50, 0.70, 0.75, 0.60}, 100, 2}, // clear winner
		{[]float64{0.50, 0.70, 0.75, 0.60}, 20, 1},  // 0.70 is within 1/20 of 0.75: the smaller lr
		{[]float64{0.50, 0.74, 0.75, 0.72}, 20, 1},  // the smallest within, not the next one down
		{[]float64{0.50, 0.69, 0.75, 0.60}, 20, 2},  // 0.06 apart: no tie
		{[]float64{0.80, 0.80, 0.80, 0.80}, 48, 0},  // all tie
	} {
		if got := chooseLR(scores(c.acc...), c.nVal); got != c.want {
			t.Errorf("chooseLR(%v, n %d) = %d, want %d", c.acc, c.nVal, got, c.want)
		}
	}
	// the rule reads lr values, not the order they come in
	s := []lrScore{{Accuracy: 0.75, lrVal: 2e-3}, {Accuracy: 0.72, lrVal: 1e-3}}
	if got := chooseLR(s, 20); got != 1 {
		t.Errorf("unordered: chose %d, want 1 (lr 1e-3)", got)
	}
}
