package ranking

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// describe says what a mode's score measures, for the report's header.
func describe(o ModeOptions) string {
	switch o.Mode {
	case Similarity:
		return "−r(entropy, loss) over the aligned curves: high when the loss peaks where the model is sure"
	case Filtered:
		s := "targets with loss > 3, weighted 1 at entropy ≤ 1 and 0.5 above"
		if o.PerTarget {
			s += ", divided by the number of targets"
		}
		return s
	case Divergence:
		return fmt.Sprintf("Σ|z_loss − z_entropy| over anomalous targets / targets (smoothing window %d, spans need divergence ≥ %g)",
			o.SmoothWindow, o.ZThreshold)
	case IFD:
		return "mean loss with the prompt / mean loss of the answer alone; ≥ 1: the prompt does not help"
	}
	return "perplexity, exp(mean loss)"
}

// Report writes the markdown report: what was done, the score range, and
// the worst (highest-scoring) records with why, whether written or dropped.
func (rk *Ranking) Report(w io.Writer, mode ModeOptions, plan Plan, worst int) error {
	n := len(rk.Results)
	var b strings.Builder
	fmt.Fprintf(&b, "# rank report\n\n")
	fmt.Fprintf(&b, "- mode: %s — %s\n", mode.Mode, describe(mode))
	fmt.Fprintf(&b, "- records: %d scored", n)
	if rk.Unscored > 0 {
		fmt.Fprintf(&b, ", %d without a score skipped", rk.Unscored)
	}
	d := rk.Dropped
	if d.Total() > 0 {
		fmt.Fprintf(&b, "; dropped %d (--drop-above %d, --drop-worst %d, --keep-band %d)", d.Total(), d.Above, d.Worst, d.Band)
	}
	order := "desc (highest first)"
	if !plan.Desc {
		order = "asc (lowest first)"
	}
	if plan.Interleave >= 2 {
		order += fmt.Sprintf(", mixed interleave:%d", plan.Interleave)
	}
	fmt.Fprintf(&b, "; wrote %d, %s\n", len(rk.Order), order)
	all := rk.scores(nil)
	if n > 0 {
		fmt.Fprintf(&b, "- score: min %s, median %s, max %s", Num(all[0]), Num(median(all)), Num(all[n-1]))
		if len(rk.Order) > 0 && d.Total() > 0 {
			kept := rk.scores(rk.Order)
			fmt.Fprintf(&b, "; written: %s to %s", Num(kept[0]), Num(kept[len(kept)-1]))
		}
		b.WriteString("\n")
	}
	if worst > 0 && n > 0 {
		pos := make(map[int]int, len(rk.Order))
		for p, i := range rk.Order {
			pos[i] = p + 1
		}
		top := make([]int, n)
		for i := range top {
			top[i] = i
		}
		sortBy(top, rk.scoreList(), true)
		top = top[:min(worst, n)]
		fmt.Fprintf(&b, "\n## %d highest scores\n\n"+
			"percentile: share of records scoring at most as much; output: position written, or dropped\n\n"+
			"| # | id | score | percentile | output | why |\n|--:|---|--:|--:|--:|---|\n", len(top))
		for k, i := range top {
			out := "dropped"
			if p, ok := pos[i]; ok {
				out = fmt.Sprint(p)
			}
			r := rk.Results[i]
			atMost := sort.Search(n, func(j int) bool { return all[j] > r.Score })
			fmt.Fprintf(&b, "| %d | %s | %s | %.0f | %s | %s |\n", k+1, cell(rk.Records.List[i].ID), Num(r.Score),
				100*float64(atMost)/float64(n), out, cell(r.Why))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (rk *Ranking) scoreList() []float64 {
	s := make([]float64, len(rk.Results))
	for i, r := range rk.Results {
		s[i] = r.Score
	}
	return s
}

// scores returns the scores of idx (all records when nil), sorted ascending.
func (rk *Ranking) scores(idx []int) []float64 {
	all := rk.scoreList()
	if idx == nil {
		sort.Float64s(all)
		return all
	}
	s := make([]float64, len(idx))
	for k, i := range idx {
		s[k] = all[i]
	}
	sort.Float64s(s)
	return s
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// cell makes text safe inside a markdown table cell.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ").Replace(s)
}
