// Command tinymodel writes a small random Hugging Face checkpoint for tests,
// benchmarks and demos: config.json + model.safetensors, plus the tokenizer
// files of --tokenizer (whose vocabulary then sets the model's).
//
//	go run ./tools/tinymodel --arch Qwen3ForCausalLM --tokenizer ../shared/tokenizers/qwen3 -o /tmp/tiny
package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/ytrain/ytrain/internal/bpe"
	"github.com/ytrain/ytrain/internal/chat"
	"github.com/ytrain/ytrain/internal/cli"
	"github.com/ytrain/ytrain/internal/tinymodel"
)

const usage = "usage: tinymodel -o DIR [flags]\n\nWrites a small random Hugging Face checkpoint: config.json + model.safetensors,\nplus the tokenizer files of --tokenizer (whose vocabulary then sets the model's):\ntokenizer.json, tokenizer_config.json and chat_template.jinja.\n\n"

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

// run is tinymodel, with its arguments and streams: the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return cli.Run("tinymodel", stderr, func() error { return write(args, stderr) })
}

func write(args []string, stderr io.Writer) error {
	var s tinymodel.Spec
	fs := cli.Flags("tinymodel", usage, stderr)
	fs.StringVar(&s.Arch, "arch", "Qwen3ForCausalLM", "LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM or Qwen3ForCausalLM")
	fs.IntVar(&s.Vocab, "vocab", 256, "vocabulary size (ignored with --tokenizer)")
	fs.IntVar(&s.Hidden, "hidden", 64, "hidden size")
	fs.IntVar(&s.Layers, "layers", 2, "decoder layers")
	fs.IntVar(&s.Heads, "heads", 4, "attention heads")
	fs.IntVar(&s.KVHeads, "kv-heads", 2, "key/value heads")
	fs.IntVar(&s.Inter, "intermediate", 128, "MLP size")
	fs.IntVar(&s.HeadDim, "head-dim", 0, "head dimension (default hidden/heads)")
	fs.BoolVar(&s.Tied, "tied", false, "tie lm_head to the embeddings")
	fs.StringVar(&s.DType, "dtype", "F32", "F32 or BF16")
	fs.Int64Var(&s.Seed, "seed", 0, "random seed")
	fs.Float64Var(&s.InitStd, "init-std", 0, "std of every weight matrix, norms at 1 (pre-training from scratch); 0: 1/√fan_in")
	tok := fs.String("tokenizer", "", "tokenizer.json or model folder to copy in")
	out := fs.StringP("output", "o", "", "model folder to write (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("-o is required")
	}
	if s.InitStd < 0 || math.IsNaN(s.InitStd) {
		return fmt.Errorf("--init-std %g: want 0 or more", s.InitStd)
	}
	if *tok != "" {
		t, err := bpe.Load(*tok)
		if err != nil {
			return err
		}
		s.Vocab = t.VocabSize()
		// the ids the tokenizer's config names: generate stops at eos
		s.BOS, s.EOS = nil, nil
		if id, ok := t.TokenID("<|endoftext|>"); ok {
			s.BOS = ptr(int(id))
		}
		if tpl, err := chat.Load(*tok); err == nil && tpl.EOS() != "" {
			if id, ok := t.TokenID(tpl.EOS()); ok {
				s.EOS = ptr(int(id))
			}
		}
		dir := *tok
		if st, err := os.Stat(dir); err == nil && !st.IsDir() {
			dir = filepath.Dir(dir)
		}
		if err := os.MkdirAll(*out, 0o755); err != nil {
			return err
		}
		// transformers 5 keeps the chat template in chat_template.jinja
		for _, f := range []string{"tokenizer.json", "tokenizer_config.json", "chat_template.jinja"} {
			b, err := os.ReadFile(filepath.Join(dir, f))
			if errors.Is(err, os.ErrNotExist) && f != "tokenizer.json" {
				continue
			}
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(*out, f), b, 0o644); err != nil {
				return err
			}
		}
	}
	return tinymodel.Write(*out, s)
}

func ptr(v int) *int { return &v }
