// Command rank: a corpus ordered by the per-token loss
// and entropy curves that score wrote for it, each record with its own
// score, the worst dropped if asked, and a report of the worst and why.
//
//	rank --scores scores.arrow data.jsonl -o ranked.jsonl
package main

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

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

// run is rank, with its arguments and streams: the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return cli.Run("rank", stderr, func() error { return rankMain(args, stdin, stdout, stderr) })
}

func rankMain(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := cli.Flags("rank", usage, stderr)
	var f ranking.Flags
	f.Register(fs)
	out := fs.StringP("output", "o", "", "output file (default stdout); written whole or not at all")
	cli.Alias(fs, "format", "encoding")
	if err := fs.Parse(args); err != nil {
		return err
	}
	f.Records = fs.Args()
	opt, err := f.Finish()
	if err != nil {
		return err
	}
	start := time.Now()
	rk, err := ranking.Rank(opt, stdin)
	if err != nil {
		return err
	}
	if len(rk.Order) == 0 {
		return fmt.Errorf("no record left to write (%d scored, %d dropped)", len(rk.Results), rk.Dropped.Total())
	}
	encoding, err := rk.Records.OutputEncoding(f.Encoding, *out, stdout)
	if err != nil {
		return err
	}
	// the report's WriteFile around the records': a failure in either leaves neither
	err = formats.WriteFile(f.Report, stderr, func(rep io.Writer) error {
		return formats.WriteFile(*out, stdout, func(w io.Writer) error {
			if err := rk.Records.Write(w, encoding, rk.Results, rk.Order); err != nil {
				return err
			}
			return rk.Report(rep, opt.Mode, opt.Plan, f.Worst)
		})
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "rank: %d records scored (%s), %d unscored skipped, %d dropped, %d written; %.1fs\n",
		len(rk.Results), opt.Mode.Mode, rk.Unscored, rk.Dropped.Total(), len(rk.Order), time.Since(start).Seconds())
	return nil
}
