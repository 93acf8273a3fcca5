package generation

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ytrain/ytrain/internal/bpe"
	"github.com/ytrain/ytrain/internal/chat"
	"github.com/ytrain/ytrain/internal/testenv"
)

// qwen3Dir is a model folder's non-weight files: Qwen3's tokenizer and a
// config.json naming eos ids.
func qwen3Dir(t *testing.T, config string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"tokenizer.json", "tokenizer_config.json"} {
		b, err := os.ReadFile(testenv.SharedPath(t, "tokenizers", "qwen3", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// A config's eos id that is ordinary text (1 is `"` in Qwen3's vocabulary)
// is not a stop token; special ones and the template's end of turn are.
func TestStopTokens(t *testing.T) {
	dir := qwen3Dir(t, `{"eos_token_id": [1, 151643]}`)
	tok, err := bpe.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := chat.Resolve("auto", dir)
	if err != nil {
		t.Fatal(err)
	}
	stops, ignored, err := StopTokens(tok, tpl, dir)
	if err != nil {
		t.Fatal(err)
	}
	// <|endoftext|> 151643 (config), <|im_end|> 151645 (end of turn and eos_token)
	if want := []int32{151643, 151645}; !slices.Equal(stops, want) || !slices.Equal(ignored, []int64{1}) {
		t.Fatalf("stops %v, ignored %v; want %v and [1]", stops, ignored, want)
	}

	// generation_config.json, which transformers' generate reads, wins over config.json
	if err := os.WriteFile(filepath.Join(dir, "generation_config.json"), []byte(`{"eos_token_id": 151644}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if stops, _, _ = StopTokens(tok, tpl, dir); !slices.Equal(stops, []int32{151644, 151645}) {
		t.Fatalf("with generation_config.json: stops %v, want [151644 151645]", stops)
	}
}

// A model without generation_config.json gets one naming its stop tokens;
// one that has it keeps its own (nil: copied as is).
func TestGenerationConfig(t *testing.T) {
	dir := qwen3Dir(t, `{"eos_token_id": 1}`)
	b, err := GenerationConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		EOS []int32 `json:"eos_token_id"`
	}
	if err := json.Unmarshal(b, &g); err != nil || !slices.Equal(g.EOS, []int32{151645}) {
		t.Fatalf("generation_config.json %s (%v), want eos_token_id [151645]", b, err)
	}
	os.WriteFile(filepath.Join(dir, "generation_config.json"), []byte(`{}`), 0o644)
	if b, err := GenerationConfig(dir); b != nil || err != nil {
		t.Fatalf("with its own generation_config.json: %s, %v; want nil", b, err)
	}
}
