package main

import (
	"fmt"
	"math"
	"sort"
)

// kinds are tools/world's domain fact kinds, in the tables' order.
var kinds = []string{"new", "conflicting", "consistent"}

// armOrder is PLAN.md's order of the arms; others follow by name.
var armOrder = []string{"base", "sft", "nlirg", "nlirg-auto", "eaft", "dft", "trunc", "sft-mix"}

// cell is one arm at one lr and noise level: its runs over the seeds, each
// with the base of its data seed.
type cell struct {
	noise       string
	method, lr  string
	lrVal       float64
	runs, bases []*armRun
}

type sweepKey struct{ noise, method string }

// experiment is the runs grouped for the report.
type experiment struct {
	reg     *registry
	runs    []*armRun
	noises  []string                // by value
	methods []string                // armOrder, base first
	sweeps  map[sweepKey][]*cell    // by lr; base: one cell
	chosen  map[sweepKey]*cell      // by the lr rule
	sel     map[sweepKey]*selection // what the rule saw
}

// group sorts runs into cells and finds each run's base: the one in the
// same folder, else another of the same data seed (the base does not
// depend on the init seed, and its general loss not on the data).
func group(runs []*armRun, g *registry, rule string) (*experiment, error) {
	e := &experiment{reg: g, runs: runs, sweeps: map[sweepKey][]*cell{}, chosen: map[sweepKey]*cell{}, sel: map[sweepKey]*selection{}}
	type folder struct {
		noise      string
		data, init int
	}
	bases := map[folder]*armRun{}
	byData := map[int]*armRun{}
	noiseVal := map[string]float64{}
	for _, r := range runs {
		r.slots = [2]int{g.slot("data", r.data), g.slot("init", r.init)}
	}
	ones := g.ones()
	for _, r := range runs {
		r.kinds, r.ones = g.kinds, ones
		for _, p := range r.curve {
			p.slots, p.kinds, p.ones = r.slots, g.kinds, ones
		}
		noiseVal[r.noise] = r.noiseVal
		if r.method == "base" {
			bases[folder{r.noise, r.data, r.init}] = r
			if byData[r.data] == nil {
				byData[r.data] = r
			}
		}
	}
	cells := map[[3]string]*cell{}
	for _, r := range runs {
		b := bases[folder{r.noise, r.data, r.init}]
		if b == nil {
			b = byData[r.data]
		}
		if b == nil {
			return nil, fmt.Errorf("%s: no base run of data seed %d", r.dir, r.data)
		}
		k := [3]string{r.noise, r.method, r.lr}
		c := cells[k]
		if c == nil {
			c = &cell{noise: r.noise, method: r.method, lr: r.lr, lrVal: r.lrVal}
			cells[k] = c
			sk := sweepKey{r.noise, r.method}
			e.sweeps[sk] = append(e.sweeps[sk], c)
		}
		c.runs = append(c.runs, r)
		c.bases = append(c.bases, b)
	}
	for n := range noiseVal {
		e.noises = append(e.noises, n)
	}
	sort.Slice(e.noises, func(i, j int) bool { return noiseVal[e.noises[i]] < noiseVal[e.noises[j]] })
	seen := map[string]bool{}
	for k, cs := range e.sweeps {
		sort.Slice(cs, func(i, j int) bool { return cs[i].lrVal < cs[j].lrVal })
		seen[k.method] = true
	}
	for _, m := range armOrder {
		if seen[m] {
			e.methods = append(e.methods, m)
			delete(seen, m)
		}
	}
	var rest []string
	for m := range seen {
		rest = append(rest, m)
	}
	sort.Strings(rest)
	e.methods = append(e.methods, rest...)
	for k, cs := range e.sweeps {
		if k.method == "base" {
			e.chosen[k] = cs[0]
			continue
		}
		s := selectLR(cs, rule)
		e.sel[k] = s
		e.chosen[k] = cs[s.Chosen]
	}
	return e, nil
}

// ---- metrics ---------------------------------------------------------------

// metric is one column: its value for a cell under fact weights w, the mean
// over the cell's runs (seeds).
type metric struct {
	key, title, format string
	value              func(c *cell, w []float64) float64
	noFacts            bool // no fact structure: mean with min–max over seeds
}

