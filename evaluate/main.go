// Command evaluate measures generated answers (repetition, diversity,
// length, truncation, format, JSON schema, accuracy) and the held-out loss
// of score records, and compares runs side by side. It never links libtorch.
//
//	evaluate --format-regex '[A-D]' --match exact generated.jsonl > ft.json
//	evaluate compare base.json ft.json --plot charts/
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/ytrain/ytrain/formats"
	"github.com/ytrain/ytrain/internal/bpe"
	"github.com/ytrain/ytrain/internal/evalmetrics"
)

const usage = `usage: evaluate [flags] [FILE ...]
       evaluate compare [--plot DIR] SUMMARY.json ... [metrics.jsonl ...]

Reads generate output, JSON Lines {"id", "prompt", "response", "reference"?,
"finish_reason"?, "n_tokens"?} (any JSON Lines with an answer field: --field),
from FILEs or stdin; writes a JSON summary to stdout and, with -o, one JSON
line of measures per sample.

Units (--unit word): a word is a run of letters, digits and combining marks;
each CJK ideograph, kana and hangul syllable counts alone; any other
non-space character is its own unit. Case is kept. --unit token counts the
model's token ids (--tokenizer).

  seq_rep_N    mean over answers of 1 − unique N-grams / N-grams (0 for an
               answer with no N-gram), N = 1..4: repetition inside answers
  distinct_N   unique / total N-grams over all answers: diversity across them
  mean_length  units per answer
  truncated_share  share of answers that hit --max-new-tokens without ending,
               among those where it is known: finish_reason "length" (any
               other finish_reason: ended), else n_tokens ≥ --max-new-tokens,
               else with --unit token the answer's token count ≥ it
  format_share share of answers --format-regex matches in full (RE2)
  json_valid_share  share of answers that are one JSON value valid against
               --json-schema (subset: type, properties, required, items,
               enum, additionalProperties; other keywords are refused)
  accuracy     share of answers with a "reference" that match it (--match)
  score_*      with --scores: documents, targets, mean loss over all targets,
               ppl = exp(mean loss), mean entropy of score records (a
               held-out general corpus scored by the base and by the
               fine-tuned model: the rise is a cheap forgetting measure)

compare: a markdown table of several summaries, each after the first with
its difference from the first; --plot DIR writes a PNG bar chart per metric
and, from training logs (files named *.jsonl, e.g. runs/ft/metrics.jsonl:
one JSON object per line, numbers over "step"), a line chart per field.

`

func main() {
	var err error
	if len(os.Args) > 1 && os.Args[1] == "compare" {
		err = compare(os.Args[2:])
	} else {
		err = run(os.Args[1:])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "evaluate:", err)
		os.Exit(1)
	}
}

func newFlags(name string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(os.Stderr, usage)
		fs.PrintDefaults()
	}
	return fs
}

