package encode

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/ytrain/ytrain/formats"
	"github.com/ytrain/ytrain/internal/corpus"
	"github.com/ytrain/ytrain/internal/ordered"
	"github.com/ytrain/ytrain/internal/shard"
)

// Stream says where examples come from and how bad ones are treated.
type Stream struct {
	Paths       []string // "-" is stdin
	InputFormat string   // corpus.Open's format
	Stdin       io.Reader
	Workers     int
	SkipInvalid bool      // count and skip malformed records instead of failing
	Log         io.Writer // warnings about skipped records
	Shard       shard.Shard
}

// Stats counts what a run did.
type Stats struct {
	Read, Written                 int
	EmptyAnswer, TooLong, Invalid int
	Tokens, Targets               int64
}

// maxWarnings bounds the per-record warnings of each kind; the totals are
// always reported.
const maxWarnings = 5

type encoded struct {
	rec   *formats.Token
	where string
}

type job struct {
	ex  *corpus.Example
	err error // a record the reader rejected, skipped under SkipInvalid
}

// Run encodes every example of s into w, in input order.
func (e *Encoder) Run(s Stream, w *formats.Writer[formats.Token]) (Stats, error) {
	var st Stats
	paths := s.Paths
	if len(paths) == 0 {
		paths = []string{"-"}
	}
	lo, hi, err := e.shardRange(s)
	if err != nil {
		return st, err
	}
	idx := 0 // records of all paths so far
	var cur *corpus.Reader
	defer func() {
		if cur != nil {
			cur.Close()
		}
	}()
	next := func() (job, bool, error) {
		for {
			if idx >= hi {
				return job{}, false, nil
			}
			if cur == nil {
				if len(paths) == 0 {
					return job{}, false, nil
				}
				r, err := corpus.Open(paths[0], s.InputFormat, s.Stdin, e.opt.Task)
				if err != nil {
					return job{}, false, err
				}
				cur, paths = r, paths[1:]
			}
			ex, err := cur.Next()
			if err == io.EOF {
				cur.Close()
				cur = nil
				continue
			}
			if idx++; idx <= lo {
				continue // another shard's
			}
			st.Read++
			if err != nil && !errors.Is(err, corpus.ErrEmptyAnswer) && !s.SkipInvalid {
				return job{}, false, err
			}
			return job{ex, err}, true, nil
		}
	}
	encode := func(j job) (encoded, error) {
		if j.err != nil {
			return encoded{}, j.err
		}
		rec, err := e.Encode(j.ex)
		if err != nil {
			err = fmt.Errorf("%s: %w", j.ex.Where, err)
		}
		return encoded{rec, j.ex.Where}, err
	}
	seen := map[string]string{}
	emit := func(enc encoded, err error) error {
		if err != nil {
			return st.skip(err, s)
		}
		rec := enc.rec
		if first, dup := seen[rec.ID]; dup {
			return fmt.Errorf("%s: duplicate id %q (first at %s): ids must be unique, pack, score and rank join on them", enc.where, rec.ID, first)
		}
		seen[rec.ID] = enc.where
		st.Written++
		st.Tokens += int64(len(rec.InputIDs))
		st.Targets += int64(rec.LossMask.Targets())
		return w.Write(rec)
	}
	err = ordered.Map(s.Workers, next, encode, emit)
	return st, err
}

// shardRange returns the records [lo, hi) of s.Shard: a first pass over the
// input counts its records (reading, not encoding them), so the input must
// be files. Any record may start a shard: each is encoded on its own.
func (e *Encoder) shardRange(s Stream) (lo, hi int, err error) {
	if s.Shard.Whole() {
		return 0, math.MaxInt, nil
	}
	paths := s.Paths
	if len(paths) == 0 || slices.Contains(paths, "-") {
		return 0, 0, fmt.Errorf("--shard %v: the input must be files (stdin can be read only once, and sharding counts the records first)", s.Shard)
	}
	total := 0
	for _, p := range paths {
		r, err := corpus.Open(p, s.InputFormat, nil, e.opt.Task)
		if err != nil {
			return 0, 0, err
		}
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil && !errors.Is(err, corpus.ErrEmptyAnswer) && !s.SkipInvalid {
				r.Close()
				return 0, 0, err
			}
			total++
		}
		r.Close()
	}
	lo, hi = s.Shard.Range(total)
	return lo, hi, nil
}

// skip counts a rejected record, or fails the run when it is not skippable.
func (st *Stats) skip(err error, s Stream) error {
	var n *int
	switch {
	case errors.Is(err, corpus.ErrEmptyAnswer):
		n = &st.EmptyAnswer
	case errors.Is(err, ErrTooLong):
		n = &st.TooLong
	case s.SkipInvalid:
		n = &st.Invalid
	default:
		return err
	}
	*n++
	if *n <= maxWarnings && s.Log != nil {
		fmt.Fprintf(s.Log, "tokenize: skipped %v\n", err)
	}
	return nil
}
