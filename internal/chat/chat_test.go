package chat

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ytrain/ytrain/internal/testenv"
)

type golden struct {
	ID       string    `json:"id"`
	Messages []Message `json:"messages"`
	Full     string    `json:"full"`
	Prompt   string    `json:"prompt"`
}

// fixture loads a model's template and its golden conversations from the shared folder.
func fixture(t *testing.T, model string) (*Template, []golden) {
	t.Helper()
	dir := filepath.Join(testenv.SharedDir(t), "tokenizers")
	tpl, err := Load(filepath.Join(dir, model))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "golden", "chat."+model+".jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var gs []golden
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var g golden
		if err := json.Unmarshal(sc.Bytes(), &g); err != nil {
			t.Fatal(err)
		}
		gs = append(gs, g)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(gs) != 30 {
		t.Fatalf("%s: %d golden conversations, want 30", model, len(gs))
	}
	return tpl, gs
}

var models = []string{"qwen3", "llama3"}

func TestGoldenRender(t *testing.T) {
	for _, model := range models {
		t.Run(model, func(t *testing.T) {
			tpl, gs := fixture(t, model)
			for _, g := range gs {
				full, err := tpl.Render(g.Messages, false, Options{})
				if err != nil {
					t.Fatalf("%s: %v", g.ID, err)
				}
				if full != g.Full {
					t.Errorf("%s full:\n got %q\nwant %q", g.ID, full, g.Full)
				}
				prompt, err := tpl.Render(g.Messages[:len(g.Messages)-1], true, Options{})
				if err != nil {
					t.Fatalf("%s: %v", g.ID, err)
				}
				if prompt != g.Prompt {
					t.Errorf("%s prompt:\n got %q\nwant %q", g.ID, prompt, g.Prompt)
				}
			}
		})
	}
}

func TestEndOfTurn(t *testing.T) {
	if got := ChatML().EndOfTurn(); got != "<|im_end|>" {
		t.Errorf("ChatML: EndOfTurn %q", got)
	}
	want := map[string]string{"qwen3": "<|im_end|>", "llama3": "<|eot_id|>"}
	for _, model := range models {
		tpl, _ := fixture(t, model)
		if got := tpl.EndOfTurn(); got != want[model] {
			t.Errorf("%s: EndOfTurn %q, want %q", model, got, want[model])
		}
	}
}

// renderedAnswer is how the golden templates render an assistant turn's content: Llama 3
// trims it, Qwen3 drops the reasoning of turns before the last user message.
func renderedAnswer(model, content string, last bool) string {
	switch {
	case model == "llama3":
		return strings.TrimSpace(content)
	case !last && strings.Contains(content, "</think>"):
		parts := strings.Split(content, "</think>")
		return strings.TrimLeft(parts[len(parts)-1], "\n")
	}
	return content
}

func renderedUser(model, content string) string {
	if model == "llama3" {
		return strings.TrimSpace(content)
	}
	return content
}

