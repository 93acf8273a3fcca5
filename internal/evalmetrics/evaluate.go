package evalmetrics

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"

	"github.com/ytrain/ytrain/internal/corpus"
)

// Sample is one generated answer, as generate writes it: {"id", "prompt",
// "response", "reference"?, "finish_reason"?, "n_tokens"?}.
type Sample struct {
	ID           string
	Response     string
	Reference    *string // nil: no reference to score against
	FinishReason string  // "stop", "length" or "" when absent
	NTokens      *int    // generated tokens, when the producer says
}

// ReadSamples reads JSON Lines from paths ("-" is stdin), taking the answer
// from field. A record without an "id" (string or number) is named FILE:N,
// N its 1-based position. add is called for each sample in order.
func ReadSamples(paths []string, stdin io.Reader, field string, add func(Sample) error) error {
	for _, p := range paths {
		if err := readSampleFile(p, stdin, field, add); err != nil {
			return err
		}
	}
	return nil
}

func readSampleFile(path string, stdin io.Reader, field string, add func(Sample) error) error {
	rs, err := corpus.OpenRecords(path, "jsonl", stdin)
	if err != nil {
		return err
	}
	defer rs.Close()
	for {
		rec, err := rs.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		s, err := sample(rec, field)
		if err == nil {
			err = add(s)
		}
		if err != nil {
			return fmt.Errorf("%s: %v", rec.Where, err)
		}
	}
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
	return s, nil
}

// Options selects the measures.
type Options struct {
	Encode       func(string) []int32 // --unit token: the model's tokenizer; nil: words
	MaxNewTokens int                  // 0: unknown
	FormatRegex  *regexp.Regexp       // nil: not measured
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
}

// Evaluator accumulates measures over samples; only the distinct-n sets
// grow with the input.
type Evaluator struct {
	opt                                Options
	n, length                          int
	seqRep                             [MaxN]float64
	distinct                           [MaxN]distinct
	truncated, known, formatOK, jsonOK int
	withRef, correct                   int
}

func NewEvaluator(opt Options) *Evaluator { return &Evaluator{opt: opt} }

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
	r := Result{ID: s.ID, Length: len(units)}
	reps := [MaxN]*float64{&r.SeqRep1, &r.SeqRep2, &r.SeqRep3, &r.SeqRep4}
	for n := 1; n <= MaxN; n++ {
		*reps[n-1] = SeqRep(units, n)
		e.seqRep[n-1] += *reps[n-1]
		e.distinct[n-1].add(units, n)
	}
	e.n++
	e.length += len(units)
	if t, ok := e.truncatedAt(s, ids); ok {
		r.Truncated = &t
		e.known++
		if t {
			e.truncated++
		}
	}
	if e.opt.FormatRegex != nil {
		ok := e.opt.FormatRegex.MatchString(s.Response)
		r.FormatMatch = &ok
		if ok {
			e.formatOK++
		}
	}
	if e.opt.Schema != nil {
		err := e.opt.Schema.ValidateText(s.Response)
		ok := err == nil
		r.JSONValid = &ok
		if ok {
			e.jsonOK++
		} else {
			r.JSONError = err.Error()
		}
	}
	if s.Reference != nil {
		ok, err := e.opt.Matcher.Match(s.Response, *s.Reference)
		if err != nil {
			return r, err
		}
		r.Correct = &ok
		e.withRef++
		if ok {
			e.correct++
		}
	}
	return r, nil
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

// Summary is evaluate's JSON summary; either part may be absent.
type Summary struct {
	*Responses
	*HeldOut
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
func (e *Evaluator) Summary() *Responses {
	if e.n == 0 {
		return nil
	}
	n := float64(e.n)
	r := &Responses{Samples: e.n, Unit: "word", MeanLength: float64(e.length) / n,
		TruncatedKnown: e.known, TruncatedShare: share(e.truncated, e.known), WithReference: e.withRef,
		Accuracy: share(e.correct, e.withRef)}
	if e.opt.Encode != nil {
		r.Unit = "token"
	}
	reps := [MaxN]*float64{&r.SeqRep1, &r.SeqRep2, &r.SeqRep3, &r.SeqRep4}
	dist := [MaxN]*float64{&r.Distinct1, &r.Distinct2, &r.Distinct3, &r.Distinct4}
	for i := range MaxN {
		*reps[i] = e.seqRep[i] / n
		*dist[i] = e.distinct[i].value()
	}
	if e.opt.FormatRegex != nil {
		r.FormatShare = share(e.formatOK, e.n)
	}
	if e.opt.Schema != nil {
		r.JSONValidShare = share(e.jsonOK, e.n)
	}
	return r
}
