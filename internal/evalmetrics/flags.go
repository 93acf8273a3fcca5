package evalmetrics

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/spf13/pflag"

	"github.com/ytrain/ytrain/formats"
	"github.com/ytrain/ytrain/internal/bpe"
)

// Flags are evaluate's command-line settings: Register binds them, Finish
// makes the Job they describe. Inputs are the files named after the flags.
type Flags struct {
	Inputs      []string
	Field       string
	Unit        string
	Tokenizer   string
	MaxNew      int
	FormatRegex string
	Schema      string
	Match       string
	Normalize   bool
	By          string
	Scores      []string
	Output      string

	fs *pflag.FlagSet // to tell --format-regex '' from none
}

// Register binds f to fs.
func (f *Flags) Register(fs *pflag.FlagSet) {
	f.fs = fs
	fs.StringVar(&f.Field, "field", "response", "the answer's field")
	fs.StringVar(&f.Unit, "unit", "word", "word or token")
	fs.StringVar(&f.Tokenizer, "tokenizer", "", "--unit token: tokenizer.json or a model folder holding one")
	fs.IntVar(&f.MaxNew, "max-new-tokens", 0, "the generation limit, to tell truncated answers (0: from finish_reason only)")
	fs.StringVar(&f.FormatRegex, "format-regex", "", "RE2 pattern every answer should match in full (the answer format)")
	fs.StringVar(&f.Schema, "json-schema", "", "JSON Schema file answers should satisfy")
	fs.StringVar(&f.Match, "match", "exact", "accuracy against reference: exact, contains, regex (reference is a pattern found in the answer), value (the reference and no other of meta.choices, as whole words) or check (the rules in meta.check)")
	fs.BoolVar(&f.Normalize, "normalize", false, "match after folding full-width forms, case and white space")
	fs.StringVar(&f.By, "by", "", "also summarise per value of this field, a dotted path such as meta.kind")
	fs.StringArrayVar(&f.Scores, "scores", nil, "score records of a held-out corpus to summarise (repeatable)")
	fs.StringVarP(&f.Output, "output", "o", "", "per-sample results (JSON Lines); written whole or not at all")
}

// Job is one evaluate run: the answers to measure and how, and the
// held-out score records to summarise.
type Job struct {
	Options
	Inputs    []string // answer files, "-" for stdin; none with only Scores
	Field, By string   // the answer's field; the field to group by ("": none)
	Scores    []string // held-out score records
	Output    string   // per-sample results, JSON Lines; "" for none
}

// Finish checks the flags and makes the Job, loading the tokenizer and
// JSON Schema they name.
func (f *Flags) Finish() (*Job, error) {
	j := &Job{Inputs: f.Inputs, Field: f.Field, By: f.By, Scores: f.Scores, Output: f.Output}
	opt := &j.Options
	var err error
	switch f.Unit {
	case "word":
		if f.Tokenizer != "" {
			return nil, errors.New("--tokenizer is for --unit token")
		}
	case "token":
		if f.Tokenizer == "" {
			return nil, errors.New("--unit token needs --tokenizer")
		}
		tok, err := bpe.Load(f.Tokenizer)
		if err != nil {
			return nil, err
		}
		opt.Encode = tok.Encode
	default:
		return nil, fmt.Errorf("--unit %q: want word or token", f.Unit)
	}
	if f.MaxNew < 0 {
		return nil, fmt.Errorf("--max-new-tokens %d: want 0 or more", f.MaxNew)
	}
	opt.MaxNewTokens = f.MaxNew
	if f.fs.Changed("format-regex") {
		if opt.FormatRegex, err = FullMatch(f.FormatRegex); err != nil {
			return nil, err
		}
	}
	if f.Schema != "" {
		if opt.Schema, err = LoadSchema(f.Schema); err != nil {
			return nil, err
		}
	}
	if opt.Matcher, err = NewMatcher(f.Match, f.Normalize); err != nil {
		return nil, err
	}
	if len(j.Inputs) == 0 && len(j.Scores) == 0 {
		j.Inputs = []string{"-"} // with only --scores, no answers are read
	}
	if slices.Contains(j.Scores, "-") && slices.Contains(j.Inputs, "-") {
		return nil, errors.New(`stdin ("-") can be read once: give either the scores or the answers there`)
	}
	return j, nil
}

// Run measures the answers in j.Inputs and the held-out j.Scores, writes
// the per-sample results to j.Output, and returns the summary.
func (j *Job) Run(stdin io.Reader, stdout io.Writer) (*Summary, error) {
	sum := &Summary{}
	var err error
	if len(j.Scores) > 0 {
		if sum.HeldOut, err = ReadHeldOut(j.Scores, stdin); err != nil {
			return nil, err
		}
	}
	ev := NewEvaluator(j.Options)
	measure := func(w io.Writer) error {
		var enc *json.Encoder
		if w != nil {
			enc = json.NewEncoder(w)
			enc.SetEscapeHTML(false)
		}
		if len(j.Inputs) == 0 {
			return nil
		}
		return ReadSamples(j.Inputs, stdin, j.Field, j.By, func(s Sample) error {
			r, err := ev.Add(s)
			if err != nil || enc == nil {
				return err
			}
			return enc.Encode(r)
		})
	}
	if j.Output != "" {
		err = formats.WriteFile(j.Output, stdout, measure)
	} else {
		err = measure(nil)
	}
	if err != nil {
		return nil, err
	}
	sum.Responses = ev.Summary()
	sum.By = ev.Groups()
	return sum, nil
}
