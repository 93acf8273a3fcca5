// Command score: for every document of a token or
// packed stream, the per-target loss and entropy curves of a Hugging Face
// model — the input of rank, and evaluate's cheap forgetting measure.
//
//	tokenize --tokenizer MODEL data.jsonl | score --model MODEL -o scores.arrow
package main

import (
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ytrain/ytrain/formats"
	"github.com/ytrain/ytrain/internal/cli"
	"github.com/ytrain/ytrain/internal/model"
	"github.com/ytrain/ytrain/internal/scoring"
	"github.com/ytrain/ytrain/internal/seq"
	"github.com/ytrain/ytrain/internal/shard"
	"github.com/ytrain/ytrain/internal/torch"
)

//go:embed usage.txt
var usage string

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

// run is score, with its arguments and streams: the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return cli.Run("score", stderr, func() error { return scoreMain(args, stdin, stdout, stderr) })
}

func scoreMain(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := cli.Flags("score", usage, stderr)
	var tf cli.Torch
	modelDir := fs.String("model", "", "Hugging Face model folder: config.json + safetensors (required)")
	batchTokens := fs.Int("batch-tokens", 4096, "padded tokens per forward pass (several documents per batch)")
	promptFree := fs.Bool("prompt-free", false, "also score each answer without its prompt (for rank --mode ifd)")
	tf.Register(fs)
	out := fs.StringP("output", "o", "", "output file (default stdout); written whole or not at all")
	encoding := fs.String("encoding", "", "arrow or jsonl (default: arrow unless stdout is a terminal or -o ends in other than .arrow)")
	shardArg := fs.String("shard", "", "i/n: score only part i of n of the records, into -o NAME-0000i-of-0000n.EXT (default: RANK/WORLD_SIZE under torchrun)")
	cli.Alias(fs, "format", "encoding")
	if err := fs.Parse(args); err != nil {
		return err
	}
	sh, err := shard.Resolve(*shardArg, os.Getenv)
	if err != nil {
		return err
	}
	*out = sh.Output(*out)
	tf.Device = shard.Device(tf.Device, os.Getenv)
	if *modelDir == "" {
		return errors.New("--model is required")
	}
	if *batchTokens <= 0 {
		return fmt.Errorf("--batch-tokens %d: want a positive number", *batchTokens)
	}
	sink, err := formats.NewSink(*out, *encoding, stdout)
	if err != nil {
		return err
	}
	m, err := model.OpenInference(*modelDir, tf.Device, tf.DType, tf.Threads)
	if err != nil {
		return err
	}
	defer m.Close()
	start := time.Now() // throughput excludes loading the model
	docs := 0
	sc := &scoring.Scorer{M: m, BatchTokens: *batchTokens, PromptFree: *promptFree}
	each := func(p string, fn func(*seq.Seq) error) error { return seq.Each(p, stdin, m.Cfg.Limits(), fn) }
	add, err := scoring.Shard(sc, sh, cli.Inputs(fs), each)
	if err != nil {
		return err
	}
	err = formats.WriteRecords(sink, formats.ScoreCodec, func(w *formats.Writer[formats.Score]) error {
		sc.Emit = func(s *formats.Score) error { docs++; return w.Write(s) }
		for _, p := range cli.Inputs(fs) {
			if err := each(p, add); err != nil {
				return err
			}
		}
		return sc.Close()
	})
	if err != nil {
		return err
	}
	el := time.Since(start).Seconds()
	fmt.Fprintf(stderr, "score: %d documents, %d tokens in %.1fs (%.0f tokens/s, %s)\n", docs, sc.Tokens, el, float64(sc.Tokens)/el, torch.ShimInfo())
	return nil
}
