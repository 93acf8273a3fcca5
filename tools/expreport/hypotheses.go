package main

import (
	"fmt"
	"math"
	"strings"
)

// alpha is PLAN.md's family-wise error rate over H1–H4.
const alpha = 0.05

// hypothesis is one of PLAN.md's, as tested.
type hypothesis struct {
	ID         string             `json:"id"`
	Statement  string             `json:"statement"`
	Statistic  string             `json:"statistic"`
	Prediction string             `json:"prediction"`
	Direction  int                `json:"direction"` // +1: holds when the statistic is > 0; −1: < 0
	NotRun     string             `json:"not_run,omitempty"`
	Estimate   *float64           `json:"estimate,omitempty"`
	Lo         *float64           `json:"ci_lo,omitempty"`
	Hi         *float64           `json:"ci_hi,omitempty"`
	P          *float64           `json:"p,omitempty"`
	PHolm      *float64           `json:"p_holm,omitempty"`
	Verdict    string             `json:"verdict"`            // holds, not shown, not run
	Opposite   bool               `json:"opposite,omitempty"` // not shown, and would hold the other way
	PerNoise   map[string]float64 `json:"per_noise,omitempty"`
	stat       func(w []float64) float64
}

// hypotheses builds H1–H4 over the runs there are. H1, H2 and H4 are
// differences at each noise level, averaged over the levels run (the same
// facts and seeds, so still paired); H3 compares the lowest and highest
// noise levels.
//
// In the final comparison (PLAN.md revision 2) every arm ran at one lr,
// picked within the forgetting budget: H1 and H4 compare test accuracy there.
func (e *experiment) hypotheses(final bool) []*hypothesis {
	hs := []*hypothesis{
		{ID: "H1", Direction: +1,
			Statement:  "At matched domain accuracy NLIRG forgets less than SFT.",
			Statistic:  fmt.Sprintf("accuracy at the forgetting budget (Δ general loss ≤ %.2f nats, general-QA ≥ %.0f %% of the base's), nlirg − sft", budgetLoss, 100*budgetKept),
			Prediction: "does not hold"},
		{ID: "H2", Direction: -1,
			Statement:  "NLIRG repeats less.",
			Statistic:  "seq-rep-4 of domain answers at the chosen lrs, nlirg − sft",
			Prediction: "no difference"},
		{ID: "H3", Direction: -1,
			Statement:  "NLIRG is more robust to 20 % noise.",
			Statistic:  "drop of domain accuracy from the lowest to the highest noise level at the chosen lrs, nlirg − sft",
			Prediction: "holds weakly"},
		{ID: "H4", Direction: +1,
			Statement:  "nlirg-auto beats default NLIRG on the curve.",
			Statistic:  "accuracy at the forgetting budget of H1, nlirg-auto − nlirg",
			Prediction: "holds on conflicting facts"},
	}
	budgetDiff := func(a, b string) func(noise string, w []float64) float64 {
		return func(noise string, w []float64) float64 {
			x, _ := e.budgetAccuracy(noise, a, "", w)
			y, _ := e.budgetAccuracy(noise, b, "", w)
			return x - y
		}
	}
	if final {
		budgetDiff = func(a, b string) func(noise string, w []float64) float64 {
			return e.chosenDiff(a, b, domainAccuracy)
		}
		hs[0].Statistic = "test domain accuracy at the final lrs (each picked within the forgetting budget: matched forgetting), nlirg − sft"
		hs[3].Statistic = "test domain accuracy at the final lrs, nlirg-auto − nlirg"
		// revision 2 predicted anew from the default grid's results
		hs[0].Prediction = "the other way (nlirg lower)"
		hs[1].Prediction = "untestable (0 everywhere)"
		hs[2].Prediction = "not shown"
		hs[3].Prediction = "not shown"
	}
	e.overNoise(hs[0], []string{"nlirg", "sft"}, budgetDiff("nlirg", "sft"))
	e.overNoise(hs[1], []string{"nlirg", "sft"}, e.chosenDiff("nlirg", "sft", domainSeqRep))
	e.noiseDrop(hs[2], "nlirg", "sft")
	e.overNoise(hs[3], []string{"nlirg-auto", "nlirg"}, budgetDiff("nlirg-auto", "nlirg"))
	return hs
}

// chosenDiff is metric f of arm a minus arm b, each at its chosen lr.
func (e *experiment) chosenDiff(a, b string, f func(c *cell, w []float64) float64) func(noise string, w []float64) float64 {
	return func(noise string, w []float64) float64 {
		return f(e.chosen[sweepKey{noise, a}], w) - f(e.chosen[sweepKey{noise, b}], w)
	}
}

