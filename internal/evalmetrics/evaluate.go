package evalmetrics

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"

	"github.com/ytrain/ytrain/internal/corpus"
)

// Sample is one generated answer, as generate writes it: {"id", "prompt",
// "response", "reference"?, "finish_reason"?, "n_tokens"?, "meta"?}.
type Sample struct {
	ID           string
	Response     string
	Reference    *string         // nil: no reference to score against
	FinishReason string          // "stop", "length" or "" when absent
	NTokens      *int            // generated tokens, when the producer says
	Meta         json.RawMessage // the question's meta, carried to the results
	Group        *string         // the --by value; nil: not grouped
}

// ReadSamples reads JSON Lines from paths ("-" is stdin), taking the answer
// from field and, when by is set, the group from that dotted path
// ("meta.kind"). A record without an "id" (string or number) is named
// FILE:N, N its 1-based position. add is called for each sample in order.
func ReadSamples(paths []string, stdin io.Reader, field, by string, add func(Sample) error) error {
	for _, p := range paths {
		if err := readSampleFile(p, stdin, field, by, add); err != nil {
			return err
		}
	}
	return nil
}

func readSampleFile(path string, stdin io.Reader, field, by string, add func(Sample) error) error {
	return corpus.EachRecord(path, "jsonl", stdin, func(rec *corpus.Record) error {
		s, err := sample(rec, field)
		if err == nil && by != "" {
			var g string
			g, err = group(rec.Fields, by)
			s.Group = &g
		}
		if err != nil {
			return err
		}
		return add(s)
	})
}

func sample(rec *corpus.Record, field string) (Sample, error) {
	var s Sample
	f := rec.Fields
	if !f.Has(field) {
		return s, fmt.Errorf("no %q field (--field names the answer's field)", field)
	}
	raw, _ := f.Get(field)
	if json.Unmarshal(raw, &s.Response) != nil {
		return s, fmt.Errorf("field %q: want a string, got %s", field, corpus.Clip(raw))
	}
	var err error
	if s.ID, err = rec.ID(); err != nil {
		return s, err
	}
	if ref, ok := f.Get("reference"); ok && string(ref) != "null" {
		r, err := f.Scalar("reference")
		if err != nil {
			return s, err
		}
		s.Reference = &r
	}
	if s.FinishReason, err = f.String("finish_reason"); err != nil {
		return s, err
	}
	if raw, ok := f.Get("n_tokens"); ok && string(raw) != "null" {
		s.NTokens = new(int)
		if json.Unmarshal(raw, s.NTokens) != nil || *s.NTokens < 0 {
			return s, fmt.Errorf(`field "n_tokens": want a count, got %s`, corpus.Clip(raw))
		}
	}
	if m, ok := f.Get("meta"); ok && string(m) != "null" {
		s.Meta = m
	}
	return s, nil
}

// Options selects the measures.
type Options struct {
	Encode       func(string) []int32 // --unit token: the model's tokenizer; nil: words
	MaxNewTokens int                  // 0: unknown
	FormatRegex  *regexp.Regexp       // the answer format; nil: not measured
	Schema       *Schema              // nil: not measured
	Matcher      *Matcher             // accuracy against references
}

// Result is one sample's measures (the -o records).
type Result struct {
	ID          string  `json:"id"`
	Length      int     `json:"length"`
	SeqRep1     float64 `json:"seq_rep_1"`
	SeqRep2     float64 `json:"seq_rep_2"`
	SeqRep3     float64 `json:"seq_rep_3"`
	SeqRep4     float64 `json:"seq_rep_4"`
	Truncated   *bool   `json:"truncated,omitempty"` // absent: unknown
	FormatMatch *bool   `json:"format_match,omitempty"`
	JSONValid   *bool   `json:"json_valid,omitempty"`
	JSONError   string  `json:"json_error,omitempty"`
	Correct     *bool   `json:"correct,omitempty"` // absent: no reference
	Group       *string `json:"group,omitempty"`   // the --by value
	// The answer's meta as generate copied it from the question, so that
	// results can be clustered by fact downstream.
	Meta json.RawMessage `json:"meta,omitempty"`
}

// Evaluator accumulates measures over samples, overall and per --by group;
// only the distinct-n sets grow with the input.
type Evaluator struct {
	opt    Options
	all    tally
	groups map[string]*tally
}

// tally is the running sums of one set of answers.
type tally struct {
	n, length                          int
	seqRep                             [MaxN]float64
	distinct                           [MaxN]distinct
	truncated, known, formatOK, jsonOK int
	withRef, correct                   int
}

func NewEvaluator(opt Options) *Evaluator {
	return &Evaluator{opt: opt, groups: map[string]*tally{}}
}

