// Package shard splits a data stage's input records into n contiguous
// parts, so that n processes (torchrun's ranks, or n jobs of any batch
// scheduler) each write one part, and the parts read one after another are
// the unsharded output record for record.
package shard

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// Shard is part I of N (0 ≤ I < N); the zero value and {0, 1} are the whole.
type Shard struct{ I, N int }

// Whole reports whether s is all of the input.
func (s Shard) Whole() bool { return s.N <= 1 }

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.I, max(s.N, 1)) }

// Resolve reads --shard ("i/n"); when it is empty, torchrun's RANK and
// WORLD_SIZE (through getenv) give the shard, and without them it is the
// whole input.
func Resolve(flag string, getenv func(string) string) (Shard, error) {
	if flag != "" {
		i, n, ok := strings.Cut(flag, "/")
		s, err := parse(i, n)
		if !ok || err != nil {
			return Shard{}, fmt.Errorf("--shard %q: want i/n with 0 ≤ i < n, e.g. 0/4", flag)
		}
		return s, nil
	}
	ws, rank := getenv("WORLD_SIZE"), getenv("RANK")
	if ws == "" || ws == "1" {
		return Shard{0, 1}, nil
	}
	s, err := parse(rank, ws)
	if err != nil {
		return Shard{}, fmt.Errorf("RANK=%q, WORLD_SIZE=%q: want 0 ≤ RANK < WORLD_SIZE", rank, ws)
	}
	return s, nil
}

func parse(i, n string) (Shard, error) {
	a, err1 := strconv.Atoi(i)
	b, err2 := strconv.Atoi(n)
	if err1 != nil || err2 != nil || b < 1 || a < 0 || a >= b {
		return Shard{}, fmt.Errorf("bad shard %s/%s", i, n)
	}
	return Shard{a, b}, nil
}

// Output names shard s's output file: data.arrow becomes
// data-00001-of-00004.arrow, so that the shards of one run list in order
// (data-*-of-00004.arrow) and never overwrite each other. The whole input,
// and stdout (""), keep their name.
func (s Shard) Output(path string) string {
	if s.Whole() || path == "" || path == "-" {
		return path
	}
	ext := filepath.Ext(path)
	return fmt.Sprintf("%s-%05d-of-%05d%s", strings.TrimSuffix(path, ext), s.I, s.N, ext)
}

// Range returns the records [lo, hi) of shard s among total records that may
// be cut anywhere.
func (s Shard) Range(total int) (lo, hi int) {
	if s.Whole() {
		return 0, total
	}
	return total * s.I / s.N, total * (s.I + 1) / s.N
}

// Pick returns shard s's records [lo, hi) when the input may only be cut at
// the record indices cuts (ascending; a stage that batches records lists
// where its batches start): each boundary is the cut nearest to where Range
// would put it, so shards stay as even as the cuts allow.
func (s Shard) Pick(cuts []int, total int) (lo, hi int) {
	if s.Whole() {
		return 0, total
	}
	at := func(k int) int {
		if k == 0 {
			return 0
		}
		if k == s.N {
			return total
		}
		ideal := total * k / s.N
		best := total
		for _, c := range cuts {
			if c <= 0 || c >= total {
				continue
			}
			if abs(c-ideal) < abs(best-ideal) {
				best = c
			}
		}
		return best
	}
	lo, hi = at(s.I), at(s.I+1)
	return lo, max(lo, hi)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// Device is the --device of one process among several on a machine: plain
// "cuda" becomes cuda:LOCAL_RANK when a launcher set LOCAL_RANK (torchrun
// starts one process per GPU); "cpu" and an explicit "cuda:N" stay.
func Device(device string, getenv func(string) string) string {
	if lr := getenv("LOCAL_RANK"); device == "cuda" && lr != "" {
		return "cuda:" + lr
	}
	return device
}
