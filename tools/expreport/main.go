// Command expreport turns the runs of make experiment into the report that
// experiment/PLAN.md describes: the lr chosen per arm on validation
// accuracy, per noise level a table of every metric at the chosen lrs with
// clustered bootstrap intervals, Pareto plots of forgetting against domain
// accuracy, accuracy at a forgetting budget, and H1–H4 with Holm-adjusted
// p-values.
//
//	go run ./tools/expreport [-o experiment/out] [--resamples 2000] [--seed 1] [--deviations FILE]
//	    [--skip-incomplete] [--resample-seeds] RUNS
//
// RUNS holds n<noise>-d<dataseed>-i<initseed>/<arm>/, arm "base" or
// METHOD-lrLR (split on the last "-lr"), each with evaluate's per-answer
// files (domain.{test,val,trainq,noisy}.samples.jsonl,
// general.test.samples.jsonl; rows {correct, seq_rep_4, truncated,
// meta.fact, meta.kind}), domain.test.choices.samples.jsonl (one row per
// question: {question, correct, k, fact, kind}) and heldout.json
// (score_mean_loss). Writes report.md, results.json and
// pareto-n<noise>[-<kind>].png to -o, all or none.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/ytrain/ytrain/formats"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "expreport:", err)
		os.Exit(1)
	}
}

func run(args []string, stderr io.Writer) error {
	fs := pflag.NewFlagSet("expreport", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.StringP("output", "o", "experiment/out", "folder for report.md, results.json and the plots (made if missing)")
	resamples := fs.Int("resamples", 2000, "bootstrap resamples")
	seed := fs.Uint64("seed", 1, "seed of the bootstrap's generator")
	deviations := fs.String("deviations", "", "markdown file for the report's Deviations section")
	seeds := fs.Bool("resample-seeds", false, "also draw data and init seeds with replacement in each resample (a sensitivity check; PLAN.md resamples facts only)")
	skip := fs.Bool("skip-incomplete", false, "skip arm folders missing a file (a run still going) instead of failing")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: expreport [-o DIR] RUNS_DIR")
	}
	if *resamples < 100 {
		return fmt.Errorf("--resamples %d: want at least 100", *resamples)
	}
	o := options{runs: fs.Arg(0), resamples: *resamples, seed: *seed, skipIncomplete: *skip, resampleSeeds: *seeds}
	if *deviations != "" {
		b, err := os.ReadFile(*deviations)
		if err != nil {
			return err
		}
		o.deviations = string(b)
	}
	files, err := build(o, func(s string) { fmt.Fprintln(stderr, "expreport:", s) })
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		if err := formats.WriteBytes(filepath.Join(*out, f.name), f.data); err != nil {
			return err
		}
	}
	fmt.Fprintf(stderr, "expreport: wrote %s/report.md, results.json and %d plots\n", *out, len(files)-2)
	return nil
}

type file struct {
	name string
	data []byte
}

// build reads the runs and makes every output file in memory, so a failure
// leaves nothing behind.
func build(o options, warn func(string)) ([]file, error) {
	runs, reg, err := loadRuns(o.runs, o.skipIncomplete, warn)
	if err != nil {
		return nil, err
	}
	e, err := group(runs, reg)
	if err != nil {
		return nil, err
	}
	res := e.analyse(o)
	var files []file
	for _, n := range e.noises {
		for _, k := range append([]string{""}, kinds...) {
			png, err := e.pareto(n, k)
			if err != nil {
				return nil, fmt.Errorf("plot %s: %w", plotName(n, k), err)
			}
			files = append(files, file{plotName(n, k), png})
			res.Plots = append(res.Plots, plotName(n, k))
		}
	}
	js, err := res.json()
	if err != nil {
		return nil, err
	}
	return append(files, file{"results.json", js}, file{"report.md", []byte(e.markdown(res, o))}), nil
}
