// Command expreport turns the runs of make experiment into the report that
// experiment/PLAN.md describes: the lr chosen per arm on validation
// accuracy, per noise level a table of every metric at the chosen lrs with
// clustered bootstrap intervals, Pareto plots of forgetting against domain
// accuracy, accuracy at a forgetting budget, and H1–H4 with Holm-adjusted
// p-values.
//
//	go run ./tools/expreport [-o DIR] [--resamples 2000] [--seed 1] [--deviations FILE]
//	    [--skip-incomplete] [--resample-seeds] [--lr-rule budget|val] [--final] RUNS
//	go run ./tools/expreport --pack FILE.tar.gz RUNS
//
// RUNS is a folder, or a .tar.gz archive of one that --pack made: the files
// the report reads, each row cut to the fields it reads (a stage's rows,
// committed beside its report in experiment/results/STAGE/runs.tar.gz so
// the report can be made again: experiment/reports.sh). The folder holds
// n<noise>-d<dataseed>-i<initseed>/<arm>/, arm "base" or
// METHOD-lrLR (split on the last "-lr"), each with
//   - evaluate -o's per-answer rows {id, correct, seq_rep_4, truncated,
//     meta: {fact, kind}} in domain.{test,val,trainq,noisy}.samples.jsonl
//     and general.test.samples.jsonl (noisy may be empty or absent; test,
//     val and general are required)
//   - evaluate choices -o's per-question rows {question, candidates,
//     correct, credit} in domain.test.choices.samples.jsonl (optional); fact
//     and kind come from the test answer of the same id, or from the row's
//     meta or top level; k may also be "k" or len(meta.choices)
//   - heldout.json: evaluate's summary with score_mean_loss
//   - optionally curve/checkpoint-N/ (demo CURVE=1): the arm at an earlier
//     epoch end, with domain.test and general.test samples and heldout.json
//
// Writes to -o, all or none: report.md, pareto-n<noise>[-<kind>].png,
// curve-n<noise>.png (runs with curves) and
// results.json: {runs, resamples, resample_seeds, seed, noise_levels,
// data_seeds, init_seeds, budget_loss, budget_kept,
// lr_rule, final, selection: [{arm, noise, chosen_lr, n_val, scores: [{lr, val_accuracy, runs, within_budget}]}],
// cells: [{arm, noise, lr, chosen, runs, metrics: {KEY: {mean, ci_lo, ci_hi} or {mean, min, max}}}],
// curves: [{arm, noise, lr, epochs: [{epoch, domain_accuracy, general_kept, general_loss_change}]}],
// budget: [{arm, noise, accuracy, ci_lo, ci_hi, lr, by_kind}],
// hypotheses: [{id, statement, statistic, prediction, direction, not_run,
// estimate, ci_lo, ci_hi, p, p_holm, verdict, opposite, per_noise}], beside: [{id, statistic, estimate, p}], plots}.
// Metric keys: domain_accuracy[_new|_conflicting|_consistent],
// choice_accuracy_cc, noise_reproduced, train_test_gap, general_accuracy,
// general_kept, general_loss_change, seq_rep_4, general_seq_rep_4,
// no_stop, general_no_stop. A value that was not measured is absent (null).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/ytrain/ytrain/formats"
	"github.com/ytrain/ytrain/internal/cli"
)

func main() {
	os.Exit(cli.Run("expreport", os.Stderr, func() error { return run(os.Args[1:], os.Stderr) }))
}

func run(args []string, stderr io.Writer) error {
	c, err := parseArgs(args, stderr)
	if err != nil || c == nil { // nil: --help
		return err
	}
	if c.pack != "" {
		runs, err := openRuns(c.o.runs)
		if err != nil {
			return err
		}
		if _, _, err := loadRuns(runs, false, nil); err != nil {
			return err
		}
		if err := runs.pack(c.pack); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "expreport: wrote %s from %s\n", c.pack, c.o.runs)
		return nil
	}
	files, err := build(c.o, func(s string) { fmt.Fprintln(stderr, "expreport:", s) })
	if err != nil {
		return err
	}
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		if err := formats.WriteBytes(filepath.Join(c.out, f.name), f.data); err != nil {
			return err
		}
	}
	fmt.Fprintf(stderr, "expreport: wrote %s/report.md, results.json and %d plots\n", c.out, len(files)-2)
	return nil
}

