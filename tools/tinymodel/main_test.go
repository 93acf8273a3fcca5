package main

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/ytrain/ytrain/internal/testenv"
)

// --tokenizer copies the tokenizer files a transformers 5 folder has, the chat
// template in chat_template.jinja included, and the model's ids are the
// tokenizer's: its vocab size, and the config's eos_token as eos.
func TestTokenizerFiles(t *testing.T) {
	src := t.TempDir()
	files := map[string]string{
		"tokenizer_config.json": `{"eos_token": "<|im_end|>", "tokenizer_class": "TokenizersBackend"}`,
		"chat_template.jinja":   "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}",
	}
	tok, err := os.ReadFile(testenv.SharedPath(t, "tokenizers", "qwen3", "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	files["tokenizer.json"] = string(tok)
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(src, name), []byte(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "model")
	if err := write([]string{"--tokenizer", src, "--hidden", "8", "--layers", "1", "--heads", "2", "--kv-heads", "1", "--intermediate", "16", "-o", out}, io.Discard); err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		if got, err := os.ReadFile(filepath.Join(out, name)); err != nil || string(got) != want {
			t.Errorf("%s not copied (%v)", name, err)
		}
	}
	var cfg struct {
		Vocab int `json:"vocab_size"`
		EOS   int `json:"eos_token_id"`
	}
	b, err := os.ReadFile(filepath.Join(out, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &cfg); err != nil || cfg.Vocab != 151669 || cfg.EOS != 151645 {
		t.Errorf("config.json: vocab %d, eos %d (%v); want Qwen3's 151669 and <|im_end|> 151645", cfg.Vocab, cfg.EOS, err)
	}
}