func run(args []string) error {
	fs := newFlags("evaluate")
	var (
		field     = fs.String("field", "response", "the answer's field")
		unit      = fs.String("unit", "word", "word or token")
		tokPath   = fs.String("tokenizer", "", "--unit token: tokenizer.json or a model folder holding one")
		maxNew    = fs.Int("max-new-tokens", 0, "the generation limit, to tell truncated answers (0: from finish_reason only)")
		formatRE  = fs.String("format-regex", "", "RE2 pattern every answer should match in full")
		schema    = fs.String("json-schema", "", "JSON Schema file answers should satisfy")
		match     = fs.String("match", "exact", "accuracy against reference: exact, contains or regex (reference is a pattern found in the answer)")
		normalize = fs.Bool("normalize", false, "match after folding full-width forms, case and white space")
		scores    = fs.StringArray("scores", nil, "score records of a held-out corpus to summarise (repeatable)")
		out       = fs.StringP("output", "o", "", "per-sample results (JSON Lines); written whole or not at all")
	)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil
		}
		return err
	}
	var opt evalmetrics.Options
	var err error
	switch *unit {
	case "word":
		if *tokPath != "" {
			return errors.New("--tokenizer is for --unit token")
		}
	case "token":
		if *tokPath == "" {
			return errors.New("--unit token needs --tokenizer")
		}
		tok, err := bpe.Load(*tokPath)
		if err != nil {
			return err
		}
		opt.Encode = tok.Encode
	default:
		return fmt.Errorf("--unit %q: want word or token", *unit)
	}
	if *maxNew < 0 {
		return fmt.Errorf("--max-new-tokens %d: want 0 or more", *maxNew)
	}
	opt.MaxNewTokens = *maxNew
	if fs.Changed("format-regex") {
		if opt.FormatRegex, err = evalmetrics.FullMatch(*formatRE); err != nil {
			return err
		}
	}
	if *schema != "" {
		if opt.Schema, err = evalmetrics.LoadSchema(*schema); err != nil {
			return err
		}
	}
	if opt.Matcher, err = evalmetrics.NewMatcher(*match, *normalize); err != nil {
		return err
	}
	inputs := fs.Args()
	if len(inputs) == 0 && len(*scores) == 0 {
		inputs = []string{"-"} // with only --scores, no answers are read
	}
	if len(*scores) > 0 && contains(*scores, "-") && contains(inputs, "-") {
		return errors.New(`stdin ("-") can be read once: give either the scores or the answers there`)
	}

	start := time.Now()
	var sum evalmetrics.Summary
	if len(*scores) > 0 {
		if sum.HeldOut, err = evalmetrics.ReadHeldOut(*scores, os.Stdin); err != nil {
			return err
		}
	}
	var o *formats.Output
	var enc *json.Encoder
	if *out != "" {
		if o, err = formats.CreateOutput(*out, os.Stdout); err != nil {
			return err
		}
		defer o.Abort()
		enc = json.NewEncoder(o)
		enc.SetEscapeHTML(false)
	}
	ev := evalmetrics.NewEvaluator(opt)
	if len(inputs) > 0 {
		err = evalmetrics.ReadSamples(inputs, os.Stdin, *field, func(s evalmetrics.Sample) error {
			r, err := ev.Add(s)
			if err != nil || enc == nil {
				return err
			}
			return enc.Encode(r)
		})
		if err != nil {
			return err
		}
	}
	sum.Responses = ev.Summary()
	b, err := json.MarshalIndent(sum, "", "  ")
	if err != nil {
		return err
	}
	if o != nil {
		if err := o.Commit(); err != nil {
			return err
		}
	}
	if _, err := os.Stdout.Write(append(b, '\n')); err != nil {
		return err
	}
	n := 0
	if sum.Responses != nil {
		n = sum.Samples
	}
	fmt.Fprintf(os.Stderr, "evaluate: %d answers", n)
	if sum.HeldOut != nil {
		fmt.Fprintf(os.Stderr, ", %d held-out documents (ppl %.4g)", sum.Documents, sum.PPL)
	}
	fmt.Fprintf(os.Stderr, "; %.1fs\n", time.Since(start).Seconds())
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func compare(args []string) error {
	fs := newFlags("evaluate compare")
	plotDir := fs.String("plot", "", "write PNG charts of the metrics and of the training logs' curves into this folder")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil
		}
		return err
	}
	var runs []evalmetrics.Run
	var curves []evalmetrics.Curve
	for _, p := range fs.Args() {
		if ext := strings.ToLower(filepath.Ext(p)); ext == ".jsonl" || ext == ".ndjson" {
			if *plotDir == "" {
				return fmt.Errorf("%s: training logs are plotted, not tabled: add --plot DIR", p)
			}
			c, err := evalmetrics.ReadCurve(p)
			if err != nil {
				return err
			}
			curves = append(curves, c)
			continue
		}
		r, err := evalmetrics.ReadRun(p)
		if err != nil {
			return err
		}
		runs = append(runs, r)
	}
	if len(runs)+len(curves) == 0 {
		return errors.New("compare: name the summaries (evaluate's JSON output) to compare")
	}
	if len(runs) > 0 {
		if err := evalmetrics.CompareTable(os.Stdout, runs); err != nil {
			return err
		}
	}
	if *plotDir != "" {
		files, err := evalmetrics.Plot(*plotDir, runs, curves)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "evaluate compare: %d charts in %s\n", len(files), *plotDir)
	}
	return nil
}
