// Package evaluate is the evaluate command: generated answers measured
// (repetition, diversity, length, truncation, format, JSON schema, accuracy),
// the held-out loss of score records, multiple-choice accuracy by
// log-likelihood, and runs compared side by side. It never links libtorch.
//
//	evaluate --format-regex '[A-D]' --match exact generated.jsonl > ft.json
//	evaluate --match value --by meta.kind answers.jsonl > ft.json
//	evaluate choices --scores choice_scores.arrow choices.jsonl > ft_mc.json
//	evaluate compare base.json ft.json --plot charts/
package evaluate

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/ytrain/ytrain/internal/cli"
	"github.com/ytrain/ytrain/internal/evalmetrics"
)

//go:embed usage.txt
var usage string

// Main runs evaluate (or evaluate compare) with os.Args and exits.
func Main() {
	cli.Main("evaluate", func(args []string) error {
		if len(args) > 0 && args[0] == "compare" {
			return compare(args[1:])
		}
		if len(args) > 0 && args[0] == "choices" {
			return choices(args[1:])
		}
		return run(args)
	})
}

func run(args []string) error {
	fs := cli.Flags("evaluate", usage)
	var f evalmetrics.Flags
	f.Register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	start := time.Now()
	sum, err := f.Run(fs, fs.Args(), os.Stdin, os.Stdout)
	if err != nil {
		return err
	}
	if err := printSummary(sum); err != nil {
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

// printSummary writes a summary to stdout as indented JSON.
func printSummary(sum any) error {
	b, err := json.MarshalIndent(sum, "", "  ")
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(append(b, '\n'))
	return err
}
