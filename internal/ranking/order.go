package ranking

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Plan says which records to keep and in which order.
type Plan struct {
	Desc       bool     // highest score first (Y-Trainer's default)
	Interleave int      // ≥ 2: spread this many difficulty strata evenly (see Arrange)
	DropAbove  *float64 // drop records scoring above this
	DropWorst  float64  // drop this fraction of the highest-scoring records
	Band       Band     // keep one band of the scores
}

// Band keeps a fraction of the records: the lowest scores, the highest, or
// the middle ones (as many dropped below as above).
type Band struct {
	Where string // "" (keep all), "low", "mid" or "high"
	Frac  float64
}

// ParseBand reads --keep-band low|mid|high:FRACTION.
func ParseBand(s string) (Band, error) {
	where, frac, ok := strings.Cut(s, ":")
	f, err := strconv.ParseFloat(frac, 64)
	if !ok || err != nil || (where != "low" && where != "mid" && where != "high") || !(f > 0 && f <= 1) {
		return Band{}, fmt.Errorf("--keep-band %q: want low, mid or high, a colon and a fraction in (0, 1], e.g. mid:0.8", s)
	}
	return Band{Where: where, Frac: f}, nil
}

// ParseMix reads --mix: "none" or "interleave:K" with K ≥ 1 (1 is none).
func ParseMix(s string) (int, error) {
	if s == "none" {
		return 0, nil
	}
	k, err := strconv.Atoi(strings.TrimPrefix(s, "interleave:"))
	if !strings.HasPrefix(s, "interleave:") || err != nil || k < 1 {
		return 0, fmt.Errorf("--mix %q: want none or interleave:K with K ≥ 1", s)
	}
	return k, nil
}

// Dropped counts the records each filter removed.
type Dropped struct{ Above, Worst, Band int }

func (d Dropped) Total() int { return d.Above + d.Worst + d.Band }

// Arrange returns the output order as indices into scores, and what the
// filters dropped. The filters apply in turn, each to what the previous one
// left: --drop-above, then --drop-worst (round(F·n) highest), then
// --keep-band (round(F·n) records). Equal scores keep their input order, in
// either direction, so a run is reproducible.
//
// Interleave K cuts the ordered list into K strata of consecutive ranks
// (sizes differ by at most one, the larger first) and emits one record of
// each stratum in turn: stratum 1's first, stratum 2's first, …, stratum K's
// first, then each one's second, and so on, skipping exhausted strata. Every
// window of K outputs then holds one record of each difficulty level instead
// of running easy → hard.
func Arrange(scores []float64, p Plan) ([]int, Dropped) {
	asc := make([]int, len(scores))
	for i := range asc {
		asc[i] = i
	}
	sortBy(asc, scores, false)
	var d Dropped
	if p.DropAbove != nil {
		n := sort.Search(len(asc), func(i int) bool { return scores[asc[i]] > *p.DropAbove })
		d.Above = len(asc) - n
		asc = asc[:n]
	}
	if p.DropWorst > 0 {
		d.Worst = int(math.Round(p.DropWorst * float64(len(asc))))
		asc = asc[:len(asc)-d.Worst]
	}
	if p.Band.Where != "" {
		n := len(asc)
		keep := int(math.Round(p.Band.Frac * float64(n)))
		lo := 0
		switch p.Band.Where {
		case "mid":
			lo = (n - keep) / 2
		case "high":
			lo = n - keep
		}
		asc = asc[lo : lo+keep]
		d.Band = n - keep
	}
	order := append([]int(nil), asc...)
	if p.Desc {
		sortBy(order, scores, true)
	}
	if p.Interleave >= 2 {
		order = interleave(order, p.Interleave)
	}
	return order, d
}

// sortBy sorts indices by score, ties by index (input order) in both directions.
func sortBy(idx []int, scores []float64, desc bool) {
	sort.Slice(idx, func(a, b int) bool {
		sa, sb := scores[idx[a]], scores[idx[b]]
		if sa != sb {
			return (sa > sb) == desc
		}
		return idx[a] < idx[b]
	})
}

func interleave(order []int, k int) []int {
	n := len(order)
	var strata [][]int
	for s, start := 0, 0; s < k && start < n; s++ {
		size := n / k
		if s < n%k {
			size++
		}
		strata = append(strata, order[start:start+size])
		start += size
	}
	out := make([]int, 0, n)
	for i := 0; len(out) < n; i++ {
		for _, st := range strata {
			if i < len(st) {
				out = append(out, st[i])
			}
		}
	}
	return out
}
