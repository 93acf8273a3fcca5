// Command tokenize: SFT conversations, pre-training
// text or plain text become token records (ids plus loss mask) with a
// model's own tokenizer and chat template, exactly as Hugging Face
// tokenizers would.
//
//	tokenize --tokenizer MODEL_DIR data.jsonl | pack --pack-length 4096 > packed.arrow
package main

import (
	_ "embed"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/ytrain/ytrain/formats"
	"github.com/ytrain/ytrain/internal/cli"
	"github.com/ytrain/ytrain/internal/encode"
	"github.com/ytrain/ytrain/internal/shard"
)

//go:embed usage.txt
var usage string

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

// run is tokenize, with its arguments and streams: the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return cli.Run("tokenize", stderr, func() error { return tokenizeMain(args, stdin, stdout, stderr) })
}

func tokenizeMain(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := cli.Flags("tokenize", usage, stderr)
	var o encode.Config
	o.Register(fs)
	workers := fs.Int("workers", runtime.NumCPU(), "parallel encoders (output order is input order)")
	skipBad := fs.Bool("skip-invalid", false, "count and skip malformed records instead of failing")
	out := fs.StringP("output", "o", "", "output file (default stdout); written whole or not at all")
	encoding := fs.String("encoding", "", "arrow or jsonl (default: arrow unless stdout is a terminal or -o ends in other than .arrow)")
	shardArg := fs.String("shard", "", "i/n: encode only part i of n of the records, into -o NAME-0000i-of-0000n.EXT (default: RANK/WORLD_SIZE under torchrun)")
	cli.Alias(fs, "kind", "objective")
	cli.Alias(fs, "format", "encoding")
	cli.Alias(fs, "input-format", "input-encoding")
	if err := fs.Parse(args); err != nil {
		return err
	}
	sh, err := shard.Resolve(*shardArg, os.Getenv)
	if err != nil {
		return err
	}
	*out = sh.Output(*out)
	sink, err := formats.NewSink(*out, *encoding, stdout)
	if err != nil {
		return err
	}
	start := time.Now()
	enc, err := o.Finish()
	if err != nil {
		return err
	}
	var st encode.Stats
	err = formats.WriteRecords(sink, formats.TokenCodec, func(w *formats.Writer[formats.Token]) error {
		st, err = enc.Run(encode.Stream{Paths: cli.Inputs(fs), InputEncoding: o.InputEncoding, Stdin: stdin,
			Workers: *workers, SkipInvalid: *skipBad, Log: stderr, Shard: sh}, w)
		if err == nil && st.Written == 0 && sh.Whole() { // a shard may be empty; the whole input may not
			err = fmt.Errorf("no record left to write (%d read: %d empty answers, %d too long, %d invalid)",
				st.Read, st.EmptyAnswer, st.TooLong, st.Invalid)
		}
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "tokenize: %d records read, %d written (%d tokens, %d targets); skipped %d empty answers, %d over --max-len, %d invalid; %.1fs\n",
		st.Read, st.Written, st.Tokens, st.Targets, st.EmptyAnswer, st.TooLong, st.Invalid, time.Since(start).Seconds())
	return nil
}