// cmdline is what the arguments ask for: a report of o into out, or (pack
// set) the archive of o's rows.
type cmdline struct {
	o         options
	out, pack string
}

// parseArgs reads the command line; a committed report's is its
// expreport.flags plus RUNS (experiment/reports.sh, TestCommittedReports).
func parseArgs(args []string, stderr io.Writer) (*cmdline, error) {
	fs := pflag.NewFlagSet("expreport", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.StringP("output", "o", "build/experiment/report", "folder for report.md, results.json and the plots (made if missing)")
	pack := fs.String("pack", "", "write the rows the report reads to this .tar.gz (RUNS may be such an archive as well as a folder), and no report")
	resamples := fs.Int("resamples", 2000, "bootstrap resamples")
	seed := fs.Uint64("seed", 1, "seed of the bootstrap's generator")
	deviations := fs.String("deviations", "", "markdown file for the report's Deviations section")
	seeds := fs.Bool("resample-seeds", false, "also draw data and init seeds with replacement in each resample (a sensitivity check; PLAN.md resamples facts only)")
	skip := fs.Bool("skip-incomplete", false, "skip arm folders missing a file (a run still going) instead of failing")
	rule := fs.String("lr-rule", ruleBudget, "budget: PLAN.md's rule 2, the best validation accuracy among the lrs within the forgetting budget; val: rule 1, validation accuracy alone")
	final := fs.Bool("final", false, "PLAN.md revision 2's final comparison: one lr per arm, H1 and H4 on test accuracy at it, curves over epochs")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil, nil
		}
		return nil, err
	}
	if fs.NArg() != 1 {
		return nil, errors.New("usage: expreport [-o DIR] RUNS (a folder or a " + archiveExt + " of one)")
	}
	if *rule != ruleBudget && *rule != ruleVal {
		return nil, fmt.Errorf("--lr-rule %q: want %s or %s", *rule, ruleBudget, ruleVal)
	}
	if *resamples < 100 {
		return nil, fmt.Errorf("--resamples %d: want at least 100", *resamples)
	}
	c := &cmdline{out: *out, pack: *pack,
		o: options{runs: fs.Arg(0), resamples: *resamples, seed: *seed, skipIncomplete: *skip, resampleSeeds: *seeds, rule: *rule, final: *final}}
	if c.pack != "" {
		if *skip {
			return nil, errors.New("--pack: not with --skip-incomplete (the archive would hold the skipped arms' files)")
		}
		if !strings.HasSuffix(c.pack, archiveExt) {
			return nil, fmt.Errorf("--pack %s: want a name ending %s (RUNS reads archives by it)", c.pack, archiveExt)
		}
	}
	if *deviations != "" {
		b, err := os.ReadFile(*deviations)
		if err != nil {
			return nil, err
		}
		c.o.deviations = string(b)
	}
	return c, nil
}

type file struct {
	name string
	data []byte
}

// build reads the runs and makes every output file in memory, so a failure
// leaves nothing behind.
func build(o options, warn func(string)) ([]file, error) {
	fsys, err := openRuns(o.runs)
	if err != nil {
		return nil, err
	}
	runs, reg, err := loadRuns(fsys, o.skipIncomplete, warn)
	if err != nil {
		return nil, err
	}
	e, err := group(runs, reg, o.rule)
	if err != nil {
		return nil, err
	}
	res := e.analyse(o)
	var files []file
	for _, n := range e.noises {
		if e.hasCurves(n) {
			png, err := e.curvePlot(n)
			if err != nil {
				return nil, fmt.Errorf("plot %s: %w", curveName(n), err)
			}
			files = append(files, file{curveName(n), png})
			res.Plots = append(res.Plots, curveName(n))
		}
		if o.final { // one lr per arm: the curves are over epochs, above
			continue
		}
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
