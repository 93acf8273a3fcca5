// Command generate: a Hugging Face model answers
// prompts, written as {id, prompt, response, reference?, finish_reason,
// n_tokens} JSON Lines for evaluate.
//
//	generate --model MODEL test.jsonl -o answers.jsonl && evaluate answers.jsonl
package main

import (
	_ "embed"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"github.com/ytrain/ytrain/formats"
	"github.com/ytrain/ytrain/internal/cli"
	"github.com/ytrain/ytrain/internal/generation"
	"github.com/ytrain/ytrain/internal/model"
)

//go:embed usage.txt
var usage string

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

// run is generate, with its arguments and streams: the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return cli.Run("generate", stderr, func() error { return generateMain(args, stdin, stdout, stderr) })
}

func generateMain(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := cli.Flags("generate", usage, stderr)
	var (
		tf  cli.Torch
		job generation.Job
		sp  generation.Sampling
	)
	modelDir := fs.String("model", "", "Hugging Face model folder (required)")
	job.Register(fs)
	maxNew := fs.Int("max-new-tokens", 256, "answer length limit in tokens")
	sp.Register(fs)
	tf.Register(fs)
	out := fs.StringP("output", "o", "", "output JSON Lines file (default stdout); written whole or not at all")
	cli.Alias(fs, "input-format", "input-encoding")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *modelDir == "" {
		return errors.New("--model is required")
	}
	if *maxNew <= 0 || job.BatchSize <= 0 || !(sp.Temperature >= 0) || math.IsInf(sp.Temperature, 0) || !(sp.TopP > 0 && sp.TopP <= 1) || sp.TopK < 0 {
		return errors.New("want --max-new-tokens and --batch-size > 0, --temperature ≥ 0, 0 < --top-p ≤ 1, --top-k ≥ 0")
	}
	if err := job.Load(*modelDir); err != nil {
		return err
	}
	m, err := model.OpenInference(*modelDir, tf.Device, tf.DType, tf.Threads)
	if err != nil {
		return err
	}
	defer m.Close()
	stops, err := job.Stops(*modelDir, stderr)
	if err != nil {
		return err
	}
	g := &generation.Generator{M: m, MaxNew: *maxNew, Sampling: sp, Stops: stops}
	job.Paths, job.Stdin, job.Log = cli.Inputs(fs), stdin, stderr
	start := time.Now()
	n := 0
	err = formats.WriteFile(*out, stdout, func(w io.Writer) error {
		n, err = g.Run(job, w)
		return err
	})
	if err != nil {
		return err
	}
	el := time.Since(start).Seconds()
	fmt.Fprintf(stderr, "generate: %d prompts, %d tokens in %.1fs (%.1f tokens/s)\n", n, g.Generated, el, float64(g.Generated)/el)
	return nil
}
