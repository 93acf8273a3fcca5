// Command pack lays token records end to end into fixed-length rows with
// per-document segments, positions and loss masks.
//
//	tokenize --tokenizer MODEL_DIR --kind cpt corpus.txt | pack --pack-length 4096 -o packed.arrow
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/ytrain/ytrain/formats"
	"github.com/ytrain/ytrain/internal/packing"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "pack:", err)
		os.Exit(1)
	}
}

func run() error {
	fs := pflag.NewFlagSet("pack", pflag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: pack --pack-length N [flags] [FILE ...]\n\nReads token records (Arrow or JSON Lines) from FILEs or stdin.\n\n")
		fs.PrintDefaults()
	}
	var (
		length   = fs.Int("pack-length", 0, "tokens per packed row (required)")
		strategy = fs.String("strategy", "next-fit", "next-fit keeps input order (a ranked curriculum survives); best-fit packs tighter")
		truncate = fs.Bool("truncate", false, "cut documents longer than --pack-length instead of splitting them into chunks")
		padID    = fs.Int32("pad-id", 0, "input id written on padding (never attended, never a target)")
		openRows = fs.Int("open-rows", 64, "best-fit: rows kept open at once")
		out      = fs.StringP("output", "o", "", "output file (default stdout); written whole or not at all")
		format   = fs.String("format", "", "arrow or jsonl (default: arrow unless stdout is a terminal or -o ends in other than .arrow)")
	)
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil
		}
		return err
	}
	strat, err := packing.ParseStrategy(*strategy)
	if err != nil {
		return err
	}
	enc, err := formats.OutputFormat(*format, *out, os.Stdout)
	if err != nil {
		return err
	}
	start := time.Now()
	o, err := formats.CreateOutput(*out, os.Stdout)
	if err != nil {
		return err
	}
	defer o.Abort()
	w := formats.NewWriter(o, enc, formats.PackedCodec)
	p, err := packing.New(packing.Options{Length: *length, Strategy: strat, Truncate: *truncate, PadID: *padID, OpenRows: *openRows}, w.Write)
	if err != nil {
		return err
	}
	in := formats.OpenInputs(fs.Args(), os.Stdin, formats.TokenCodec)
	defer in.Close()
	for {
		rec, err := in.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if err := p.Add(rec); err != nil {
			return err
		}
	}
	if err := p.Flush(); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := o.Commit(); err != nil {
		return err
	}
	st := p.Stats
	fmt.Fprintf(os.Stderr, "pack: %d documents → %d rows of %d (fill %.1f%%); %d split into chunks (%d targets lost at chunk starts), %d tokens truncated; %.1fs\n",
		st.Docs, st.Rows, *length, 100*float64(st.Tokens)/float64(max(1, st.Tokens+st.Padding)), st.Split, st.LostTargets, st.TruncatedTokens, time.Since(start).Seconds())
	return nil
}
