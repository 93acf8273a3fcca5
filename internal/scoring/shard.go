package scoring

import (
	"fmt"
	"slices"

	"github.com/ytrain/ytrain/internal/seq"
	"github.com/ytrain/ytrain/internal/shard"
)

// Shard returns what to feed the sequences of paths to so that sc scores
// only shard sh of them. each reads one path into a function (seq.Each, as
// the scoring pass does); Shard first reads every path with it to count the
// sequences and find where the input may be cut: only where a whole run of
// sc would start a batch, so that a shard's batches are exactly the whole
// run's (and its scores the same bytes, whatever the kernels), and where
// no packed document continues from the sequence before.
func Shard(sc *Scorer, sh shard.Shard, paths []string, each func(path string, fn func(*seq.Seq) error) error) (func(*seq.Seq) error, error) {
	if sh.Whole() {
		return sc.Add, nil
	}
	if slices.Contains(paths, "-") {
		return nil, fmt.Errorf("--shard %v: the input must be files (stdin can be read only once, and sharding counts the records first)", sh)
	}
	c := &cuts{sc: sc}
	for _, p := range paths {
		if err := each(p, c.add); err != nil {
			return nil, err
		}
	}
	lo, hi := sh.Pick(c.at, c.n)
	k := 0
	return func(s *seq.Seq) error {
		k++
		if k-1 < lo || k-1 >= hi {
			return nil // another shard's
		}
		return sc.Add(s)
	}, nil
}

// cuts replays Scorer.Add's batching over sequence sizes alone.
type cuts struct {
	sc              *Scorer
	n, rows, maxLen int
	lastDoc         string // of a packed sequence
	at              []int
}

func (c *cuts) add(s *seq.Seq) error {
	twin, err := c.sc.twin(s)
	if err != nil {
		return err
	}
	need, extra := footprint(s, twin)
	if full(c.rows, c.maxLen, need, extra, c.sc.BatchTokens) {
		if !s.Packed || len(s.Docs) == 0 || s.Docs[0].ID != c.lastDoc {
			c.at = append(c.at, c.n)
		}
		c.rows, c.maxLen = 0, 0
	}
	c.rows += extra
	c.maxLen = max(c.maxLen, need)
	c.lastDoc = ""
	if s.Packed && len(s.Docs) > 0 {
		c.lastDoc = s.Docs[len(s.Docs)-1].ID
	}
	c.n++
	return nil
}
