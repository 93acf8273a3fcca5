package tensorboard

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
)

// Histogram is a HistogramProto. BucketLimit and Bucket are parallel: bucket
// i counts values in [BucketLimit[i-1], BucketLimit[i]), bucket 0 starting at
// -MaxFloat64.
type Histogram struct {
	Min, Max, Num, Sum, SumSquares float64
	BucketLimit, Bucket            []float64
}

// defaultLimits are TensorFlow's default histogram bucket limits
// (tensorflow/core/lib/histogram/histogram.cc, used by TF's histogram summary
// op and C++ summary writer): 1e-12·1.1^k below 1e20 and then MaxFloat64,
// mirrored to negatives, with 0 in the middle. The limits are built by the
// same repeated multiplication so they match TF's bit for bit.
var defaultLimits = sync.OnceValue(func() []float64 {
	var pos []float64
	for v := 1.0e-12; v < 1.0e20; v *= 1.1 {
		pos = append(pos, v)
	}
	pos = append(pos, math.MaxFloat64)
	limits := make([]float64, 0, 2*len(pos)+1)
	for i := len(pos) - 1; i >= 0; i-- {
		limits = append(limits, -pos[i])
	}
	limits = append(limits, 0)
	return append(limits, pos...)
})

// newHistogram bins values into the default buckets the way TF does, then
// collapses each run of empty buckets into one (TF's EncodeToProto with
// preserve_zero_buckets=false), which keeps the proto small. Like TF's op it
// rejects NaN and ±Inf; it also rejects no values, whose TF encoding
// (min=MaxFloat64, max=-MaxFloat64) TensorBoard cannot plot sensibly.
func newHistogram(values []float64) (Histogram, error) {
	if len(values) == 0 {
		return Histogram{}, errors.New("no values")
	}
	limits := defaultLimits()
	counts := make([]float64, len(limits))
	h := Histogram{Min: math.MaxFloat64, Max: -math.MaxFloat64, Num: float64(len(values))}
	for _, v := range values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return Histogram{}, fmt.Errorf("non-finite value %v", v)
		}
		// std::upper_bound: the first limit greater than v.
		i, found := slices.BinarySearch(limits, v)
		if found {
			i++
		}
		// Only v == MaxFloat64 passes the last limit; TF would index out of
		// range there, we keep it in the last bucket.
		i = min(i, len(limits)-1)
		counts[i]++
		h.Min = min(h.Min, v)
		h.Max = max(h.Max, v)
		h.Sum += v
		h.SumSquares += v * v
	}
	for i := 0; i < len(counts); {
		end, c := limits[i], counts[i]
		i++
		if c == 0 {
			for i < len(counts) && counts[i] == 0 {
				end = limits[i]
				i++
			}
		}
		h.BucketLimit = append(h.BucketLimit, end)
		h.Bucket = append(h.Bucket, c)
	}
	return h, nil
}