func TestGoldenSpans(t *testing.T) {
	header := map[string]string{
		"qwen3":  "<|im_start|>assistant\n",
		"llama3": "<|start_header_id|>assistant<|end_header_id|>\n\n",
	}
	for _, model := range models {
		t.Run(model, func(t *testing.T) {
			tpl, gs := fixture(t, model)
			eot := tpl.EndOfTurn()
			for _, g := range gs {
				full, spans, err := tpl.Spans(g.Messages, false, Options{})
				if err != nil {
					t.Fatalf("%s: %v", g.ID, err)
				}
				if full != g.Full {
					t.Fatalf("%s: Spans rendered %q, want %q", g.ID, full, g.Full)
				}
				var turns []int
				for i, m := range g.Messages {
					if m.Role == "assistant" {
						turns = append(turns, i)
					}
				}
				if len(spans) != len(turns) {
					t.Fatalf("%s: %d spans, want %d", g.ID, len(spans), len(turns))
				}
				prev, prevTurn := 0, -1
				for j, s := range spans {
					last := j == len(spans)-1
					if s.Turn != turns[j] {
						t.Errorf("%s: span %d is for turn %d, want %d", g.ID, j, s.Turn, turns[j])
					}
					want := renderedAnswer(model, g.Messages[s.Turn].Content, last) + eot
					if got := full[s.Start:s.End]; got != want {
						t.Errorf("%s: span %d = %q, want %q", g.ID, j, got, want)
					}
					if !strings.HasSuffix(full[:s.Start], header[model]) && !strings.HasSuffix(full[:s.Start], g.Prompt) {
						t.Errorf("%s: span %d is not preceded by the assistant header: %q", g.ID, j, full[:s.Start])
					}
					// Everything between the previous span and this one is prompt, the
					// user turns in between included.
					gap := full[prev:s.Start]
					for k := prevTurn + 1; k < s.Turn; k++ {
						if m := g.Messages[k]; m.Role == "user" && !strings.Contains(gap, renderedUser(model, m.Content)) {
							t.Errorf("%s: user turn %d not in the gap before span %d: %q", g.ID, k, j, gap)
						}
					}
					prevTurn = s.Turn
					prev = s.End
				}
				s := spans[len(spans)-1]
				if strings.HasPrefix(g.Full, g.Prompt) {
					if s.Start != len(g.Prompt) {
						t.Errorf("%s: last span starts at %d, want len(prompt) = %d", g.ID, s.Start, len(g.Prompt))
					}
				} else if want := strings.LastIndex(full, header[model]) + len(header[model]); s.Start != want {
					// Qwen3 answers with their own reasoning: trained from the header on.
					t.Errorf("%s: last span starts at %d, want %d (after the header)", g.ID, s.Start, want)
				}
				_, lastOnly, err := tpl.Spans(g.Messages, true, Options{})
				if err != nil || len(lastOnly) != 1 || lastOnly[0] != s {
					t.Errorf("%s: lastOnly spans %v (%v), want [%v]", g.ID, lastOnly, err, s)
				}
			}
		})
	}
}

// spanTexts returns the text of each span.
func spanTexts(full string, spans []Span) []string {
	var out []string
	for _, s := range spans {
		out = append(out, full[s.Start:s.End])
	}
	return out
}

func checkSpans(t *testing.T, tpl *Template, msgs []Message, o Options, wantFull string, want ...string) {
	t.Helper()
	full, spans, err := tpl.Spans(msgs, false, o)
	if err != nil {
		t.Fatal(err)
	}
	if full != wantFull {
		t.Errorf("full:\n got %q\nwant %q", full, wantFull)
	}
	got := spanTexts(full, spans)
	if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
		t.Errorf("spans:\n got %q\nwant %q", got, want)
	}
}

func TestQwen3Reasoning(t *testing.T) {
	tpl, _ := fixture(t, "qwen3")
	t.Run("last turn with reasoning", func(t *testing.T) {
		checkSpans(t, tpl, []Message{{"user", "Q"}, {"assistant", "<think>step</think>\n\nanswer"}}, Options{},
			"<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n<think>\nstep\n</think>\n\nanswer<|im_end|>\n",
			"<think>\nstep\n</think>\n\nanswer<|im_end|>")
	})
	t.Run("reasoning dropped from history", func(t *testing.T) {
		checkSpans(t, tpl, []Message{
			{"user", "Q1"}, {"assistant", "<think>r1</think>\n\nA1"},
			{"user", "Q2"}, {"assistant", "A2"},
		}, Options{},
			"<|im_start|>user\nQ1<|im_end|>\n<|im_start|>assistant\nA1<|im_end|>\n"+
				"<|im_start|>user\nQ2<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nA2<|im_end|>\n",
			"A1<|im_end|>", "A2<|im_end|>")
	})
	t.Run("thinking enabled", func(t *testing.T) {
		// The generation prompt has no empty block, so the rendered one is a target.
		checkSpans(t, tpl, []Message{{"user", "Q"}, {"assistant", "A"}}, Options{EnableThinking: true},
			"<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nA<|im_end|>\n",
			"<think>\n\n</think>\n\nA<|im_end|>")
	})
}

