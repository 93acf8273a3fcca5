package generation

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/ytrain/ytrain/internal/bpe"
	"github.com/ytrain/ytrain/internal/chat"
)

// StopTokens are the ids that end an answer: the chat template's end of
// turn, the tokenizer's EOS token, and the model's eos_token_id(s) (those of
// generation_config.json in modelDir, else of config.json) that the
// tokenizer holds as special tokens. An id the tokenizer has as ordinary
// text would cut every answer at that text (a tiny test model that claims
// eos 1, the byte-level `"`): it is returned in ignored instead.
func StopTokens(tok *bpe.Tokenizer, tpl *chat.Template, modelDir string) (stops []int32, ignored []int64, err error) {
	for _, s := range []string{tpl.EndOfTurn(), tpl.EOS()} {
		if id, ok := tok.TokenID(s); ok && s != "" && !slices.Contains(stops, id) {
			stops = append(stops, id)
		}
	}
	eos, err := modelEOS(modelDir)
	if err != nil {
		return nil, nil, err
	}
	special := map[int32]bool{}
	for _, a := range tok.AddedTokens() {
		special[a.ID] = a.Special
	}
	for _, id := range eos {
		switch {
		case !special[int32(id)]:
			ignored = append(ignored, id)
		case !slices.Contains(stops, int32(id)):
			stops = append(stops, int32(id))
		}
	}
	slices.Sort(stops)
	return stops, ignored, nil
}

// modelEOS reads eos_token_id (an id or a list) from generation_config.json,
// which transformers' generate uses, else from config.json.
func modelEOS(dir string) ([]int64, error) {
	for _, name := range []string{"generation_config.json", "config.json"} {
		path := filepath.Join(dir, name)
		b, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var c struct {
			EOS json.RawMessage `json:"eos_token_id"`
		}
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(c.EOS) == 0 || string(c.EOS) == "null" {
			continue
		}
		var one int64
		if json.Unmarshal(c.EOS, &one) == nil {
			return []int64{one}, nil
		}
		var ids []int64
		if err := json.Unmarshal(c.EOS, &ids); err != nil {
			return nil, fmt.Errorf("%s: eos_token_id: want an id or a list of ids", path)
		}
		return ids, nil
	}
	return nil, nil
}

// GenerationConfig is the generation_config.json for a model folder made
// from the model in dir that has none: its stop tokens as eos_token_id, so
// that transformers' generate stops where `generate` does. It is nil when
// dir has a generation_config.json (it is copied as is) or no tokenizer.
func GenerationConfig(dir string) ([]byte, error) {
	if _, err := os.Stat(filepath.Join(dir, "generation_config.json")); err == nil {
		return nil, nil
	}
	if _, err := os.Stat(filepath.Join(dir, "tokenizer.json")); err != nil {
		return nil, nil
	}
	tok, err := bpe.Load(dir)
	if err != nil {
		return nil, err
	}
	tpl, err := chat.Resolve("auto", dir)
	if err != nil {
		return nil, err
	}
	stops, _, err := StopTokens(tok, tpl, dir)
	if err != nil || len(stops) == 0 {
		return nil, err
	}
	b, _ := json.MarshalIndent(map[string]any{"eos_token_id": stops}, "", "  ")
	return append(b, '\n'), nil
}
