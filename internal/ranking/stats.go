package ranking

import "math"

// minStd is the spread below which a curve counts as constant: float32
// curves carry no information below a micro-nat, and dividing by such a
// spread only amplifies rounding noise (the analyzer used the same 1e-6).
const minStd = 1e-6

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// pearson is the correlation of x and y: the mean product of their z-scores
// taken with the population deviation (ddof 0), i.e. the cosine of the
// centred vectors Y-Trainer's code computed. It is 0, not NaN, when either curve
// is constant (which includes every curve of one target) or empty: a flat
// curve says nothing about where the other one peaks.
func pearson(x, y []float64) float64 {
	n := len(x)
	if n == 0 {
		return 0
	}
	mx, my := mean(x), mean(y)
	var sxx, syy, sxy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxx += dx * dx
		syy += dy * dy
		sxy += dx * dy
	}
	if math.Sqrt(sxx/float64(n)) < minStd || math.Sqrt(syy/float64(n)) < minStd {
		return 0
	}
	return math.Max(-1, math.Min(1, sxy/math.Sqrt(sxx*syy)))
}

// zscores standardises xs with the sample deviation (ddof 1, pandas' std),
// as the divergence analyzer did; a deviation below minStd, or an undefined
// one (a single value), is replaced by 1 so flat curves give z ≈ 0.
func zscores(xs []float64) []float64 {
	m := mean(xs)
	sd := 1.0
	if n := len(xs); n > 1 {
		ss := 0.0
		for _, x := range xs {
			ss += (x - m) * (x - m)
		}
		if s := math.Sqrt(ss / float64(n-1)); s >= minStd {
			sd = s
		}
	}
	z := make([]float64, len(xs))
	for i, x := range xs {
		z[i] = (x - m) / sd
	}
	return z
}

// smooth is pandas' rolling(w, center=True, min_periods=1).mean(): position
// i averages xs[i-w+1+c .. i+c] with c = (w-1)/2, clipped at the ends.
func smooth(xs []float64, w int) []float64 {
	out := make([]float64, len(xs))
	c := (w - 1) / 2
	for i := range xs {
		lo, hi := max(0, i+c-w+1), min(len(xs)-1, i+c)
		out[i] = mean(xs[lo : hi+1])
	}
	return out
}

func float64s(xs []float32) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = float64(x)
	}
	return out
}
