package main

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// options are the report's settings.
type options struct {
	runs           string // the runs folder, as named in the report
	resamples      int
	seed           uint64
	deviations     string // markdown for the Deviations section
	skipIncomplete bool
	resampleSeeds  bool // draw seeds too: a sensitivity check beyond PLAN.md
	rule           string
	final          bool // PLAN.md revision 2's final comparison
}

// value is a metric of a cell in results.json: the mean over seeds and its
// 95 % interval, or for a metric without facts the min–max over seeds.
type value struct {
	Mean *float64 `json:"mean"`
	Lo   *float64 `json:"ci_lo,omitempty"`
	Hi   *float64 `json:"ci_hi,omitempty"`
	Min  *float64 `json:"min,omitempty"`
	Max  *float64 `json:"max,omitempty"`
}

type cellOut struct {
	Arm     string           `json:"arm"`
	Noise   string           `json:"noise"`
	LR      string           `json:"lr,omitempty"`
	Chosen  bool             `json:"chosen"`
	Runs    int              `json:"runs"`
	Metrics map[string]value `json:"metrics"`
}

type selectionOut struct {
	Arm      string    `json:"arm"`
	Noise    string    `json:"noise"`
	ChosenLR string    `json:"chosen_lr"`
	NVal     int       `json:"n_val"` // validation questions per run
	Scores   []lrScore `json:"scores"`
}

type budgetOut struct {
	Arm      string   `json:"arm"`
	Noise    string   `json:"noise"`
	Accuracy *float64 `json:"accuracy"`
	Lo       *float64 `json:"ci_lo,omitempty"`
	Hi       *float64 `json:"ci_hi,omitempty"`
	LR       string   `json:"lr"` // "": no lr within the budget, the base's accuracy
	// the same over facts of one kind (each kind's best lr within the budget)
	ByKind map[string]value `json:"by_kind"`
	// the arm's accuracy minus sft's, paired (the same facts and seeds)
	VsSFT *value `json:"vs_sft,omitempty"`
}

type results struct {
	Runs          string           `json:"runs"`
	Resamples     int              `json:"resamples"`
	ResampleSeeds bool             `json:"resample_seeds"`
	Seed          uint64           `json:"seed"`
	NoiseLevels   []string         `json:"noise_levels"`
	DataSeeds     []int            `json:"data_seeds"`
	InitSeeds     []int            `json:"init_seeds"`
	BudgetLoss    float64          `json:"budget_loss"`
	BudgetKept    float64          `json:"budget_kept"`
	Selection     []selectionOut   `json:"selection"`
	Cells         []cellOut        `json:"cells"`
	Budget        []budgetOut      `json:"budget"`
	LRRule        string           `json:"lr_rule"` // budget (PLAN.md's rule 2) or val (rule 1)
	Final         bool             `json:"final"`   // PLAN.md revision 2's final comparison
	Curves        []curveOut       `json:"curves,omitempty"`
	Hypotheses    []*hypothesis    `json:"hypotheses"`
	Beside        []besideOut      `json:"beside,omitempty"` // reported next to a hypothesis, outside Holm
	Plots         []string         `json:"plots"`
	cellIndex     map[*cell]int    // into Cells
	budgetIndex   map[sweepKey]int // into Budget
}