// writeConfig writes a tokenizer_config.json holding cfg into a fresh folder.
func writeConfig(t *testing.T, cfg string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, configName), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func templateConfig(t *testing.T, src string) *Template {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"chat_template": src, "bos_token": "<s>", "eos_token": "</s>"})
	tpl, err := Load(writeConfig(t, string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

func TestLlamaHeaderFallback(t *testing.T) {
	// A Llama-3 style template whose generation prompt adds more than the header, so the
	// prompt is never a prefix: the targets must start after the header's "\n\n".
	tpl := templateConfig(t, `{% for m in messages %}{{ '<|start_header_id|>' + m.role + '<|end_header_id|>\n\n' + m.content + '<|eot_id|>' }}{% endfor %}`+
		`{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n<think></think>' }}{% endif %}`)
	checkSpans(t, tpl, []Message{{"user", "Q1"}, {"assistant", "A1"}, {"user", "Q2"}, {"assistant", "A2"}}, Options{},
		"<|start_header_id|>user<|end_header_id|>\n\nQ1<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nA1<|eot_id|>"+
			"<|start_header_id|>user<|end_header_id|>\n\nQ2<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nA2<|eot_id|>",
		"A1<|eot_id|>", "A2<|eot_id|>")
}

func TestChatML(t *testing.T) {
	msgs := []Message{{"system", "S"}, {"user", "Q1"}, {"assistant", "A1"}, {"user", "Q2"}, {"assistant", "A2"}}
	const full = "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nQ1<|im_end|>\n<|im_start|>assistant\nA1<|im_end|>\n" +
		"<|im_start|>user\nQ2<|im_end|>\n<|im_start|>assistant\nA2<|im_end|>\n"
	checkSpans(t, ChatML(), msgs, Options{}, full, "A1<|im_end|>", "A2<|im_end|>")
	prompt, err := ChatML().Render(msgs[:4], true, Options{})
	if err != nil || prompt != full[:strings.LastIndex(full, "A2")] {
		t.Errorf("prompt %q (%v)", prompt, err)
	}

	// A config without a template falls back to ChatML, with its tokens (an AddedToken
	// object here) available to it.
	tpl, err := Load(filepath.Join(writeConfig(t, `{"bos_token": {"__type": "AddedToken", "content": "<s>"}, "eos_token": "<|im_end|>"}`), configName))
	if err != nil {
		t.Fatal(err)
	}
	if tpl.bos != "<s>" || tpl.eos != "<|im_end|>" {
		t.Errorf("tokens %q %q", tpl.bos, tpl.eos)
	}
	checkSpans(t, tpl, msgs, Options{}, full, "A1<|im_end|>", "A2<|im_end|>")
}

func TestLoadVariants(t *testing.T) {
	const src = "{% for m in messages %}[{{ m.role }}]{{ m.content }}{{ eos_token }}{% endfor %}{% if add_generation_prompt %}[assistant]{% endif %}"
	list, _ := json.Marshal(map[string]any{"eos_token": "</s>", "chat_template": []map[string]string{
		{"name": "tool_use", "template": "unused"}, {"name": "default", "template": src},
	}})
	tpl, err := Load(writeConfig(t, string(list)))
	if err != nil {
		t.Fatal(err)
	}
	checkSpans(t, tpl, []Message{{"user", "Q"}, {"assistant", "A"}}, Options{}, "[user]Q</s>[assistant]A</s>", "A</s>")

	// chat_template.jinja beside the config wins, as in transformers.
	dir := writeConfig(t, `{"eos_token": "</s>", "chat_template": "ignored"}`)
	if err := os.WriteFile(filepath.Join(dir, "chat_template.jinja"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if tpl, err = Load(dir); err != nil {
		t.Fatal(err)
	}
	if got, _ := tpl.Render([]Message{{"user", "Q"}}, true, Options{}); got != "[user]Q</s>[assistant]" {
		t.Errorf("chat_template.jinja: got %q", got)
	}
}

func TestErrors(t *testing.T) {
	tpl := ChatML()
	if _, _, err := tpl.Spans([]Message{{"system", "S"}, {"user", "Q"}}, false, Options{}); err == nil || !strings.Contains(err.Error(), "no assistant") {
		t.Errorf("no assistant turn: %v", err)
	}
	if _, _, err := tpl.Spans([]Message{{"user", "Q"}, {"tool", "x"}, {"assistant", "A"}}, false, Options{}); err == nil || !strings.Contains(err.Error(), `"tool"`) {
		t.Errorf("unknown role: %v", err)
	}
	if _, err := tpl.Render([]Message{{"user", "Q"}, {"system", "S"}}, false, Options{}); err == nil || !strings.Contains(err.Error(), "first") {
		t.Errorf("late system message: %v", err)
	}
	if _, _, err := tpl.Spans([]Message{{"user", "Q"}, {"assistant", ""}}, false, Options{}); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty assistant turn: %v", err)
	}

	strict := templateConfig(t, `{% for m in messages %}{% if m.role == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}`+
		`{{ m.role }}: {{ m.content }}{{ eos_token }}{% endfor %}`)
	if _, _, err := strict.Spans([]Message{{"system", "S"}, {"user", "Q"}, {"assistant", "A"}}, false, Options{}); err == nil || !strings.Contains(err.Error(), "System role not supported") {
		t.Errorf("raise_exception: %v", err)
	}

	for name, cfg := range map[string]string{
		"malformed":    `{"chat_template": `,
		"bad template": `{"chat_template": "{% for m in messages %}"}`,
		"bad token":    `{"eos_token": 7}`,
		"no default":   `{"chat_template": [{"name": "tool_use", "template": "x"}]}`,
		"no eot":       `{"chat_template": "{% for m in messages %}{{ m.content }}{% endfor %}"}`,
	} {
		path := filepath.Join(writeConfig(t, cfg), configName)
		if _, err := Load(path); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %v does not name %s", name, err, path)
		}
	}
	missing := filepath.Join(t.TempDir(), "nope")
	if _, err := Load(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: %v", err)
	}
}

func TestConcurrentRender(t *testing.T) {
	tpl, gs := fixture(t, "qwen3")
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, g := range gs {
				if full, err := tpl.Render(g.Messages, false, Options{}); err != nil || full != g.Full {
					t.Errorf("%s: concurrent render differs (%v)", g.ID, err)
				}
			}
		}()
	}
	wg.Wait()
}

