package encode

import (
	"errors"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/ytrain/ytrain/internal/bpe"
	"github.com/ytrain/ytrain/internal/chat"
	"github.com/ytrain/ytrain/internal/corpus"
)

// Config is tokenize's flags: what to read and how to shape records.
// Register binds them; Finish makes the Encoder they describe.
type Config struct {
	Tokenizer     string // tokenizer.json or a folder holding one
	Template      string // auto, chatml, or a tokenizer_config.json path
	Objective     string // sft, cpt or text
	InputEncoding string // the files' encoding, as corpus.OpenRecords takes it
	TrainOn       string // sft: all or last
	System        string
	Thinking      bool
	MaxLen        int
	Truncate      bool
	EOS           string // cpt: end-of-document token; "" for the config's
}

// Register binds c to tokenize's flags.
func (c *Config) Register(fs *pflag.FlagSet) {
	fs.StringVar(&c.Tokenizer, "tokenizer", "", "tokenizer.json or a model folder holding one (required)")
	fs.StringVar(&c.Template, "template", "auto", "chat template: auto (the tokenizer folder's tokenizer_config.json, else ChatML), chatml, or a tokenizer_config.json path")
	fs.StringVar(&c.Objective, "objective", "sft", "sft, cpt or text")
	fs.StringVar(&c.InputEncoding, "input-encoding", "auto", "auto, json, jsonl, csv or txt")
	fs.StringVar(&c.TrainOn, "train-on", "all", "sft: assistant turns to train on: all or last")
	fs.StringVar(&c.System, "system", "", "sft: system prompt for records without their own")
	fs.BoolVar(&c.Thinking, "thinking", false, "sft: render the template with enable_thinking=true")
	fs.IntVar(&c.MaxLen, "max-len", 0, "skip records longer than this many tokens (0 = no limit)")
	fs.BoolVar(&c.Truncate, "truncate", false, "with --max-len: cut long records instead of skipping them")
	fs.StringVar(&c.EOS, "eos", "", "cpt: end-of-document token (default: the tokenizer config's eos_token)")
}

var objectives = map[string]corpus.Objective{"sft": corpus.SFT, "cpt": corpus.CPT, "text": corpus.Text}

// Finish checks c and loads the tokenizer and template it names.
func (c *Config) Finish() (*Encoder, error) {
	if c.Tokenizer == "" {
		return nil, errors.New("--tokenizer is required")
	}
	objective, ok := objectives[c.Objective]
	if !ok {
		return nil, fmt.Errorf("--objective %q: want sft, cpt or text", c.Objective)
	}
	if c.TrainOn != "all" && c.TrainOn != "last" {
		return nil, fmt.Errorf("--train-on %q: want all or last", c.TrainOn)
	}
	if c.MaxLen < 0 {
		return nil, fmt.Errorf("--max-len %d: want 0 (no limit) or more", c.MaxLen)
	}
	tok, err := bpe.Load(c.Tokenizer)
	if err != nil {
		return nil, err
	}
	tpl, err := chat.Resolve(c.Template, c.Tokenizer)
	if err != nil {
		return nil, err
	}
	opt := Options{Objective: objective, LastOnly: c.TrainOn == "last", System: c.System, Thinking: c.Thinking,
		MaxLen: c.MaxLen, Truncate: c.Truncate}
	if objective == corpus.CPT {
		if opt.EOS, err = eosID(tok, tpl, c.EOS); err != nil {
			return nil, err
		}
	}
	return New(tok, tpl, opt), nil
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