// analyse computes everything the report says.
func (e *experiment) analyse(o options) *results {
	b := newBoot(e.reg, o.resamples, o.seed, o.resampleSeeds)
	res := &results{Runs: o.runs, Resamples: o.resamples, ResampleSeeds: o.resampleSeeds, Seed: o.seed, NoiseLevels: e.noises,
		BudgetLoss: budgetLoss, BudgetKept: budgetKept, cellIndex: map[*cell]int{}, budgetIndex: map[sweepKey]int{}}
	res.DataSeeds, res.InitSeeds = e.seeds()
	all := append(append([]metric{}, domainMetrics...), retentionMetrics...)
	for _, n := range e.noises {
		for _, m := range e.methods {
			k := sweepKey{n, m}
			if s := e.sel[k]; s != nil {
				res.Selection = append(res.Selection, selectionOut{Arm: m, Noise: n, ChosenLR: e.chosen[k].lr, NVal: s.NVal, Scores: s.Scores})
			}
			for _, c := range e.sweeps[k] {
				out := cellOut{Arm: m, Noise: n, LR: c.lr, Chosen: e.chosen[k] == c, Runs: len(c.runs), Metrics: map[string]value{}}
				for _, mt := range all {
					out.Metrics[mt.key] = cellValue(b, c, mt)
				}
				res.cellIndex[c] = len(res.Cells)
				res.Cells = append(res.Cells, out)
			}
			if m == "base" || e.sweeps[k] == nil {
				continue
			}
			est := b.estimate(func(w []float64) float64 { a, _ := e.budgetAccuracy(n, m, "", w); return a })
			_, lr := e.budgetAccuracy(n, m, "", b.ones)
			bo := budgetOut{Arm: m, Noise: n, Accuracy: num(est.Value), Lo: num(est.Lo), Hi: num(est.Hi), LR: lr, ByKind: map[string]value{}}
			for _, kind := range kinds {
				est := b.estimate(func(w []float64) float64 { a, _ := e.budgetAccuracy(n, m, kind, w); return a })
				bo.ByKind[kind] = value{Mean: num(est.Value), Lo: num(est.Lo), Hi: num(est.Hi)}
			}
			if m != "sft" && e.sweeps[sweepKey{n, "sft"}] != nil {
				est := b.estimate(func(w []float64) float64 {
					a, _ := e.budgetAccuracy(n, m, "", w)
					s, _ := e.budgetAccuracy(n, "sft", "", w)
					return a - s
				})
				bo.VsSFT = &value{Mean: num(est.Value), Lo: num(est.Lo), Hi: num(est.Hi)}
			}
			res.budgetIndex[k] = len(res.Budget)
			res.Budget = append(res.Budget, bo)
		}
	}
	res.LRRule, res.Final = o.rule, o.final
	res.Curves = e.curves(b)
	res.Hypotheses = e.hypotheses(o.final)
	test(res.Hypotheses, b)
	res.Beside = e.beside(b, o.final)
	return res
}

func cellValue(b *boot, c *cell, m metric) value {
	if m.noFacts && !b.seeds {
		v := value{Mean: num(m.value(c, b.ones))}
		lo, hi := math.Inf(1), math.Inf(-1)
		for i := range c.runs {
			x := m.value(&cell{runs: c.runs[i : i+1], bases: c.bases[i : i+1]}, b.ones)
			lo, hi = math.Min(lo, x), math.Max(hi, x)
		}
		v.Min, v.Max = num(lo), num(hi)
		return v
	}
	est := b.estimate(func(w []float64) float64 { return m.value(c, w) })
	return value{Mean: num(est.Value), Lo: num(est.Lo), Hi: num(est.Hi)}
}

func (e *experiment) seeds() (data, init []int) {
	d, i := map[int]bool{}, map[int]bool{}
	for _, r := range e.runs {
		d[r.data], i[r.init] = true, true
	}
	for k := range d {
		data = append(data, k)
	}
	for k := range i {
		init = append(init, k)
	}
	sort.Ints(data)
	sort.Ints(init)
	return data, init
}

// plotName is the file of a noise level's Pareto plot.
func plotName(noise, kind string) string {
	if kind == "" {
		return "pareto-n" + noise + ".png"
	}
	return "pareto-n" + noise + "-" + kind + ".png"
}

// ---- markdown ----------------------------------------------------------------

// fmtValue prints a mean with its interval ("0.512 [0.431, 0.590]") or
// its min–max over seeds ("+0.031 (+0.020 to +0.045)"); "—" when absent.
func fmtValue(format string, v value) string {
	if v.Mean == nil {
		return "—"
	}
	s := fmt.Sprintf(format, *v.Mean)
	switch {
	case v.Lo != nil && v.Hi != nil:
		s += fmt.Sprintf(" ["+format+", "+format+"]", *v.Lo, *v.Hi)
	case v.Min != nil && v.Max != nil:
		s += fmt.Sprintf(" ("+format+" to "+format+")", *v.Min, *v.Max)
	}
	return s
}

