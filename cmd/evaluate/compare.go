package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/ytrain/ytrain/internal/cli"
	"github.com/ytrain/ytrain/internal/evalmetrics"
)

// compare tables several evaluate summaries and plots training logs.
func compare(args []string, stdout, stderr io.Writer) error {
	fs := cli.Flags("evaluate compare", usage, stderr)
	plotDir := fs.String("plot", "", "write PNG charts of the metrics and of the training logs' curves into this folder")
	if err := fs.Parse(args); err != nil {
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
		if err := evalmetrics.CompareTable(stdout, runs); err != nil {
			return err
		}
	}
	if *plotDir != "" {
		files, err := evalmetrics.Plot(*plotDir, runs, curves)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "evaluate compare: %d charts in %s\n", len(files), *plotDir)
	}
	return nil
}
