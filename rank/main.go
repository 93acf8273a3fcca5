// Package rank is the rank command: a corpus ordered by the per-token loss
// and entropy curves that score wrote for it, each record with its own
// score, the worst dropped if asked, and a report of the worst and why.
//
//	rank --scores scores.arrow data.jsonl -o ranked.jsonl
package rank

import (
	_ "embed"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ytrain/ytrain/formats"
	"github.com/ytrain/ytrain/internal/cli"
	"github.com/ytrain/ytrain/internal/ranking"
)

//go:embed usage.txt
var usage string

// Main runs rank with os.Args and exits.
func Main() { cli.Main("rank", run) }

func run(args []string) error {
	fs := cli.Flags("rank", usage)
	var f ranking.Flags
	f.Register(fs)
	out := fs.StringP("output", "o", "", "output file (default stdout); written whole or not at all")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opt, err := f.Options(fs, fs.Args())
	if err != nil {
		return err
	}
	start := time.Now()
	rk, err := ranking.Rank(opt, os.Stdin)
	if err != nil {
		return err
	}
	if len(rk.Order) == 0 {
		return fmt.Errorf("no record left to write (%d scored, %d dropped)", len(rk.Results), rk.Dropped.Total())
	}
	form, err := rk.Records.OutputForm(f.Format, *out, os.Stdout)
	if err != nil {
		return err
	}
	rep, err := formats.CreateOutput(f.Report, os.Stderr)
	if err != nil {
		return err
	}
	defer rep.Abort()
	err = formats.WriteFile(*out, os.Stdout, func(w io.Writer) error {
		if err := rk.Records.Write(w, form, rk.Results, rk.Order); err != nil {
			return err
		}
		return rk.Report(rep, opt.Mode, opt.Plan, f.Worst)
	})
	if err != nil {
		return err
	}
	if err := rep.Commit(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "rank: %d records scored (%s), %d unscored skipped, %d dropped, %d written; %.1fs\n",
		len(rk.Results), opt.Mode.Mode, rk.Unscored, rk.Dropped.Total(), len(rk.Order), time.Since(start).Seconds())
	return nil
}