// Add measures one sample.
func (e *Evaluator) Add(s Sample) (Result, error) {
	var units []string
	var ids []int32
	if e.opt.Encode != nil {
		ids = e.opt.Encode(s.Response)
		units = tokenUnits(ids)
	} else {
		units = Words(s.Response)
	}
	r := Result{ID: s.ID, Length: len(units), Group: s.Group, Meta: s.Meta}
	reps := [MaxN]*float64{&r.SeqRep1, &r.SeqRep2, &r.SeqRep3, &r.SeqRep4}
	for n := 1; n <= MaxN; n++ {
		*reps[n-1] = SeqRep(units, n)
	}
	if t, ok := e.truncatedAt(s, ids); ok {
		r.Truncated = &t
	}
	if e.opt.FormatRegex != nil {
		ok := e.opt.FormatRegex.MatchString(s.Response)
		r.FormatMatch = &ok
	}
	if e.opt.Schema != nil {
		err := e.opt.Schema.ValidateText(s.Response)
		ok := err == nil
		r.JSONValid = &ok
		if !ok {
			r.JSONError = err.Error()
		}
	}
	if s.Reference != nil {
		ok, err := e.opt.Matcher.MatchSample(s.Response, *s.Reference, s.Meta)
		if err != nil {
			return r, err
		}
		r.Correct = &ok
	}
	e.all.add(&r, units)
	if s.Group != nil {
		g := e.groups[*s.Group]
		if g == nil {
			g = &tally{}
			e.groups[*s.Group] = g
		}
		g.add(&r, units)
	}
	return r, nil
}

func (t *tally) add(r *Result, units []string) {
	t.n++
	t.length += r.Length
	reps := [MaxN]float64{r.SeqRep1, r.SeqRep2, r.SeqRep3, r.SeqRep4}
	for n := 1; n <= MaxN; n++ {
		t.seqRep[n-1] += reps[n-1]
		t.distinct[n-1].add(units, n)
	}
	count := func(b *bool, known, yes *int) {
		if b != nil {
			if known != nil {
				*known++
			}
			if *b {
				*yes++
			}
		}
	}
	count(r.Truncated, &t.known, &t.truncated)
	count(r.FormatMatch, nil, &t.formatOK)
	count(r.JSONValid, nil, &t.jsonOK)
	count(r.Correct, &t.withRef, &t.correct)
}

// truncatedAt says whether the answer hit --max-new-tokens without ending:
// the producer's finish_reason ("length") when there is one, else its
// n_tokens ≥ --max-new-tokens, else (--unit token) the answer's own token
// count ≥ --max-new-tokens; unknown otherwise.
func (e *Evaluator) truncatedAt(s Sample, ids []int32) (truncated, known bool) {
	limit := e.opt.MaxNewTokens
	switch {
	case s.FinishReason != "":
		return s.FinishReason == "length", true
	case limit > 0 && s.NTokens != nil:
		return *s.NTokens >= limit, true
	case limit > 0 && e.opt.Encode != nil:
		return len(ids) >= limit, true
	}
	return false, false
}

// Responses is the summary of the answers.
type Responses struct {
	Samples        int      `json:"samples"`
	Unit           string   `json:"unit"`
	MeanLength     float64  `json:"mean_length"`
	SeqRep1        float64  `json:"seq_rep_1"`
	SeqRep2        float64  `json:"seq_rep_2"`
	SeqRep3        float64  `json:"seq_rep_3"`
	SeqRep4        float64  `json:"seq_rep_4"`
	Distinct1      float64  `json:"distinct_1"`
	Distinct2      float64  `json:"distinct_2"`
	Distinct3      float64  `json:"distinct_3"`
	Distinct4      float64  `json:"distinct_4"`
	TruncatedKnown int      `json:"truncated_known"`
	TruncatedShare *float64 `json:"truncated_share,omitempty"` // of the known
	FormatShare    *float64 `json:"format_share,omitempty"`
	JSONValidShare *float64 `json:"json_valid_share,omitempty"`
	WithReference  int      `json:"with_reference"`
	Accuracy       *float64 `json:"accuracy,omitempty"` // of those with a reference
}

// Summary is evaluate's JSON summary; either part may be absent. With --by,
// By holds the answers' summary per group value.
type Summary struct {
	*Responses
	*HeldOut
	By map[string]*Responses `json:"by,omitempty"`
}

func share(k, n int) *float64 {
	if n == 0 {
		return nil
	}
	v := float64(k) / float64(n)
	return &v
}

// Summary returns the means and shares over the samples added; nil when
// there were none.
func (e *Evaluator) Summary() *Responses { return e.summary(&e.all) }

// Groups returns the summary of each --by group; nil without groups.
func (e *Evaluator) Groups() map[string]*Responses {
	if len(e.groups) == 0 {
		return nil
	}
	out := make(map[string]*Responses, len(e.groups))
	for g, t := range e.groups {
		out[g] = e.summary(t)
	}
	return out
}

func (e *Evaluator) summary(t *tally) *Responses {
	if t.n == 0 {
		return nil
	}
	n := float64(t.n)
	r := &Responses{Samples: t.n, Unit: "word", MeanLength: float64(t.length) / n,
		TruncatedKnown: t.known, TruncatedShare: share(t.truncated, t.known), WithReference: t.withRef,
		Accuracy: share(t.correct, t.withRef)}
	if e.opt.Encode != nil {
		r.Unit = "token"
	}
	reps := [MaxN]*float64{&r.SeqRep1, &r.SeqRep2, &r.SeqRep3, &r.SeqRep4}
	dist := [MaxN]*float64{&r.Distinct1, &r.Distinct2, &r.Distinct3, &r.Distinct4}
	for i := range MaxN {
		*reps[i] = t.seqRep[i] / n
		*dist[i] = t.distinct[i].value()
	}
	if e.opt.FormatRegex != nil {
		r.FormatShare = share(t.formatOK, t.n)
	}
	if e.opt.Schema != nil {
		r.JSONValidShare = share(t.jsonOK, t.n)
	}
	return r
}
