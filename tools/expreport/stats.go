package main

import (
	"math"
	"math/rand/v2"
	"runtime"
	"sort"
	"sync"
)

// boot holds the resamples of a clustered bootstrap: each is a weight per
// fact (how many times the fact was drawn), so all the questions of a fact
// move together, and the same weights serve every arm, lr, noise level and
// seed (paired). Facts are drawn with replacement within each stratum (a
// data seed's facts of one kind); general facts are their own kind.
type boot struct {
	seeds bool        // seeds are resampled too
	ones  []float64   // the observed data: every fact once
	reps  [][]float64 // one weight vector per resample
}

// newBoot draws b resamples from a generator seeded with seed. With seeds
// set, each resample also draws the data seeds and the init seeds with
// replacement (a run weighs its data seed's times its init seed's count):
// then the intervals hold the runs' spread too, which fact resampling
// alone (PLAN.md) takes as fixed.
func newBoot(g *registry, b int, seed uint64, seeds bool) *boot {
	n, ones := len(g.kinds), g.ones()
	keys := make([]stratum, 0, len(g.strata))
	for k := range g.strata {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].data != keys[j].data {
			return keys[i].data < keys[j].data
		}
		return keys[i].kind < keys[j].kind
	})
	rng := rand.New(rand.NewPCG(seed, 0x6578707265706f72))
	reps := make([][]float64, b)
	for r := range reps {
		w := make([]float64, n)
		for _, k := range keys {
			facts := g.strata[k]
			for range facts {
				w[facts[rng.IntN(len(facts))]]++
			}
		}
		for _, level := range []string{"data", "init"} {
			slots := g.seedSets[level]
			for _, i := range slots {
				if !seeds {
					w[i] = 1
				}
			}
			if seeds {
				for range slots {
					w[slots[rng.IntN(len(slots))]]++
				}
			}
		}
		reps[r] = w
	}
	return &boot{seeds: seeds, ones: ones, reps: reps}
}

// estimate is a statistic with its 95 % percentile interval and, for
// differences, the two-sided bootstrap p-value of "it is 0".
type estimate struct {
	Value, Lo, Hi, P float64
}

// estimate evaluates stat on the data and on every resample. A resample
// where stat is NaN (a stratum left without facts the statistic needs) is
// left out of the interval.
func (b *boot) estimate(stat func(w []float64) float64) estimate {
	v := clean(stat(b.ones))
	if math.IsNaN(v) {
		return estimate{math.NaN(), math.NaN(), math.NaN(), math.NaN()}
	}
	all := make([]float64, len(b.reps))
	// resamples are independent and stat only reads: spread them over the
	// cores, each writing its own slots, so the result does not depend on it
	workers := min(runtime.GOMAXPROCS(0), len(b.reps))
	var wg sync.WaitGroup
	for k := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := k; r < len(b.reps); r += workers {
				all[r] = clean(stat(b.reps[r]))
			}
		}()
	}
	wg.Wait()
	xs := all[:0]
	for _, x := range all {
		if !math.IsNaN(x) {
			xs = append(xs, x)
		}
	}
	sort.Float64s(xs)
	return estimate{Value: v, Lo: quantile(xs, 0.025), Hi: quantile(xs, 0.975), P: pTwoSided(v, xs)}
}

// clean rounds float dust to 0, so that a difference of equal accuracies
// summed in another order is 0 and not on one side of it.
func clean(x float64) float64 {
	if math.Abs(x) < 1e-12 {
		return 0
	}
	return x
}

// quantile of sorted xs, linear between order statistics (R's type 7).
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	h := q * float64(len(xs)-1)
	i := int(math.Floor(h))
	if i+1 >= len(xs) {
		return xs[len(xs)-1]
	}
	return xs[i] + (h-float64(i))*(xs[i+1]-xs[i])
}

// pTwoSided is the share of resampled values on the other side of 0 from
// the observed one (0 itself counts as the other side), doubled, at most 1.
func pTwoSided(observed float64, xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	if observed == 0 {
		return 1
	}
	k := 0
	for _, x := range xs {
		if (observed > 0 && x <= 0) || (observed < 0 && x >= 0) {
			k++
		}
	}
	return math.Min(1, 2*float64(k)/float64(len(xs)))
}

// holm adjusts p-values for the family they form (Holm's step-down): the
// i-th smallest of m is multiplied by m−i+1, then made monotone. NaN
// entries (hypotheses not run) are not part of the family and stay NaN.
func holm(p []float64) []float64 {
	out := make([]float64, len(p))
	var idx []int
	for i, x := range p {
		out[i] = math.NaN()
		if !math.IsNaN(x) {
			idx = append(idx, i)
		}
	}
	sort.SliceStable(idx, func(a, b int) bool { return p[idx[a]] < p[idx[b]] })
	m, running := len(idx), 0.0
	for rank, i := range idx {
		running = math.Max(running, math.Min(1, float64(m-rank)*p[i]))
		out[i] = running
	}
	return out
}

// field picks what a per-fact mean averages: the numerator and the count.
type field func(r factRow) (num, den float64)

var (
	accuracy  field = func(r factRow) (float64, float64) { return r.correct, r.n }
	seqRep4   field = func(r factRow) (float64, float64) { return r.rep, r.n }
	truncated field = func(r factRow) (float64, float64) { return r.truncated, r.truncatedKnow }
)

// mean is the weighted mean of f over a set's questions, restricted to facts
// of kind ("" for all): NaN when nothing is left.
func (s *set) mean(w []float64, f field, kinds []string, kind string) float64 {
	if s == nil {
		return math.NaN()
	}
	rows := s.rows
	if kind != "" && s.byKind != nil {
		rows = s.byKind[kind]
	}
	var num, den float64
	for _, r := range rows {
		if kind != "" && kinds[r.fact] != kind {
			continue
		}
		a, b := f(r)
		num += w[r.fact] * a
		den += w[r.fact] * b
	}
	if den == 0 {
		return math.NaN()
	}
	return num / den
}

// meanOf averages xs, skipping NaN; NaN when none is left.
func meanOf(xs []float64) float64 {
	s, n := 0.0, 0
	for _, x := range xs {
		if !math.IsNaN(x) {
			s += x
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return s / float64(n)
}
