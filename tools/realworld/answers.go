package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ytrain/ytrain/internal/corpus"
	"github.com/ytrain/ytrain/internal/evalmetrics"
)

// Mix answers the base gives are replayed only when they ended by
// themselves and do not loop: a replayed loop would teach looping.
const mixMaxSeqRep3 = 0.2

// baseView is what the base's answers to probe.jsonl say.
type baseView struct {
	right map[string]int    // real fact id → paraphrases answered right
	ck    map[int]bool      // common-knowledge question → answered right
	mix   map[string]string // mix id → the base's answer, when replayable
	// counts for the summary
	ckRight, mixKept int
}

// readBase reads generate's answers to probe.jsonl (one file or several,
// ids unique) and judges them as evaluate would: real facts by --match
// value against their pool, common knowledge by its rules. Every probe
// question must be answered, so a cut-off file is an error, not a smaller
// world.
func readBase(u *universe, paths []string) (*baseView, error) {
	type answer struct {
		ID           string `json:"id"`
		Response     string `json:"response"`
		FinishReason string `json:"finish_reason"`
	}
	got := map[string]answer{}
	for _, p := range paths {
		err := corpus.EachRecord(p, "jsonl", nil, func(rec *corpus.Record) error {
			var a answer
			if err := json.Unmarshal(rec.Raw, &a); err != nil {
				return err
			}
			if _, dup := got[a.ID]; dup {
				return fmt.Errorf("answer %q appears twice", a.ID)
			}
			got[a.ID] = a
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	want := probe(u)
	var missing []string
	for _, q := range want {
		if _, ok := got[q.ID]; !ok {
			missing = append(missing, q.ID)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("--base-answers: %d of %d probe questions have no answer (first: %s): answer all of probe.jsonl", len(missing), len(want), missing[0])
	}
	v := &baseView{right: map[string]int{}, ck: map[int]bool{}, mix: map[string]string{}}
	for _, f := range u.real {
		for p := range paraphrases {
			resp := got[probeID(f, p)].Response
			if evalmetrics.MatchValue(evalmetrics.Normalize(resp), evalmetrics.Normalize(f.truth), f.pool) {
				v.right[f.id()]++
			}
		}
	}
	for i, c := range commonKnowledge {
		chk, err := evalmetrics.ParseCheck(ckCheck(c.answer))
		if err != nil {
			return nil, err // the tests parse every rule
		}
		if chk.Accepts(got[ckID(i)].Response) {
			v.ck[i] = true
			v.ckRight++
		}
	}
	for i := range mixPrompts() {
		a := got[mixID(i)]
		resp := strings.TrimSpace(a.Response)
		if a.FinishReason == "stop" && resp != "" && evalmetrics.SeqRep(evalmetrics.Words(resp), 3) <= mixMaxSeqRep3 {
			v.mix[mixID(i)] = resp
			v.mixKept++
		}
	}
	return v, nil
}

// known are the real facts the base states on at least min of their
// paraphrases: the candidates for conflicting and consistent facts.
func (v *baseView) known(u *universe, min int) []*fact {
	var out []*fact
	for _, f := range u.real {
		if v.right[f.id()] >= min {
			out = append(out, f)
		}
	}
	return out
}
