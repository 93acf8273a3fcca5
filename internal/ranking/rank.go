// Package ranking orders a corpus by its per-token loss and entropy curves
// (the records `score` writes), re-creating Y-Trainer's sort tool with its
// bugs fixed: scores land on their own records, curves are aligned, constant
// curves are defined, the direction is spelled out, and records can be mixed
// across difficulty strata instead of running easy → hard.
package ranking

import (
	"errors"
	"fmt"
	"io"

	"github.com/ytrain/ytrain/formats"
)

// Options is one rank run.
type Options struct {
	Scores       []string // score record files ("-" is stdin)
	Records      []string // the records to reorder
	Mode         ModeOptions
	Plan         Plan
	SkipUnscored bool // drop records without a score (counted) instead of failing
}

// Ranking is a finished run: the records, each one's result, and the order.
type Ranking struct {
	Records  *Records
	Results  []Result // Results[i] belongs to Records.List[i]
	Order    []int    // indices into Records.List, as written
	Dropped  Dropped
	Unscored int // records skipped for want of a score
}

// Rank scores, joins by id, filters and orders.
func Rank(opt Options, stdin io.Reader) (*Ranking, error) {
	if len(opt.Records) == 0 {
		return nil, errors.New("no records given: name the data file or token records that were scored")
	}
	if len(opt.Scores) == 0 {
		return nil, errors.New("--scores is required: the output of score for these records")
	}
	if stdinCount(opt.Scores)+stdinCount(opt.Records) > 1 {
		return nil, errors.New(`stdin ("-") can be read once: give either the scores or the records there`)
	}
	score, err := NewRule(opt.Mode)
	if err != nil {
		return nil, err
	}
	byID, ids, err := readScores(opt.Scores, stdin, score)
	if err != nil {
		return nil, err
	}
	recs, err := ReadRecords(opt.Records, stdin)
	if err != nil {
		return nil, err
	}
	rk := &Ranking{Records: recs}
	kept := recs.List[:0]
	seen := make(map[string]string, len(recs.List))
	for _, r := range recs.List {
		if first, dup := seen[r.ID]; dup {
			return nil, fmt.Errorf("%s: duplicate id %q (first at %s): ids must be unique, rank joins scores on them", r.Where, r.ID, first)
		}
		seen[r.ID] = r.Where
		s, ok := byID[r.ID]
		if !ok {
			if opt.SkipUnscored {
				rk.Unscored++
				continue
			}
			return nil, fmt.Errorf("%s: record %q has no score (was it skipped when tokenizing?); --skip-unscored drops such records", r.Where, r.ID)
		}
		kept = append(kept, r)
		rk.Results = append(rk.Results, s.res)
	}
	recs.List = kept
	if len(kept) < len(byID) {
		for _, id := range ids {
			if _, ok := seen[id]; !ok {
				return nil, fmt.Errorf("%s: %d score records match no record, e.g. %q: are these the scores of these records?",
					byID[id].where, len(byID)-len(kept), id)
			}
		}
	}
	rk.Order, rk.Dropped = Arrange(rk.scoreList(), opt.Plan)
	return rk, nil
}

func stdinCount(paths []string) int {
	n := 0
	for _, p := range paths {
		if p == "-" {
			n++
		}
	}
	return n
}

type scored struct {
	res   Result
	where string
}

// readScores scores every record as it is read, keeping only the results
// (the curves can be large); ids lists the ids in input order.
func readScores(paths []string, stdin io.Reader, score Rule) (map[string]scored, []string, error) {
	in := formats.OpenInputs(paths, stdin, formats.ScoreCodec)
	defer in.Close()
	byID := map[string]scored{}
	var ids []string
	for s, err := range in.All() {
		if err != nil {
			return nil, nil, err
		}
		if first, dup := byID[s.ID]; dup {
			return nil, nil, fmt.Errorf("%s: duplicate score for id %q (first at %s)", in.Where(), s.ID, first.where)
		}
		res, err := score(s)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", in.Where(), err)
		}
		byID[s.ID] = scored{res, in.Where()}
		ids = append(ids, s.ID)
	}
	return byID, ids, nil
}
