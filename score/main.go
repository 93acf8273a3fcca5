// Command score writes, for every document of a token or packed stream, the
// per-target loss and entropy curves of a Hugging Face model: the input of
// rank, and evaluate's cheap forgetting measure.
//
//	tokenize --tokenizer MODEL data.jsonl | score --model MODEL -o scores.arrow
package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/spf13/pflag"

	"github.com/ytrain/ytrain/formats"
	"github.com/ytrain/ytrain/internal/model"
	"github.com/ytrain/ytrain/internal/scoring"
	"github.com/ytrain/ytrain/internal/torch"
)

func main() {
	runtime.LockOSThread() // libtorch's grad mode and gotch's errors are per OS thread
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "score:", err)
		os.Exit(1)
	}
}

func run() error {
	fs := pflag.NewFlagSet("score", pflag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: score --model DIR [flags] [FILE ...]\n\nReads token or packed records (Arrow or JSON Lines) from FILEs or stdin.\n\n")
		fs.PrintDefaults()
	}
	var (
		modelDir    = fs.String("model", "", "Hugging Face model folder: config.json + safetensors (required)")
		batchTokens = fs.Int("batch-tokens", 4096, "padded tokens per forward pass (several documents per batch)")
		device      = fs.String("device", "cpu", "cpu, cuda or cuda:N")
		dtype       = fs.String("dtype", "auto", "compute dtype: auto (f32 on CPU, the checkpoint's on GPU), f32, bf16 or f16")
		promptFree  = fs.Bool("prompt-free", false, "also score each answer without its prompt (for rank --mode ifd)")
		threads     = fs.Int("threads", 0, "libtorch CPU threads (0: libtorch's default)")
		out         = fs.StringP("output", "o", "", "output file (default stdout); written whole or not at all")
		format      = fs.String("format", "", "arrow or jsonl (default: arrow unless stdout is a terminal or -o ends in other than .arrow)")
	)
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil
		}
		return err
	}
	if *modelDir == "" {
		return errors.New("--model is required")
	}
	if *batchTokens <= 0 {
		return fmt.Errorf("--batch-tokens %d: want a positive number", *batchTokens)
	}
	enc, err := formats.OutputFormat(*format, *out, os.Stdout)
	if err != nil {
		return err
	}
	m, err := model.OpenInference(*modelDir, *device, *dtype, *threads)
	if err != nil {
		return err
	}
	defer m.Close()
	start := time.Now() // throughput excludes loading the model

	o, err := formats.CreateOutput(*out, os.Stdout)
	if err != nil {
		return err
	}
	defer o.Abort()
	w := formats.NewWriter(o, enc, formats.ScoreCodec)
	docs := 0
	sc := &scoring.Scorer{M: m, BatchTokens: *batchTokens, PromptFree: *promptFree,
		Emit: func(s *formats.Score) error { docs++; return w.Write(s) }}
	paths := fs.Args()
	if len(paths) == 0 {
		paths = []string{"-"}
	}
	vocab := int32(m.Cfg.Vocab)
	for _, p := range paths {
		if err := readInput(p, sc, vocab); err != nil {
			return err
		}
	}
	if err := sc.Close(); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := o.Commit(); err != nil {
		return err
	}
	el := time.Since(start).Seconds()
	fmt.Fprintf(os.Stderr, "score: %d documents, %d tokens in %.1fs (%.0f tokens/s, %s)\n", docs, sc.Tokens, el, float64(sc.Tokens)/el, torch.ShimInfo())
	return nil
}

// readInput feeds one file (or stdin) of token or packed records to sc.
func readInput(path string, sc *scoring.Scorer, vocab int32) error {
	var r io.Reader = os.Stdin
	name := "stdin"
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		r, name = f, path
	}
	br := bufio.NewReaderSize(r, 1<<16)
	kind, err := formats.PeekKind(br)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	switch kind {
	case formats.TokenCodec.Kind:
		return formats.Each(br, name, formats.TokenCodec, func(rec *formats.Token) error {
			if err := inVocab(rec.InputIDs, vocab); err != nil {
				return fmt.Errorf("record %q: %w", rec.ID, err)
			}
			return sc.AddToken(rec)
		})
	case formats.PackedCodec.Kind:
		return formats.Each(br, name, formats.PackedCodec, func(rec *formats.Packed) error {
			if err := inVocab(rec.InputIDs, vocab); err != nil {
				return err
			}
			return sc.AddPacked(rec)
		})
	}
	return fmt.Errorf("%s: %s records cannot be scored (want token or packed records)", name, kind)
}

// inVocab catches data tokenized for another model before libtorch does.
func inVocab(ids []int32, vocab int32) error {
	for i, id := range ids {
		if id >= vocab {
			return fmt.Errorf("input_ids[%d] = %d is outside the model's vocabulary of %d (tokenized for another model?)", i, id, vocab)
		}
	}
	return nil
}
