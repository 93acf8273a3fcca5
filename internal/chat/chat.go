// Package chat renders a model's chat template (the Jinja chat_template of a Hugging Face
// tokenizer_config.json) byte-identically to transformers, and finds, for SFT loss
// masking, the character spans of the assistant turns' training targets.
package chat

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/nikolalohinski/gonja/v2/exec"
)

// Message is one conversation turn. Callers normalise dataset roles (human, gpt, …) to
// "system", "user" and "assistant".
type Message struct {
	Role    string
	Content string
}

// Options are the template switches a caller may set.
type Options struct {
	// EnableThinking is passed as enable_thinking; false gives Qwen3's no-thinking
	// format (an empty <think></think> block in the generation prompt).
	EnableThinking bool
}

// Template is a compiled chat template. It is safe for concurrent use.
type Template struct {
	tpl      *exec.Template
	bos, eos string
	eot      string
	origin   string // the file it came from, for error messages
}

// configName is the file Load looks for in a model folder, jinjaName the template
// beside it.
const (
	configName = "tokenizer_config.json"
	jinjaName  = "chat_template.jinja"
)

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// chatMLSource is the ChatML template transformers used as its default.
const chatMLSource = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"

// Load reads a tokenizer_config.json, given its path or the model folder holding it.
// chat_template may be a string or a list of {name, template} (the "default" one is
// used); a chat_template.jinja beside the config overrides it, as in transformers (5
// writes the template there, and the config then has none). A missing config is no
// error when chat_template.jinja is there: transformers 5 loads such a folder too, with
// no bos/eos tokens. A config without any template gets ChatML with its bos/eos tokens.
func Load(path string) (*Template, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, configName)
	}
	jinjaPath := filepath.Join(filepath.Dir(path), jinjaName)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && exists(jinjaPath) {
		data, err = []byte("{}"), nil
	}
	if err != nil {
		return nil, fmt.Errorf("chat: %w", err)
	}
	var cfg struct {
		ChatTemplate json.RawMessage `json:"chat_template"`
		BOS          json.RawMessage `json:"bos_token"`
		EOS          json.RawMessage `json:"eos_token"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("chat: %s: %w", path, err)
	}
	src, err := templateSource(cfg.ChatTemplate)
	if err != nil {
		return nil, fmt.Errorf("chat: %s: chat_template: %w", path, err)
	}
	bos, err := tokenString(cfg.BOS)
	if err != nil {
		return nil, fmt.Errorf("chat: %s: bos_token: %w", path, err)
	}
	eos, err := tokenString(cfg.EOS)
	if err != nil {
		return nil, fmt.Errorf("chat: %s: eos_token: %w", path, err)
	}
	origin := path
	if b, err := os.ReadFile(jinjaPath); err == nil {
		src, origin = string(b), jinjaPath
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("chat: %w", err)
	}
	if src == "" {
		src, origin = chatMLSource, path+" (no chat_template: ChatML)"
	}
	return newTemplate(src, bos, eos, origin)
}

// Resolve picks the template a tool's --template flag names: "chatml", a
// tokenizer_config.json path, or "auto", the config or chat_template.jinja beside the
// tokenizer (tokPath is a tokenizer.json or its model folder), else ChatML.
func Resolve(flag, tokPath string) (*Template, error) {
	switch flag {
	case "chatml":
		return ChatML(), nil
	case "auto":
		dir := tokPath
		if st, err := os.Stat(tokPath); err == nil && !st.IsDir() {
			dir = filepath.Dir(tokPath)
		}
		cfg := filepath.Join(dir, configName)
		if !exists(cfg) && !exists(filepath.Join(dir, jinjaName)) {
			return ChatML(), nil
		}
		return Load(cfg)
	}
	return Load(flag)
}

// ChatML returns the built-in ChatML template (<|im_start|>role\ncontent<|im_end|>\n,
// generation prompt "<|im_start|>assistant\n").
func ChatML() *Template {
	t, err := newTemplate(chatMLSource, "", "", "ChatML")
	if err != nil {
		panic(err) // a constant template
	}
	return t
}

func templateSource(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var named []struct{ Name, Template string }
	if err := json.Unmarshal(raw, &named); err != nil {
		return "", errors.New("want a string or a list of {name, template}")
	}
	for _, n := range named {
		if n.Name == "default" {
			return n.Template, nil
		}
	}
	return "", errors.New(`no template named "default"`)
}

// tokenString accepts a token as a string, null, or an AddedToken object {content: …}.
func tokenString(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var obj struct{ Content *string }
	if json.Unmarshal(raw, &obj) != nil || obj.Content == nil {
		return "", errors.New("want a string or an object with content")
	}
	return *obj.Content, nil
}

func newTemplate(src, bos, eos, origin string) (*Template, error) {
	tpl, err := compile(src)
	if err != nil {
		return nil, fmt.Errorf("chat: %s: chat_template: %w", origin, err)
	}
	t := &Template{tpl: tpl, bos: bos, eos: eos, origin: origin}
	if t.eot, err = t.probeEndOfTurn(); err != nil {
		return nil, fmt.Errorf("chat: %s: %w", origin, err)
	}
	return t, nil
}

// Render renders msgs with the template, as transformers' apply_chat_template(msgs,
// tokenize=False, add_generation_prompt=…, enable_thinking=…) does.
func (t *Template) Render(msgs []Message, addGenerationPrompt bool, o Options) (string, error) {
	for i, m := range msgs {
		switch m.Role {
		case "user", "assistant":
		case "system":
			if i != 0 {
				return "", fmt.Errorf("chat: message %d: a system message may only come first", i)
			}
		default:
			return "", fmt.Errorf("chat: message %d: unknown role %q (want system, user or assistant)", i, m.Role)
		}
	}
	out, err := t.execute(msgs, addGenerationPrompt, o)
	if err != nil {
		return "", fmt.Errorf("chat: %s: %w", t.origin, err)
	}
	return out, nil
}

func (t *Template) execute(msgs []Message, addGenerationPrompt bool, o Options) (string, error) {
	ms := make([]map[string]any, len(msgs))
	for i, m := range msgs {
		ms[i] = map[string]any{"role": m.Role, "content": m.Content}
	}
	// raise_exception is bound per call so that its message survives gonja's error
	// wrapping (the error becomes a template value and loses its chain).
	var raised string
	ctx := exec.NewContext(map[string]any{
		"messages":              ms,
		"add_generation_prompt": addGenerationPrompt,
		"bos_token":             t.bos,
		"eos_token":             t.eos,
		"enable_thinking":       o.EnableThinking,
		"tools":                 nil,
		"raise_exception": func(msg string) (string, error) {
			raised = msg
			return "", errors.New(msg)
		},
	})
	out, err := t.tpl.ExecuteToString(ctx)
	if raised != "" {
		return "", fmt.Errorf("the template rejects the conversation: %s", raised)
	}
	if err != nil {
		return "", fmt.Errorf("render: %w", err)
	}
	return out, nil
}

// EOS is the config's eos_token ("" when it has none).
func (t *Template) EOS() string { return t.eos }

// EndOfTurn returns the string that closes an assistant turn in this template
// ("<|im_end|>", "<|eot_id|>", …).
func (t *Template) EndOfTurn() string { return t.eot }

// specialToken matches what special tokens look like: <|im_end|>, <|eot_id|>,
// <end_of_turn>, </s>, <｜end▁of▁sentence｜>.
var specialToken = regexp.MustCompile(`<[^<>\s]+>`)

// probeAnswer is an assistant content no template alters (no spaces to trim, no markup).
const probeAnswer = "ytrainEndOfTurnProbe"

// probeEndOfTurn renders a one-exchange conversation and takes what follows the
// assistant's content up to the end of the first special-looking token or the eos token,
// whichever ends first.
func (t *Template) probeEndOfTurn() (string, error) {
	out, err := t.execute([]Message{{"user", "Hi"}, {"assistant", probeAnswer}}, false, Options{})
	if err != nil {
		return "", fmt.Errorf("probing the end-of-turn token: %w", err)
	}
	i := strings.Index(out, probeAnswer)
	if i < 0 {
		return "", fmt.Errorf("probing the end-of-turn token: the template drops the assistant's answer")
	}
	rest := out[i+len(probeAnswer):]
	end := -1
	if loc := specialToken.FindStringIndex(rest); loc != nil {
		end = loc[1]
	}
	if k := strings.Index(rest, t.eos); t.eos != "" && k >= 0 && (end < 0 || k+len(t.eos) < end) {
		end = k + len(t.eos)
	}
	if end < 0 {
		return "", fmt.Errorf("no end-of-turn token after an assistant answer (it is followed by %q)", rest)
	}
	return rest[:end], nil
}