// perRun averages f over a cell's runs, each weighed by its seeds' weights
// in w (1 unless --resample-seeds).
func perRun(c *cell, w []float64, f func(r, base *armRun) float64) float64 {
	sum, n := 0.0, 0.0
	for i, r := range c.runs {
		if x := f(r, c.bases[i]); !math.IsNaN(x) {
			k := w[r.slots[0]] * w[r.slots[1]]
			sum += k * x
			n += k
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / n
}

func setMean(name string, f field, kind string) func(c *cell, w []float64) float64 {
	return func(c *cell, w []float64) float64 {
		return perRun(c, w, func(r, _ *armRun) float64 { return r.sets[name].mean(w, f, c.kinds(), kind) })
	}
}

func (c *cell) kinds() []string { return c.runs[0].kinds }

func generalKept(c *cell, w []float64) float64 {
	arm := perRun(c, w, func(r, _ *armRun) float64 { return r.sets["general"].mean(w, accuracy, c.kinds(), "") })
	base := perRun(c, w, func(_, b *armRun) float64 { return b.sets["general"].mean(w, accuracy, c.kinds(), "") })
	if base == 0 {
		return math.NaN()
	}
	return arm / base
}

func lossChange(c *cell, w []float64) float64 {
	return perRun(c, w, func(r, b *armRun) float64 { return r.heldout - b.heldout })
}

func overfitGap(c *cell, w []float64) float64 {
	return perRun(c, w, func(r, _ *armRun) float64 {
		return r.sets["trainq"].mean(w, accuracy, c.kinds(), "") - r.sets["test"].mean(w, accuracy, c.kinds(), "")
	})
}

var (
	domainAccuracy = setMean("test", accuracy, "")
	domainSeqRep   = setMean("test", seqRep4, "")
)

// domainMetrics and retentionMetrics are the two tables of a noise level.
var domainMetrics = func() []metric {
	ms := []metric{{key: "domain_accuracy", title: "domain acc.", format: "%.3f", value: domainAccuracy}}
	for _, k := range kinds {
		ms = append(ms, metric{key: "domain_accuracy_" + k, title: k, format: "%.3f", value: setMean("test", accuracy, k)})
	}
	return append(ms,
		metric{key: "choice_accuracy_cc", title: "MC acc. (chance-corr.)", format: "%.3f", value: setMean("choices", accuracy, "")},
		metric{key: "noise_reproduced", title: "noise reproduced", format: "%.3f", value: setMean("noisy", accuracy, "")},
		metric{key: "train_test_gap", title: "train − test paraphrase", format: "%+.3f", value: overfitGap},
	)
}()

var retentionMetrics = []metric{
	{key: "general_accuracy", title: "general-QA acc.", format: "%.3f", value: setMean("general", accuracy, "")},
	{key: "general_kept", title: "% of base", format: "%.2f", value: generalKept},
	{key: "general_loss_change", title: "Δ general loss", format: "%+.3f", value: lossChange, noFacts: true},
	{key: "seq_rep_4", title: "seq-rep-4 dom.", format: "%.3f", value: domainSeqRep},
	{key: "general_seq_rep_4", title: "seq-rep-4 gen.", format: "%.3f", value: setMean("general", seqRep4, "")},
	{key: "no_stop", title: "no stop dom.", format: "%.3f", value: setMean("test", truncated, "")},
	{key: "general_no_stop", title: "no stop gen.", format: "%.3f", value: setMean("general", truncated, "")},
}

// epochs is how many points the cell's runs all have: their earlier epoch
// ends (curve) and the final model.
func (c *cell) epochs() int {
	n := math.MaxInt
	for _, r := range c.runs {
		n = min(n, len(r.curve)+1)
	}
	return n
}

// atEpoch is the cell at its k-th point (0-based; epochs()-1 is the final
// model), the same bases.
func (c *cell) atEpoch(k int) *cell {
	out := *c
	out.runs = make([]*armRun, len(c.runs))
	for i, r := range c.runs {
		out.runs[i] = r
		if k < len(r.curve) {
			out.runs[i] = r.curve[k]
		}
	}
	return &out
}

func metricByKey(key string) metric {
	for _, m := range append(append([]metric{}, domainMetrics...), retentionMetrics...) {
		if m.key == key {
			return m
		}
	}
	panic("no metric " + key)
}

// ---- the lr rule -----------------------------------------------------------

// The lr rules of PLAN.md: rule 2 (its revision 2, the default) picks
// within the forgetting budget, rule 1 on validation accuracy alone.
const (
	ruleBudget = "budget"
	ruleVal    = "val"
)

// lrScore is one lr's mean validation accuracy over its seeds, and whether
// its mean forgetting is within the budget.
type lrScore struct {
	LR       string  `json:"lr"`
	Accuracy float64 `json:"val_accuracy"`
	Runs     int     `json:"runs"`
	Within   bool    `json:"within_budget"`
	lrVal    float64
}

// selection is what PLAN.md's rule saw for one arm and noise level.
type selection struct {
	NVal   int // validation questions per run
	Scores []lrScore
	Chosen int
}

func selectLR(cs []*cell, rule string) *selection {
	s := &selection{}
	for _, c := range cs {
		for _, r := range c.runs {
			if v := r.sets["val"]; v != nil && v.questions > s.NVal {
				s.NVal = v.questions
			}
		}
		ones := c.runs[0].ones
		s.Scores = append(s.Scores, lrScore{LR: c.lr, lrVal: c.lrVal, Runs: len(c.runs), Within: withinBudget(c, ones),
			Accuracy: perRun(c, ones, func(r, _ *armRun) float64 { return r.sets["val"].mean(r.ones, accuracy, r.kinds, "") })})
	}
	if rule == ruleVal {
		s.Chosen = chooseLR(s.Scores, s.NVal)
		return s
	}
	// rule 2: the same choice among the lrs within the budget; none → the smallest
	var within []lrScore
	var at []int
	for i, sc := range s.Scores {
		if sc.Within {
			within, at = append(within, sc), append(at, i)
		}
	}
	s.Chosen = 0
	for i, sc := range s.Scores {
		if sc.lrVal < s.Scores[s.Chosen].lrVal {
			s.Chosen = i
		}
	}
	if len(within) > 0 {
		s.Chosen = at[chooseLR(within, s.NVal)]
	}
	return s
}

// withinBudget: the cell's mean forgetting is within H1's budget.
func withinBudget(c *cell, w []float64) bool {
	return lossChange(c, w) <= budgetLoss+1e-12 && generalKept(c, w) >= budgetKept-1e-12
}

// chooseLR is PLAN.md's rule: the highest mean validation accuracy; lrs
// within 1/nVal of it tie, and the smallest of them wins.
func chooseLR(scores []lrScore, nVal int) int {
	best := math.Inf(-1)
	for _, s := range scores {
		if !math.IsNaN(s.Accuracy) && s.Accuracy > best {
			best = s.Accuracy
		}
	}
	tol := 1e-9
	if nVal > 0 {
		tol += 1 / float64(nVal)
	}
	pick := -1
	for i, s := range scores {
		if !math.IsNaN(s.Accuracy) && s.Accuracy >= best-tol && (pick < 0 || s.lrVal < scores[pick].lrVal) {
			pick = i
		}
	}
	if pick < 0 {
		pick = 0
	}
	return pick
}

// ---- accuracy at a forgetting budget ----------------------------------------

const (
	budgetLoss = 0.05 // nats of held-out general loss over the base's
	budgetKept = 0.90 // share of the base's general-QA accuracy kept
)

// budgetAccuracy is PLAN.md's accuracy at a fixed forgetting budget: the
// best test domain accuracy over the sweep's lrs (means over seeds) among
// those within the budget. When none is, it is the base's accuracy: the
// lr → 0 end of every arm's curve is within any budget. lr is "" then.
// kind ("" for all) restricts the accuracy to facts of one kind.
func (e *experiment) budgetAccuracy(noise, method, kind string, w []float64) (acc float64, lr string) {
	domainAccuracy := domainAccuracy
	if kind != "" {
		domainAccuracy = setMean("test", accuracy, kind)
	}
	cs := e.sweeps[sweepKey{noise, method}]
	acc = math.Inf(-1)
	for _, c := range cs {
		if !withinBudget(c, w) {
			continue
		}
		if a := domainAccuracy(c, w); a > acc {
			acc, lr = a, c.lr
		}
	}
	if lr == "" {
		base := e.chosen[sweepKey{noise, "base"}]
		if base == nil {
			return math.NaN(), ""
		}
		return domainAccuracy(base, w), ""
	}
	return acc, lr
}
