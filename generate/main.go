// Command generate answers prompts with a Hugging Face model and writes
// {id, prompt, response, reference?, finish_reason, n_tokens} JSON Lines for
// evaluate.
//
//	generate --model MODEL test.jsonl -o answers.jsonl && evaluate answers.jsonl
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/spf13/pflag"

	"github.com/ytrain/ytrain/formats"
	"github.com/ytrain/ytrain/internal/bpe"
	"github.com/ytrain/ytrain/internal/chat"
	"github.com/ytrain/ytrain/internal/corpus"
	"github.com/ytrain/ytrain/internal/generation"
	"github.com/ytrain/ytrain/internal/model"
)

func main() {
	runtime.LockOSThread() // libtorch's grad mode and gotch's errors are per OS thread
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "generate:", err)
		os.Exit(1)
	}
}

// answer is one output line.
type answer struct {
	ID           string          `json:"id"`
	Prompt       string          `json:"prompt"`
	Response     string          `json:"response"`
	Reference    *string         `json:"reference,omitempty"`
	FinishReason string          `json:"finish_reason"` // "stop" or "length" (hit --max-new-tokens)
	NTokens      int             `json:"n_tokens"`
	Meta         json.RawMessage `json:"meta,omitempty"`
}

func run() error {
	fs := pflag.NewFlagSet("generate", pflag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: generate --model DIR [flags] [FILE ...]\n\n"+
			"Reads prompts in tokenize --kind sft's forms (alpaca, messages, prompt/response; JSON, JSONL, CSV);\n"+
			"a final assistant turn is kept as the reference, not shown to the model.\n\n")
		fs.PrintDefaults()
	}
	var (
		modelDir  = fs.String("model", "", "Hugging Face model folder (required)")
		tokPath   = fs.String("tokenizer", "", "tokenizer.json or folder (default: the model folder)")
		tplFlag   = fs.String("template", "auto", "chat template: auto, chatml, or a tokenizer_config.json path")
		system    = fs.String("system", "", "system prompt for records without their own")
		thinking  = fs.Bool("thinking", false, "render the template with enable_thinking=true")
		inFormat  = fs.String("input-format", "auto", "auto, json, jsonl or csv")
		maxNew    = fs.Int("max-new-tokens", 256, "answer length limit in tokens")
		temp      = fs.Float64("temperature", 0, "sampling temperature; 0 = greedy")
		topP      = fs.Float64("top-p", 1, "nucleus sampling mass")
		topK      = fs.Int("top-k", 0, "sample among the k likeliest tokens (0 = all)")
		seed      = fs.Int64("seed", 0, "sampling seed")
		batchSize = fs.Int("batch-size", 8, "prompts per batch")
		device    = fs.String("device", "cpu", "cpu, cuda or cuda:N")
		dtype     = fs.String("dtype", "auto", "auto (f32 on CPU, the checkpoint's on GPU), f32, bf16 or f16")
		threads   = fs.Int("threads", 0, "libtorch CPU threads (0: libtorch's default)")
		out       = fs.StringP("output", "o", "", "output JSON Lines file (default stdout); written whole or not at all")
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
	if *maxNew <= 0 || *batchSize <= 0 || *temp < 0 || *topP <= 0 || *topP > 1 || *topK < 0 {
		return errors.New("want --max-new-tokens and --batch-size > 0, --temperature ≥ 0, 0 < --top-p ≤ 1, --top-k ≥ 0")
	}
	if *tokPath == "" {
		*tokPath = *modelDir
	}
	tok, err := bpe.Load(*tokPath)
	if err != nil {
		return err
	}
	tpl, err := chat.Resolve(*tplFlag, *tokPath)
	if err != nil {
		return err
	}
	m, err := model.OpenInference(*modelDir, *device, *dtype, *threads)
	if err != nil {
		return err
	}
	defer m.Close()
	g := &generation.Generator{M: m, MaxNew: *maxNew, Stops: stopTokens(tok, tpl, m.Cfg),
		Sampling: generation.Sampling{Temperature: *temp, TopK: *topK, TopP: *topP, Seed: *seed}}

	o, err := formats.CreateOutput(*out, os.Stdout)
	if err != nil {
		return err
	}
	defer o.Abort()
	enc := json.NewEncoder(o)
	enc.SetEscapeHTML(false)
	start := time.Now()
	var batch []*corpus.Example
	var prompts [][]int32
	n := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		res, err := g.Generate(prompts)
		if err != nil {
			return err
		}
		for i, ex := range batch {
			a := answer{ID: ex.ID, Prompt: ex.Messages[len(ex.Messages)-1].Content, Response: tok.Decode(res[i].Tokens),
				FinishReason: res[i].Finish, NTokens: len(res[i].Tokens), Meta: ex.Meta}
			if ex.Reference != "" {
				a.Reference = &ex.Reference
			}
			if err := enc.Encode(a); err != nil {
				return err
			}
		}
		n += len(batch)
		fmt.Fprintf(os.Stderr, "generate: %d answered, %.1f tokens/s\n", n, float64(g.Generated)/time.Since(start).Seconds())
		batch, prompts = batch[:0], prompts[:0]
		return nil
	}
	paths := fs.Args()
	if len(paths) == 0 {
		paths = []string{"-"}
	}
	for _, p := range paths {
		r, err := corpus.Open(p, *inFormat, os.Stdin, corpus.Prompt)
		if err != nil {
			return err
		}
		for {
			ex, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				r.Close()
				return err
			}
			msgs := ex.Messages
			if *system != "" && msgs[0].Role != "system" {
				msgs = append([]chat.Message{{Role: "system", Content: *system}}, msgs...)
			}
			text, err := tpl.Render(msgs, true, chat.Options{EnableThinking: *thinking})
			if err != nil {
				r.Close()
				return fmt.Errorf("%s: %w", ex.Where, err)
			}
			batch, prompts = append(batch, ex), append(prompts, tok.Encode(text))
			if len(batch) == *batchSize {
				if err := flush(); err != nil {
					r.Close()
					return err
				}
			}
		}
		r.Close()
	}
	if err := flush(); err != nil {
		return err
	}
	if n == 0 {
		return errors.New("no prompt to answer")
	}
	if err := o.Commit(); err != nil {
		return err
	}
	el := time.Since(start).Seconds()
	fmt.Fprintf(os.Stderr, "generate: %d prompts, %d tokens in %.1fs (%.1f tokens/s)\n", n, g.Generated, el, float64(g.Generated)/el)
	return nil
}

// stopTokens are the template's end of turn, the tokenizer config's EOS and
// the model config's eos_token_id(s).
func stopTokens(tok *bpe.Tokenizer, tpl *chat.Template, cfg *model.Config) map[int32]bool {
	stops := map[int32]bool{}
	for _, s := range []string{tpl.EndOfTurn(), tpl.EOS()} {
		if id, ok := tok.TokenID(s); ok && s != "" {
			stops[id] = true
		}
	}
	for _, id := range cfg.EOSTokenID {
		stops[int32(id)] = true
	}
	return stops
}
