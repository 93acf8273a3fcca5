// Command tokenize turns SFT conversations, pre-training text or plain text
// into token records (ids plus loss mask) with a model's own tokenizer and
// chat template, exactly as Hugging Face tokenizers would.
//
//	tokenize --tokenizer MODEL_DIR data.jsonl | pack --pack-length 4096 > packed.arrow
package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/spf13/pflag"

	"github.com/ytrain/ytrain/formats"
	"github.com/ytrain/ytrain/internal/bpe"
	"github.com/ytrain/ytrain/internal/chat"
	"github.com/ytrain/ytrain/internal/corpus"
	"github.com/ytrain/ytrain/internal/encode"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "tokenize:", err)
		os.Exit(1)
	}
}

func run() error {
	fs := pflag.NewFlagSet("tokenize", pflag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: tokenize --tokenizer PATH [flags] [FILE ...]\n\n"+
			"Reads FILEs (or stdin): JSON array, JSON Lines, CSV or text lines.\n"+
			"--kind sft: alpaca, messages/conversations or prompt/response records;\n"+
			"--kind cpt: text (or output) fields or text lines, EOS appended;\n"+
			"--kind text: text fields encoded as is.\n\n")
		fs.PrintDefaults()
	}
	var (
		tokPath  = fs.String("tokenizer", "", "tokenizer.json or a model folder holding one (required)")
		tplFlag  = fs.String("template", "auto", "chat template: auto (the tokenizer folder's tokenizer_config.json, else ChatML), chatml, or a tokenizer_config.json path")
		kindFlag = fs.String("kind", "sft", "sft, cpt or text")
		inFormat = fs.String("input-format", "auto", "auto, json, jsonl, csv or txt")
		trainOn  = fs.String("train-on", "all", "sft: assistant turns to train on: all or last")
		system   = fs.String("system", "", "sft: system prompt for records without their own")
		thinking = fs.Bool("thinking", false, "sft: render the template with enable_thinking=true")
		maxLen   = fs.Int("max-len", 0, "skip records longer than this many tokens (0 = no limit)")
		truncate = fs.Bool("truncate", false, "with --max-len: cut long records instead of skipping them")
		eos      = fs.String("eos", "", "cpt: end-of-document token (default: the tokenizer config's eos_token)")
		workers  = fs.Int("workers", runtime.NumCPU(), "parallel encoders (output order is input order)")
		skipBad  = fs.Bool("skip-invalid", false, "count and skip malformed records instead of failing")
		out      = fs.StringP("output", "o", "", "output file (default stdout); written whole or not at all")
		format   = fs.String("format", "", "arrow or jsonl (default: arrow unless stdout is a terminal or -o ends in other than .arrow)")
	)
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil
		}
		return err
	}
	if *tokPath == "" {
		return errors.New("--tokenizer is required")
	}
	kinds := map[string]corpus.Task{"sft": corpus.SFT, "cpt": corpus.CPT, "text": corpus.Text}
	kind, ok := kinds[*kindFlag]
	if !ok {
		return fmt.Errorf("--kind %q: want sft, cpt or text", *kindFlag)
	}
	if *trainOn != "all" && *trainOn != "last" {
		return fmt.Errorf("--train-on %q: want all or last", *trainOn)
	}
	if *maxLen < 0 {
		return fmt.Errorf("--max-len %d: want 0 (no limit) or more", *maxLen)
	}
	enc, err := formats.OutputFormat(*format, *out, os.Stdout)
	if err != nil {
		return err
	}
	start := time.Now()
	tok, err := bpe.Load(*tokPath)
	if err != nil {
		return err
	}
	tpl, err := chat.Resolve(*tplFlag, *tokPath)
	if err != nil {
		return err
	}
	opt := encode.Options{Task: kind, LastOnly: *trainOn == "last", System: *system, Thinking: *thinking,
		MaxLen: *maxLen, Truncate: *truncate}
	if kind == corpus.CPT {
		if opt.EOS, err = eosID(tok, tpl, *eos); err != nil {
			return err
		}
	}

	o, err := formats.CreateOutput(*out, os.Stdout)
	if err != nil {
		return err
	}
	defer o.Abort()
	w := formats.NewWriter(o, enc, formats.TokenCodec)
	st, err := encode.New(tok, tpl, opt).Run(encode.Stream{Paths: fs.Args(), InputFormat: *inFormat, Stdin: os.Stdin,
		Workers: *workers, SkipInvalid: *skipBad, Log: os.Stderr}, w)
	if err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	if st.Written == 0 {
		return fmt.Errorf("no record left to write (%d read: %d empty answers, %d too long, %d invalid)",
			st.Read, st.EmptyAnswer, st.TooLong, st.Invalid)
	}
	if err := o.Commit(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "tokenize: %d records read, %d written (%d tokens, %d targets); skipped %d empty answers, %d over --max-len, %d invalid; %.1fs\n",
		st.Read, st.Written, st.Tokens, st.Targets, st.EmptyAnswer, st.TooLong, st.Invalid, time.Since(start).Seconds())
	return nil
}

// eosID picks the token that ends a pre-training document: --eos, else the
// config's eos_token, else <|endoftext|> when the vocabulary has it.
func eosID(tok *bpe.Tokenizer, tpl *chat.Template, flag string) (int32, error) {
	name := flag
	if name == "" {
		name = tpl.EOS()
	}
	if name == "" {
		name = "<|endoftext|>"
	}
	id, ok := tok.TokenID(name)
	if !ok {
		return 0, fmt.Errorf("end-of-document token %q is not in the tokenizer's vocabulary; name one with --eos", name)
	}
	return id, nil
}
