// Command trainbpe trains a small byte-level BPE tokenizer and writes it as Hugging Face
// tokenizer.json and tokenizer_config.json. Each line of a text file is a text (its line
// break kept); each line of a .jsonl file is an object whose "text" field is one.
//
//	go run ./tools/trainbpe --vocab-size 2048 -o /tmp/tok corpus.txt
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/ytrain/ytrain/internal/bpe"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "trainbpe:", err)
		os.Exit(1)
	}
}

func run() error {
	var o bpe.TrainOptions
	fs := pflag.NewFlagSet("trainbpe", pflag.ContinueOnError)
	fs.IntVar(&o.VocabSize, "vocab-size", 2048, "total vocabulary: 256 byte tokens, merges and special tokens")
	fs.IntVar(&o.MinFrequency, "min-frequency", 2, "fewest occurrences of a pair to merge it")
	fs.StringSliceVar(&o.Special, "special", []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>"}, "special tokens, ids after the vocab")
	fs.StringVar(&o.Pattern, "pattern", bpe.Qwen2Pattern, "pre-tokenizer split regex")
	fs.StringVar(&o.EOS, "eos", "<|im_end|>", "eos_token of tokenizer_config.json")
	fs.StringVar(&o.Pad, "pad", "<|endoftext|>", "pad_token of tokenizer_config.json")
	fs.IntVar(&o.ModelMaxLength, "model-max-length", 2048, "model_max_length of tokenizer_config.json")
	out := fs.StringP("output", "o", "", "folder to write (required)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil
		}
		return err
	}
	if *out == "" || fs.NArg() == 0 {
		return errors.New("usage: trainbpe [flags] -o DIR FILE...")
	}
	var texts []string
	for _, path := range fs.Args() {
		var err error
		if texts, err = readTexts(path, texts); err != nil {
			return err
		}
	}
	start := time.Now()
	t, err := bpe.Train(slices.Values(texts), o)
	if err != nil {
		return err
	}
	if err := bpe.WriteTokenizer(*out, t); err != nil {
		return err
	}
	tok, err := bpe.Load(*out)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "trainbpe: %d tokens in %s (%.1fs)\n", tok.VocabSize(), *out, time.Since(start).Seconds())
	return nil
}

// readTexts appends the texts of one file to texts.
func readTexts(path string, texts []string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	jsonl := strings.HasSuffix(path, ".jsonl")
	for n, line := range strings.SplitAfter(string(data), "\n") {
		if !jsonl {
			if line != "" {
				texts = append(texts, line)
			}
			continue
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		var rec struct {
			Text string `json:"text"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n+1, err)
		}
		texts = append(texts, rec.Text)
	}
	return texts, nil
}
