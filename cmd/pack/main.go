// Command pack: token records laid end to end into
// fixed-length rows with per-document segments, positions and loss masks.
//
//	tokenize --tokenizer MODEL_DIR --objective cpt corpus.txt | pack --pack-length 4096 -o packed.arrow
package main

import (
	_ "embed"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ytrain/ytrain/formats"
	"github.com/ytrain/ytrain/internal/cli"
	"github.com/ytrain/ytrain/internal/packing"
)

//go:embed usage.txt
var usage string

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

// run is pack, with its arguments and streams: the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return cli.Run("pack", stderr, func() error { return packMain(args, stdin, stdout, stderr) })
}

func packMain(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := cli.Flags("pack", usage, stderr)
	var o packing.Options
	length := fs.Int("pack-length", 0, "tokens per packed row (required)")
	strategy := fs.String("strategy", "next-fit", "next-fit keeps input order (a ranked curriculum survives); best-fit packs tighter")
	fs.BoolVar(&o.Truncate, "truncate", false, "cut documents longer than --pack-length instead of splitting them into chunks")
	fs.Int32Var(&o.PadID, "pad-id", 0, "input id written on padding (never attended, never a target)")
	fs.IntVar(&o.OpenRows, "open-rows", 64, "best-fit: rows kept open at once")
	out := fs.StringP("output", "o", "", "output file (default stdout); written whole or not at all")
	encoding := fs.String("encoding", "", "arrow or jsonl (default: arrow unless stdout is a terminal or -o ends in other than .arrow)")
	cli.Alias(fs, "format", "encoding")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var err error
	o.Length = *length
	if o.Strategy, err = packing.ParseStrategy(*strategy); err != nil {
		return err
	}
	sink, err := formats.NewSink(*out, *encoding, stdout)
	if err != nil {
		return err
	}
	start := time.Now()
	var st packing.Stats
	err = formats.WriteRecords(sink, formats.PackedCodec, func(w *formats.Writer[formats.Packed]) error {
		st, err = packing.Run(o, cli.Inputs(fs), stdin, w.Write)
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "pack: %d documents → %d rows of %d (fill %.1f%%); %d split into chunks (%d targets lost at chunk starts), %d tokens truncated; %.1fs\n",
		st.Docs, st.Rows, o.Length, 100*float64(st.Tokens)/float64(max(1, st.Tokens+st.Padding)), st.Split, st.LostTargets, st.TruncatedTokens, time.Since(start).Seconds())
	return nil
}
