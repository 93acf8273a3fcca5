package generation

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/pflag"

	"github.com/ytrain/ytrain/internal/bpe"
	"github.com/ytrain/ytrain/internal/chat"
	"github.com/ytrain/ytrain/internal/corpus"
	"github.com/ytrain/ytrain/internal/seq"
	"github.com/ytrain/ytrain/internal/torch"
)

// Job is what generate answers and how prompts are rendered.
type Job struct {
	Tokenizer     string // tokenizer.json or folder; "" for the model folder
	Template      string // auto, chatml, or a tokenizer_config.json path
	System        string // system prompt for records without their own
	Thinking      bool   // render with enable_thinking=true
	InputEncoding string // the files' encoding, as corpus.OpenRecords takes it
	BatchSize     int    // prompts per batch

	Paths []string  // prompt files, "-" for Stdin
	Stdin io.Reader // read for "-"
	Log   io.Writer // progress

	tok *bpe.Tokenizer
	tpl *chat.Template
}

// Register binds j to generate's flags.
func (j *Job) Register(fs *pflag.FlagSet) {
	fs.StringVar(&j.Tokenizer, "tokenizer", "", "tokenizer.json or folder (default: the model folder)")
	fs.StringVar(&j.Template, "template", "auto", "chat template: auto, chatml, or a tokenizer_config.json path")
	fs.StringVar(&j.System, "system", "", "system prompt for records without their own")
	fs.BoolVar(&j.Thinking, "thinking", false, "render the template with enable_thinking=true")
	fs.StringVar(&j.InputEncoding, "input-encoding", "auto", "auto, json, jsonl or csv")
	fs.IntVar(&j.BatchSize, "batch-size", 8, "prompts per batch")
}

// Register binds s to the sampling flags.
func (s *Sampling) Register(fs *pflag.FlagSet) {
	fs.Float64Var(&s.Temperature, "temperature", 0, "sampling temperature; 0 = greedy")
	fs.Float64Var(&s.TopP, "top-p", 1, "nucleus sampling mass")
	fs.IntVar(&s.TopK, "top-k", 0, "sample among the k likeliest tokens (0 = all)")
	fs.Int64Var(&s.Seed, "seed", 0, "sampling seed")
}

// Load reads the tokenizer and chat template (from modelDir unless named).
func (j *Job) Load(modelDir string) error {
	if j.Tokenizer == "" {
		j.Tokenizer = modelDir
	}
	var err error
	if j.tok, err = bpe.Load(j.Tokenizer); err != nil {
		return err
	}
	j.tpl, err = chat.Resolve(j.Template, j.Tokenizer)
	return err
}

// Stops are the tokens that end an answer (StopTokens); the model's eos
// ids that are ordinary text are named on log.
func (j *Job) Stops(modelDir string, log io.Writer) (map[int32]bool, error) {
	ids, ignored, err := StopTokens(j.tok, j.tpl, modelDir)
	if err != nil {
		return nil, err
	}
	if len(ignored) > 0 {
		fmt.Fprintf(log, "generate: eos_token_id %v of %s is not a special token of the tokenizer: not a stop token\n", ignored, modelDir)
	}
	stops := map[int32]bool{}
	for _, id := range ids {
		stops[id] = true
	}
	return stops, nil
}

// Answer is one output line.
type Answer struct {
	ID           string          `json:"id"`
	Prompt       string          `json:"prompt"`
	Response     string          `json:"response"`
	Reference    *string         `json:"reference,omitempty"`
	FinishReason string          `json:"finish_reason"` // "stop" or "length" (hit the token limit)
	NTokens      int             `json:"n_tokens"`
	Meta         json.RawMessage `json:"meta,omitempty"`
}

// Run answers every prompt of the job's files in batches and writes the
// answers as JSON Lines to w, in input order; it returns how many.
func (g *Generator) Run(j Job, w io.Writer) (int, error) {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	start := time.Now()
	var batch []*corpus.Example
	var prompts [][]int32
	n := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		var res []Result
		err := torch.Catch(func() (err error) {
			res, err = g.Generate(prompts)
			return err
		})
		if err != nil {
			return fmt.Errorf("answering %s: %w", names(batch), err)
		}
		for i, ex := range batch {
			a := Answer{ID: ex.ID, Prompt: ex.Messages[len(ex.Messages)-1].Content, Response: j.tok.Decode(res[i].Tokens),
				FinishReason: res[i].Finish, NTokens: len(res[i].Tokens), Meta: ex.Meta}
			if ex.Reference != "" {
				a.Reference = &ex.Reference
			}
			if err := enc.Encode(a); err != nil {
				return err
			}
		}
		n += len(batch)
		fmt.Fprintf(j.Log, "generate: %d answered, %.1f tokens/s\n", n, float64(g.Generated)/time.Since(start).Seconds())
		batch, prompts = batch[:0], prompts[:0]
		return nil
	}
	lim := g.M.Cfg.Limits()
	for ex, err := range corpus.Examples(j.Paths, j.InputEncoding, j.Stdin, corpus.Prompt) {
		if err != nil {
			return n, err
		}
		ids, err := j.render(ex)
		if err != nil {
			return n, err
		}
		if err := lim.Check(seq.FromIDs(ids)); err != nil {
			return n, fmt.Errorf("%s: record %q: the prompt's %w", ex.Where, ex.ID, err)
		}
		batch, prompts = append(batch, ex), append(prompts, ids)
		if len(batch) == j.BatchSize {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	if err := flush(); err != nil {
		return n, err
	}
	if n == 0 {
		return 0, errors.New("no prompt to answer")
	}
	return n, nil
}

// names lists a batch's records for messages.
func names(batch []*corpus.Example) string {
	if len(batch) == 1 {
		return fmt.Sprintf("record %q (%s)", batch[0].ID, batch[0].Where)
	}
	return fmt.Sprintf("records %q … %q (%s …)", batch[0].ID, batch[len(batch)-1].ID, batch[0].Where)
}

// render is the prompt's tokens: its turns in the chat template, with the
// job's system prompt when it has none of its own.
func (j *Job) render(ex *corpus.Example) ([]int32, error) {
	msgs := ex.Messages
	if j.System != "" && msgs[0].Role != "system" {
		msgs = append([]chat.Message{{Role: "system", Content: j.System}}, msgs...)
	}
	text, err := j.tpl.Render(msgs, true, chat.Options{EnableThinking: j.Thinking})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ex.Where, err)
	}
	return j.tok.Encode(text), nil
}
