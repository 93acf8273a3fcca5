package encode

import (
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"slices"

	"github.com/ytrain/ytrain/formats"
	"github.com/ytrain/ytrain/internal/corpus"
	"github.com/ytrain/ytrain/internal/ordered"
	"github.com/ytrain/ytrain/internal/shard"
)

// Stream says where examples come from and how bad ones are treated.
type Stream struct {
	Paths         []string // "-" is stdin
	InputEncoding string   // the files' encoding, as corpus.OpenRecords takes it
	Stdin         io.Reader
	Workers       int
	SkipInvalid   bool      // count and skip malformed records instead of failing
	Log           io.Writer // warnings about skipped records
	Shard         shard.Shard
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
	lo, hi, err := e.shardRange(s)
	if err != nil {
		return st, err
	}
	jobs := func(yield func(job, error) bool) {
		idx := 0 // records of all paths so far
		for ex, err := range e.examples(s) {
			if idx >= hi {
				return
			}
			if err := s.fatal(err); err != nil {
				yield(job{}, err)
				return
			}
			if idx++; idx <= lo {
				continue // another shard's
			}
			st.Read++
			if !yield(job{ex, err}, nil) {
				return
			}
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
	err = ordered.Map(s.Workers, jobs, encode, emit)
	return st, err
}

// examples yields the examples of s's files ("-": stdin), and the errors of
// the records they reject.
func (e *Encoder) examples(s Stream) iter.Seq2[*corpus.Example, error] {
	paths := s.Paths
	if len(paths) == 0 {
		paths = []string{"-"}
	}
	return corpus.Examples(paths, s.InputEncoding, s.Stdin, e.opt.Objective)
}

// fatal is err when it ends the run: an error that is not one record's
// (a file that does not open or read on), or a record's that is neither an
// empty answer nor skipped by SkipInvalid. The others are counted.
func (s Stream) fatal(err error) error {
	switch {
	case err == nil, errors.Is(err, corpus.ErrEmptyAnswer):
		return nil
	case errors.Is(err, corpus.ErrRecord) && s.SkipInvalid:
		return nil
	}
	return err
}

// shardRange returns the records [lo, hi) of s.Shard: a first pass over the
// input counts its records (reading, not encoding them), so the input must
// be files. Any record may start a shard: each is encoded on its own.
func (e *Encoder) shardRange(s Stream) (lo, hi int, err error) {
	if s.Shard.Whole() {
		return 0, math.MaxInt, nil
	}
	if len(s.Paths) == 0 || slices.Contains(s.Paths, "-") {
		return 0, 0, fmt.Errorf("--shard %v: the input must be files (stdin can be read only once, and sharding counts the records first)", s.Shard)
	}
	total := 0
	for _, err := range e.examples(s) {
		if err := s.fatal(err); err != nil {
			return 0, 0, err
		}
		total++
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
