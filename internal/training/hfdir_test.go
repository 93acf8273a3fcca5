package training

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ytrain/ytrain/internal/tensorboard"
	"github.com/ytrain/ytrain/internal/testenv"
)

// The folders a run writes are what HF tools expect: an adapter whose base
// is found from any directory, config.json with its numbers as written,
// generation_config.json with the real stop tokens, the base's
// chat_template.jinja, a model card, and no
// file named like HF Trainer's with another schema. Resuming tells
// TensorBoard to forget the steps it logs again.
func TestHFFolders(t *testing.T) {
	lock(t)
	modelDir, data := fixture(t, 4)
	for _, f := range []string{"tokenizer.json", "tokenizer_config.json"} { // Qwen3's: <|im_end|> is 151645
		b, err := os.ReadFile(testenv.SharedPath(t, "tokenizers", "qwen3", f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(modelDir, f), b, 0o644)
	}
	// transformers 5 keeps the chat template beside tokenizer_config.json
	const template = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
	os.WriteFile(filepath.Join(modelDir, "chat_template.jinja"), []byte(template), 0o644)
	cfgPath := filepath.Join(modelDir, "config.json")
	raw, _ := os.ReadFile(cfgPath)
	raw = regexp.MustCompile(`"attention_dropout": 0\b`).ReplaceAll(raw, []byte(`"attention_dropout": 0.0`))
	raw = regexp.MustCompile(`"rope_theta": 10000\b`).ReplaceAll(raw, []byte(`"rope_theta": 10000.0`))
	os.WriteFile(cfgPath, raw, 0o644)

	wd, _ := os.Getwd()
	rel, err := filepath.Rel(wd, modelDir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := baseConfig(rel, data, t.TempDir())
	cfg.Epochs, cfg.Merge, cfg.TensorBoard = 1, true, filepath.Join(cfg.Output, "tb")
	if err := Run(cfg); err != nil {
		t.Fatal(err)
	}
	out := cfg.Output
	read := func(elem ...string) string {
		b, err := os.ReadFile(filepath.Join(append([]string{out}, elem...)...))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	var ac struct {
		Base string `json:"base_model_name_or_path"`
	}
	json.Unmarshal([]byte(read("final", "adapter_config.json")), &ac)
	if ac.Base != modelDir {
		t.Errorf("base_model_name_or_path %q, want the absolute %q (trained with --model %s)", ac.Base, modelDir, rel)
	}
	merged := read("merged", "config.json")
	for _, want := range []string{`"attention_dropout": 0.0,`, `"rope_theta": 10000.0,`, `"torch_dtype": "float32"`} {
		if !strings.Contains(merged, want) {
			t.Errorf("merged/config.json lacks %s:\n%s", want, merged)
		}
	}
	for _, dir := range []string{"final", "merged", "checkpoint-1"} {
		var g struct {
			EOS []int32 `json:"eos_token_id"`
		}
		if err := json.Unmarshal([]byte(read(dir, "generation_config.json")), &g); err != nil || !slices.Equal(g.EOS, []int32{151645}) {
			t.Errorf("%s/generation_config.json: eos_token_id %v (%v), want [151645] (the tiny config's eos 1 is text)", dir, g.EOS, err)
		}
		if got := read(dir, "chat_template.jinja"); got != template {
			t.Errorf("%s/chat_template.jinja is not the base's: %q", dir, got)
		}
		card := read(dir, "README.md")
		for _, want := range []string{"base_model: \"" + modelDir + "\"", "| token weighting | nlirg |", "| steps | 1 (epoch 1.00 of 1) |", "data.jsonl"} {
			if !strings.Contains(card, want) {
				t.Errorf("%s/README.md lacks %q:\n%s", dir, want, card)
			}
		}
	}
	if !strings.Contains(read("final", "README.md"), "library_name: peft") {
		t.Error("the adapter's model card does not name peft")
	}
	ckpt := filepath.Join(out, "checkpoint-1")
	if _, err := os.Stat(filepath.Join(ckpt, "trainer_state.json")); err == nil {
		t.Error("checkpoint has a trainer_state.json that HF Trainer cannot read")
	}

	cfg.Resume, cfg.Epochs, cfg.AllowChanged = ckpt, 2, []string{"epochs"}
	if err := Run(cfg); err != nil {
		t.Fatalf("resuming from %s: %v", stateFile, err)
	}
	if ms := metrics(t, out); len(ms) != 2 || ms[1].Step != 2 {
		t.Fatalf("after resuming: steps %+v, want 1 and 2", ms)
	}
	files, _ := filepath.Glob(filepath.Join(cfg.TensorBoard, "events.out.tfevents.*"))
	if len(files) != 2 {
		t.Fatalf("event files %v, want one per run", files)
	}
	slices.Sort(files)
	evs, err := tensorboard.ReadFile(files[1])
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) < 2 || !evs[1].SessionStart || evs[1].Step != 2 {
		t.Fatalf("the resumed run's events begin %+v, want a session start at step 2", evs[:min(2, len(evs))])
	}
}