func fmtP(p *float64) string {
	if p == nil {
		return "—"
	}
	if *p == 0 {
		return "< 0.001"
	}
	return fmt.Sprintf("%.3f", *p)
}

func (e *experiment) markdown(res *results, o options) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# ytrain experiment: report\n\n")
	fmt.Fprintf(&b, "Made by `tools/expreport` from %d runs in `%s`: noise levels %s, data seeds %s, init seeds %s. "+
		"Statistics as `experiment/PLAN.md` fixes them: values are means over seeds (data × init); "+
		"brackets are 95 %% percentile bootstrap intervals (%d resamples, seed %d) over facts, drawn within each data seed "+
		"and fact kind, clustered (all questions of a fact move together) and paired across arms, lrs and noise levels "+
		"(the same facts and seeds). General metrics resample the general facts. The change of held-out general loss has "+
		"no fact structure: its mean over seeds is given with the min to max over seeds.\n",
		len(e.runs), o.runs, strings.Join(e.noises, ", "), ints(res.DataSeeds), ints(res.InitSeeds), o.resamples, o.seed)
	if o.resampleSeeds {
		b.WriteString("\n**Not PLAN.md's intervals:** this report was made with `--resample-seeds`: every resample also draws the data seeds " +
			"and the init seeds with replacement, so the intervals and p-values hold the spread between runs as well (the Δ general loss gets an interval too). " +
			"It is a sensitivity check; the plan's intervals condition on the seeds run.\n")
	}

	// lr selection
	switch {
	case o.final:
		b.WriteString("\n## Learning rates\n\nThe final comparison of PLAN.md's revision 2: each arm ran at one lr, fixed before these runs by rule 2 " +
			"on the default grid's runs (other data seeds). Validation domain accuracy (generated, mean over seeds) for the record; " +
			"† marks a mean forgetting outside the budget here.\n\n")
	case o.rule == ruleVal:
		b.WriteString("\n## Learning rate selection\n\nPLAN.md's rule 1: validation domain accuracy (generated, mean over seeds) of every lr; the chosen lr in bold. " +
			"The highest wins; lrs within 1/n of it (n: validation questions per run) tie, and the smallest of them is chosen. " +
			"Each noise level is its own training set and chooses its own lr. Test numbers play no part; † marks an lr whose mean forgetting is outside the budget.\n\n")
	default:
		fmt.Fprintf(&b, "\n## Learning rate selection\n\nPLAN.md's rule 2: validation domain accuracy (generated, mean over seeds) of every lr; the chosen lr in bold. "+
			"Among the lrs within the forgetting budget (mean Δ general loss ≤ %.2f nats, general-QA ≥ %.0f %% of the base's; † marks those outside) "+
			"the highest wins; lrs within 1/n of it (n: validation questions per run) tie, and the smallest of them is chosen; none within → the smallest lr. "+
			"Each noise level is its own training set and chooses its own lr. No domain test number plays a part.\n\n", budgetLoss, 100*budgetKept)
	}
	lrs := e.allLRs()
	fmt.Fprintf(&b, "| arm | noise | n | %s | chosen |\n|---|---|---|%s---|\n", strings.Join(lrs, " | "), strings.Repeat("---|", len(lrs)))
	for _, s := range res.Selection {
		row := make([]string, len(lrs))
		for i, lr := range lrs {
			row[i] = "—"
			for _, sc := range s.Scores {
				if sc.LR == lr {
					row[i] = fmt.Sprintf("%.3f", sc.Accuracy)
					if !sc.Within {
						row[i] += " †"
					}
					if lr == s.ChosenLR {
						row[i] = "**" + row[i] + "**"
					}
				}
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %s | %s |\n", s.Arm, s.Noise, s.NVal, strings.Join(row, " | "), s.ChosenLR)
	}

	for _, n := range e.noises {
		fmt.Fprintf(&b, "\n## Noise %s\n", n)
		e.table(&b, res, n, "Domain, at the chosen lrs", "Domain accuracy: generated answers on test paraphrases, overall and by fact kind. "+
			"MC: multiple-choice accuracy by log-likelihood over the value pool, chance-corrected (acc − 1/k)/(1 − 1/k). "+
			"Noise reproduced: share of mislabelled training prompts answered with the wrong label. "+
			"Train − test: accuracy on a training paraphrase minus test accuracy.", domainMetrics)
		e.table(&b, res, n, "General retention and repetition, at the chosen lrs", "General-QA: town questions in unseen paraphrases; "+
			"% of base: its ratio to the base's (same data seeds). Δ general loss: held-out general prose loss minus the same data seed's base's. "+
			"seq-rep-4 and no stop (share of answers cut at the token limit) on domain and general answers.", retentionMetrics)
		if e.hasCurves(n) {
			curveTable(&b, res, n)
		}
		if o.final {
			continue
		}
		fmt.Fprintf(&b, "\n### Forgetting against domain accuracy\n\nOne point per lr (means over seeds), one line per arm; the dashed line is the budget's %.2f nats.\n\n", budgetLoss)
		for _, k := range append([]string{""}, kinds...) {
			fmt.Fprintf(&b, "![noise %s%s](%s)\n", n, kindSuffix(k), plotName(n, k))
		}
		fmt.Fprintf(&b, "\n### Accuracy at the forgetting budget\n\nThe best test domain accuracy over the lr sweep among lrs whose Δ general loss is ≤ %.2f nats "+
			"and whose general-QA accuracy keeps ≥ %.0f %% of the base's (re-judged in every resample); an arm with no lr within the budget gets the base's accuracy "+
			"(the lr → 0 end of its curve). By kind: the same over facts of one kind, each kind at its own best lr within the budget.\n\n"+
			"− sft: the arm's accuracy at the budget minus sft's, paired (an exploratory comparison unless a hypothesis names it).\n\n"+
			"| arm | accuracy at budget | lr | − sft | %s |\n|---|---|---|---|%s\n", budgetLoss, 100*budgetKept, strings.Join(kinds, " | "), strings.Repeat("---|", len(kinds)))
		for _, m := range e.methods {
			i, ok := res.budgetIndex[sweepKey{n, m}]
			if !ok {
				continue
			}
			bo := res.Budget[i]
			lr := bo.LR
			if lr == "" {
				lr = "none within (base)"
			}
			vs := "—"
			if bo.VsSFT != nil {
				vs = fmtValue("%+.3f", *bo.VsSFT)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |", m, fmtValue("%.3f", value{Mean: bo.Accuracy, Lo: bo.Lo, Hi: bo.Hi}), lr, vs)
			for _, kind := range kinds {
				fmt.Fprintf(&b, " %s |", fmtValue("%.3f", bo.ByKind[kind]))
			}
			b.WriteString("\n")
		}
	}

	// hypotheses
	run := 0
	for _, h := range res.Hypotheses {
		if h.NotRun == "" {
			run++
		}
	}
	fmt.Fprintf(&b, "\n## Hypotheses\n\nAs stated in `experiment/PLAN.md` before the runs. Estimate with its paired bootstrap 95 %% interval; "+
		"p: two-sided (share of resampled statistics on the other side of 0, doubled); Holm over the %d hypotheses run (family-wise α %.2f). "+
		"A hypothesis holds when its Holm p < %.2f and its interval excludes 0 on the predicted side; otherwise it is not shown. "+
		"H1, H2 and H4 are averaged over the noise levels run (each level's value below the table).\n\n"+
		"| | hypothesis | statistic | estimate [95 %% CI] | p | Holm p | verdict | predicted |\n|---|---|---|---|---|---|---|---|\n", run, alpha, alpha)
	for _, h := range res.Hypotheses {
		est := "—"
		if h.Estimate != nil {
			est = fmtValue("%+.3f", value{Mean: h.Estimate, Lo: h.Lo, Hi: h.Hi})
		}
		verdict := "**" + h.Verdict + "**"
		if h.NotRun != "" {
			verdict = "not run (" + h.NotRun + ")"
		}
		if h.Opposite {
			verdict += " (the other way at Holm p < 0.05)"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", h.ID, h.Statement, h.Statistic, est, fmtP(h.P), fmtP(h.PHolm), verdict, h.Prediction)
	}
	for _, h := range res.Hypotheses {
		if len(h.PerNoise) == 0 {
			continue
		}
		var parts []string
		for _, n := range e.noises {
			if v, ok := h.PerNoise[n]; ok {
				parts = append(parts, fmt.Sprintf("noise %s: %+.3f", n, v))
			}
		}
		fmt.Fprintf(&b, "\n- %s by noise level: %s", h.ID, strings.Join(parts, "; "))
	}
	for _, bo := range res.Beside {
		where := "Beside " + bo.ID
		if bo.ID == "" {
			where = "Exploratory"
		}
		fmt.Fprintf(&b, "\n- %s (outside Holm's family): %s: %s, p %s", where, bo.Statistic, fmtValue("%+.3f", bo.Estimate), fmtP(bo.P))
	}
	b.WriteString("\n\n## How this report reads the plan\n\n" +
		"Where `experiment/PLAN.md` leaves a choice open, this generator makes it so (fixed in `tools/expreport`, not after seeing results):\n\n" +
		"- The lr rule is applied at each noise level separately.\n" +
		"- Facts are drawn within each data seed and fact kind (strata), so every resample keeps the design's facts per kind; " +
		"the same fact of a data seed weighs the same at every noise level (noise does not change which facts a data seed teaches).\n" +
		"- H1, H2 and H4 are the mean of their difference over the noise levels run; H3 uses the lowest and the highest noise level.\n" +
		"- Accuracy at the budget falls back to the base's accuracy when no lr of an arm is within the budget.\n" +
		"- Holm's family is the hypotheses run; one not run is reported as such and is not counted.\n" +
		"- Intervals condition on the seeds run (PLAN.md resamples facts, not seeds); `--resample-seeds` is the check that does not.\n")
	b.WriteString("\n## Deviations\n\n")
	if d := strings.TrimSpace(o.deviations); d != "" {
		b.WriteString(d + "\n")
	} else {
		b.WriteString("None recorded.\n")
	}
	return b.String()
}

// table writes one noise level's table of ms at the chosen lrs, the base first.
func (e *experiment) table(b *strings.Builder, res *results, noise, title, legend string, ms []metric) {
	fmt.Fprintf(b, "\n### %s\n\n%s\n\n| arm | lr | runs |", title, legend)
	for _, m := range ms {
		fmt.Fprintf(b, " %s |", m.title)
	}
	fmt.Fprintf(b, "\n|---|---|---|%s\n", strings.Repeat("---|", len(ms)))
	for _, m := range e.methods {
		c := e.chosen[sweepKey{noise, m}]
		if c == nil {
			continue
		}
		out := res.Cells[res.cellIndex[c]]
		lr := c.lr
		if lr == "" {
			lr = "—"
		}
		fmt.Fprintf(b, "| %s | %s | %d |", m, lr, len(c.runs))
		for _, mt := range ms {
			fmt.Fprintf(b, " %s |", fmtValue(mt.format, out.Metrics[mt.key]))
		}
		b.WriteString("\n")
	}
}

// allLRs are the lrs of every sweep, by value.
func (e *experiment) allLRs() []string {
	val := map[string]float64{}
	for _, cs := range e.sweeps {
		for _, c := range cs {
			if c.lr != "" {
				val[c.lr] = c.lrVal
			}
		}
	}
	var out []string
	for lr := range val {
		out = append(out, lr)
	}
	sort.Slice(out, func(i, j int) bool {
		if val[out[i]] != val[out[j]] {
			return val[out[i]] < val[out[j]]
		}
		return out[i] < out[j]
	})
	return out
}

func kindSuffix(k string) string {
	if k == "" {
		return ""
	}
	return ", " + k + " facts"
}

func ints(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ", ")
}

func (res *results) json() ([]byte, error) {
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