// overNoise makes h's statistic the mean of diff over the noise levels
// where every arm in need was run.
func (e *experiment) overNoise(h *hypothesis, need []string, diff func(noise string, w []float64) float64) {
	var levels []string
	for _, n := range e.noises {
		ok := true
		for _, m := range need {
			ok = ok && e.chosen[sweepKey{n, m}] != nil
		}
		if ok {
			levels = append(levels, n)
		}
	}
	if len(levels) == 0 {
		h.NotRun = "needs arms " + strings.Join(need, " and ") + " at one noise level"
		return
	}
	h.stat = func(w []float64) float64 {
		s := 0.0
		for _, n := range levels {
			s += diff(n, w)
		}
		return s / float64(len(levels))
	}
	h.PerNoise = map[string]float64{}
	for _, n := range levels {
		h.PerNoise[n] = diff(n, e.reg.ones())
	}
}

// noiseDrop makes h's statistic the difference of a and b's accuracy drops
// from the lowest to the highest noise level.
func (e *experiment) noiseDrop(h *hypothesis, a, b string) {
	if len(e.noises) < 2 {
		h.NotRun = "needs two noise levels"
		return
	}
	lo, hi := e.noises[0], e.noises[len(e.noises)-1]
	for _, m := range []string{a, b} {
		for _, n := range []string{lo, hi} {
			if e.chosen[sweepKey{n, m}] == nil {
				h.NotRun = fmt.Sprintf("needs %s at noise %s", m, n)
				return
			}
		}
	}
	drop := func(m string, w []float64) float64 {
		return domainAccuracy(e.chosen[sweepKey{lo, m}], w) - domainAccuracy(e.chosen[sweepKey{hi, m}], w)
	}
	h.stat = func(w []float64) float64 { return drop(a, w) - drop(b, w) }
	h.Statistic += fmt.Sprintf(" (noise %s → %s)", lo, hi)
}

// test bootstraps every hypothesis that ran, Holm-adjusts their p-values
// together and gives each a verdict: "holds" needs the adjusted p below
// alpha and an interval on the predicted side of 0.
func test(hs []*hypothesis, b *boot) {
	p := make([]float64, len(hs))
	ests := make([]estimate, len(hs))
	for i, h := range hs {
		p[i] = math.NaN()
		if h.stat == nil {
			continue
		}
		ests[i] = b.estimate(h.stat)
		p[i] = ests[i].P
	}
	adj := holm(p)
	for i, h := range hs {
		if h.stat == nil {
			h.Verdict = "not run"
			continue
		}
		est := ests[i]
		h.Estimate, h.Lo, h.Hi, h.P, h.PHolm = num(est.Value), num(est.Lo), num(est.Hi), num(est.P), num(adj[i])
		above, below := est.Lo > 0, est.Hi < 0
		h.Verdict = "not shown"
		if adj[i] < alpha && ((h.Direction > 0 && above) || (h.Direction < 0 && below)) {
			h.Verdict = "holds"
		}
		h.Opposite = adj[i] < alpha && ((h.Direction > 0 && below) || (h.Direction < 0 && above))
	}
}

// num is x for JSON, nil when it is not a number.
func num(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}

// besideOut is a comparison reported next to a hypothesis, outside Holm's
// family: what the hypothesis's statistic does not show. ID "" marks an
// exploratory comparison of another arm with sft.
type besideOut struct {
	ID        string   `json:"id"` // the hypothesis it stands beside
	Statistic string   `json:"statistic"`
	Estimate  value    `json:"estimate"`
	P         *float64 `json:"p,omitempty"`
}

// beside, in the final comparison: H1's other half (how much more the
// general loss grew under NLIRG than under SFT at the final lrs), then every
// other arm against sft, paired: test domain accuracy and the loss change.
func (e *experiment) beside(b *boot, final bool) []besideOut {
	if !final {
		return nil
	}
	var out []besideOut
	add := func(id, stat, arm string, noFacts bool, f func(c *cell, w []float64) float64) {
		h := &hypothesis{}
		e.overNoise(h, []string{arm, "sft"}, e.chosenDiff(arm, "sft", f))
		if h.stat == nil {
			return
		}
		est := b.estimate(h.stat)
		o := besideOut{ID: id, Statistic: fmt.Sprintf(stat, arm), Estimate: value{Mean: num(est.Value)}}
		if !noFacts || b.seeds { // the loss has no facts: only resampled seeds give it an interval
			o.Estimate.Lo, o.Estimate.Hi, o.P = num(est.Lo), num(est.Hi), num(est.P)
		}
		out = append(out, o)
	}
	const (
		loss = "Δ general loss at the final lrs, %s − sft (mean over noise levels)"
		acc  = "test domain accuracy at the final lrs, %s − sft (mean over noise levels)"
	)
	add("H1", loss, "nlirg", true, lossChange)
	for _, m := range e.methods {
		if m != "base" && m != "sft" && m != "nlirg" {
			add("", acc, m, false, domainAccuracy)
			add("", loss, m, true, lossChange)
		}
	}
	return out
}