// What transformers 5 saves (SmolLM2-135M-Instruct's folder, as transformers 5.24
// writes it): the template in chat_template.jinja, a tokenizer_config.json without
// chat_template, with "tokenizer_class": "TokenizersBackend", a list of
// extra_special_tokens and a model_max_length beyond int64. Load and Resolve("auto")
// take the template from the .jinja, also when there is no config at all (transformers
// 5 loads such a folder, without bos/eos).
func TestTransformers5Folder(t *testing.T) {
	const smol = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}" +
		"{{ '<|im_start|>system\\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\\n' }}" +
		"{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}" +
		"{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
	const config = `{"backend": "tokenizers", "bos_token": "<|im_start|>", "eos_token": "<|im_end|>",
  "extra_special_tokens": ["<|im_start|>", "<|im_end|>"], "model_max_length": 1000000000000000019884624838656,
  "pad_token": "<|im_end|>", "tokenizer_class": "TokenizersBackend", "unk_token": null}`
	const want = "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n" +
		"<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
	withConfig := writeConfig(t, config)
	jinjaOnly := t.TempDir()
	for _, dir := range []string{withConfig, jinjaOnly} {
		if err := os.WriteFile(filepath.Join(dir, jinjaName), []byte(smol), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name string
		load func() (*Template, error)
		eos  string
	}{
		{"Load", func() (*Template, error) { return Load(withConfig) }, "<|im_end|>"},
		{"Resolve auto", func() (*Template, error) { return Resolve("auto", filepath.Join(withConfig, "tokenizer.json")) }, "<|im_end|>"},
		{"Load, no config", func() (*Template, error) { return Load(jinjaOnly) }, ""},
		{"Resolve auto, no config", func() (*Template, error) { return Resolve("auto", jinjaOnly) }, ""},
	} {
		tpl, err := c.load()
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got, err := tpl.Render([]Message{{"user", "Hi"}}, true, Options{}); err != nil || got != want {
			t.Errorf("%s: rendered %q (%v), want %q", c.name, got, err, want)
		}
		if tpl.EndOfTurn() != "<|im_end|>" || tpl.EOS() != c.eos {
			t.Errorf("%s: end of turn %q, eos %q (want %q)", c.name, tpl.EndOfTurn(), tpl.EOS(), c.eos)
		}
	}
}
