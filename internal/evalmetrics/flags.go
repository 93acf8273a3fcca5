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

// Flags are evaluate's command-line settings.
type Flags struct {
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
}

// Register binds f to fs.
func (f *Flags) Register(fs *pflag.FlagSet) {
	fs.StringVar(&f.Field, "field", "response", "the answer's field")
	fs.StringVar(&f.Unit, "unit", "word", "word or token")
	fs.StringVar(&f.Tokenizer, "tokenizer", "", "--unit token: tokenizer.json or a model folder holding one")
	fs.IntVar(&f.MaxNew, "max-new-tokens", 0, "the generation limit, to tell truncated answers (0: from finish_reason only)")
	fs.StringVar(&f.FormatRegex, "format-regex", "", "RE2 pattern every answer should match in full")
	fs.StringVar(&f.Schema, "json-schema", "", "JSON Schema file answers should satisfy")
	fs.StringVar(&f.Match, "match", "exact", "accuracy against reference: exact, contains, regex (reference is a pattern found in the answer), value (the reference and no other of meta.choices, as whole words) or check (the rules in meta.check)")
	fs.BoolVar(&f.Normalize, "normalize", false, "match after folding full-width forms, case and white space")
	fs.StringVar(&f.By, "by", "", "also summarise per value of this field, a dotted path such as meta.kind")
	fs.StringArrayVar(&f.Scores, "scores", nil, "score records of a held-out corpus to summarise (repeatable)")
	fs.StringVarP(&f.Output, "output", "o", "", "per-sample results (JSON Lines); written whole or not at all")
}

// options checks the flags and makes the measures' options.
func (f *Flags) options(fs *pflag.FlagSet) (Options, error) {
	var opt Options
	var err error
	switch f.Unit {
	case "word":
		if f.Tokenizer != "" {
			return opt, errors.New("--tokenizer is for --unit token")
		}
	case "token":
		if f.Tokenizer == "" {
			return opt, errors.New("--unit token needs --tokenizer")
		}
		tok, err := bpe.Load(f.Tokenizer)
		if err != nil {
			return opt, err
		}
		opt.Encode = tok.Encode
	default:
		return opt, fmt.Errorf("--unit %q: want word or token", f.Unit)
	}
	if f.MaxNew < 0 {
		return opt, fmt.Errorf("--max-new-tokens %d: want 0 or more", f.MaxNew)
	}
	opt.MaxNewTokens = f.MaxNew
	if fs.Changed("format-regex") {
		if opt.FormatRegex, err = FullMatch(f.FormatRegex); err != nil {
			return opt, err
		}
	}
	if f.Schema != "" {
		if opt.Schema, err = LoadSchema(f.Schema); err != nil {
			return opt, err
		}
	}
	opt.Matcher, err = NewMatcher(f.Match, f.Normalize)
	return opt, err
}

// Run measures the answers in inputs and the held-out --scores, writes the
// per-sample results to --output, and returns the summary.
func (f *Flags) Run(fs *pflag.FlagSet, inputs []string, stdin io.Reader, stdout io.Writer) (*Summary, error) {
	opt, err := f.options(fs)
	if err != nil {
		return nil, err
	}
	if len(inputs) == 0 && len(f.Scores) == 0 {
		inputs = []string{"-"} // with only --scores, no answers are read
	}
	if slices.Contains(f.Scores, "-") && slices.Contains(inputs, "-") {
		return nil, errors.New(`stdin ("-") can be read once: give either the scores or the answers there`)
	}
	sum := &Summary{}
	if len(f.Scores) > 0 {
		if sum.HeldOut, err = ReadHeldOut(f.Scores, stdin); err != nil {
			return nil, err
		}
	}
	ev := NewEvaluator(opt)
	measure := func(w io.Writer) error {
		var enc *json.Encoder
		if w != nil {
			enc = json.NewEncoder(w)
			enc.SetEscapeHTML(false)
		}
		if len(inputs) == 0 {
			return nil
		}
		return ReadSamples(inputs, stdin, f.Field, f.By, func(s Sample) error {
			r, err := ev.Add(s)
			if err != nil || enc == nil {
				return err
			}
			return enc.Encode(r)
		})
	}
	if f.Output != "" {
		err = formats.WriteFile(f.Output, stdout, measure)
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
