// Command evaluate: generated answers measured
// (repetition, diversity, length, truncation, answer format, JSON schema, accuracy),
// the held-out loss of score records, multiple-choice accuracy by
// log-likelihood, and runs compared side by side. It never links libtorch.
//
//	evaluate --format-regex '[A-D]' --match exact generated.jsonl > ft.json
//	evaluate --match value --by meta.kind answers.jsonl > ft.json
//	evaluate choices --scores choice_scores.arrow choices.jsonl > ft_mc.json
//	evaluate compare base.json ft.json --plot charts/
package main

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ytrain/ytrain/internal/cli"
	"github.com/ytrain/ytrain/internal/evalmetrics"
)

//go:embed usage.txt
var usage string

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

// run is evaluate (or evaluate compare, evaluate choices), with its
// arguments and streams: the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return cli.Run("evaluate", stderr, func() error {
		if len(args) > 0 && args[0] == "compare" {
			return compare(args[1:], stdout, stderr)
		}
		if len(args) > 0 && args[0] == "choices" {
			return choices(args[1:], stdin, stdout, stderr)
		}
		return evaluate(args, stdin, stdout, stderr)
	})
}

func evaluate(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := cli.Flags("evaluate", usage, stderr)
	var f evalmetrics.Flags
	f.Register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	f.Inputs = fs.Args()
	start := time.Now()
	job, err := f.Finish()
	if err != nil {
		return err
	}
	sum, err := job.Run(stdin, stdout)
	if err != nil {
		return err
	}
	if err := printSummary(stdout, sum); err != nil {
		return err
	}
	n := 0
	if sum.Responses != nil {
		n = sum.Samples
	}
	fmt.Fprintf(stderr, "evaluate: %d answers", n)
	if sum.HeldOut != nil {
		fmt.Fprintf(stderr, ", %d held-out documents (ppl %.4g)", sum.Documents, sum.PPL)
	}
	fmt.Fprintf(stderr, "; %.1fs\n", time.Since(start).Seconds())
	return nil
}

// printSummary writes a summary to stdout as indented JSON.
func printSummary(stdout io.Writer, sum any) error {
	b, err := json.MarshalIndent(sum, "", "  ")
	if err != nil {
		return err
	}
	_, err = stdout.Write(append(b, '\n'))
	return err
}
