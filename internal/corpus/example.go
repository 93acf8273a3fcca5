package corpus

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/ytrain/ytrain/internal/chat"
)

func (r *Reader) example(f fields) (*Example, error) {
	ex := &Example{}
	var err error
	if ex.ID, err = f.id(); err != nil {
		return nil, err
	}
	if m, ok := f["meta"]; ok && string(m) != "null" {
		var buf bytes.Buffer
		if err := json.Compact(&buf, m); err != nil {
			return nil, fmt.Errorf("field \"meta\": %w", err)
		}
		ex.Meta = buf.Bytes()
	}
	switch r.kind {
	case SFT:
		ex.Messages, err = f.conversation(true)
		return ex, err
	case Prompt:
		ex.Messages, err = f.conversation(false)
		if n := len(ex.Messages); err == nil && n > 0 && ex.Messages[n-1].Role == "assistant" {
			ex.Reference, ex.Messages = ex.Messages[n-1].Content, ex.Messages[:n-1]
		}
		if err == nil && (len(ex.Messages) == 0 || ex.Messages[len(ex.Messages)-1].Role != "user") {
			err = errors.New("no user turn to answer")
		}
		if err == nil && ex.Reference == "" { // evaluation sets carry the expected answer in a field
			ex.Reference, err = f.str("reference")
		}
		return ex, err
	}
	key := "text"
	if _, ok := f[key]; !ok && r.kind == CPT {
		key = "output"
	}
	if _, ok := f[key]; !ok {
		return nil, errors.New(`no "text" field` + map[bool]string{true: ` (or "output")`}[r.kind == CPT])
	}
	if ex.Text, err = f.str(key); err != nil {
		return nil, err
	}
	if ex.Text == "" {
		return nil, fmt.Errorf("%w: field %q is empty", ErrEmptyAnswer, key)
	}
	return ex, nil
}

func (f fields) id() (string, error) {
	raw, ok := f["id"]
	if !ok || string(raw) == "null" {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		return n.String(), nil
	}
	return "", fmt.Errorf(`field "id": want a string or number, got %s`, raw)
}

// str returns a string field; an absent field is "".
func (f fields) str(key string) (string, error) {
	raw, ok := f[key]
	if !ok || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("field %q: want a string, got %s", key, clip(raw))
	}
	return s, nil
}

func clip(raw []byte) string {
	if len(raw) > 40 {
		return string(raw[:40]) + "…"
	}
	return string(raw)
}

func (f fields) has(keys ...string) bool {
	for _, k := range keys {
		if _, ok := f[k]; ok {
			return true
		}
	}
	return false
}

// conversation reads the record's turns; with needAnswer, a record without
// an assistant turn (or with an empty one) is rejected.
func (f fields) conversation(needAnswer bool) ([]chat.Message, error) {
	var msgs []chat.Message
	var field string
	var err error
	switch {
	case f.has("conversations", "messages"):
		msgs, field, err = f.turns()
	case f.has("instruction"):
		msgs, field, err = f.alpaca(needAnswer)
	case f.has("prompt"):
		msgs, field, err = f.promptResponse(needAnswer)
	default:
		return nil, errors.New(`no conversation: want "messages"/"conversations", "instruction"/"output" (alpaca) or "prompt"/"response"`)
	}
	if err != nil || !needAnswer {
		return msgs, err
	}
	return msgs, checkAnswer(msgs, field)
}

var roles = map[string]string{
	"system": "system",
	"user":   "user", "human": "user",
	"assistant": "assistant", "gpt": "assistant", "bot": "assistant",
}

func (f fields) turns() ([]chat.Message, string, error) {
	key := "messages"
	if _, ok := f[key]; !ok {
		key = "conversations"
	}
	var turns []fields
	if err := json.Unmarshal(f[key], &turns); err != nil {
		return nil, key, fmt.Errorf("field %q: want a list of {role, content} objects", key)
	}
	msgs := make([]chat.Message, 0, len(turns))
	for i, t := range turns {
		role, err := t.str("role")
		if err == nil && role == "" {
			role, err = t.str("from")
		}
		if err != nil {
			return nil, key, fmt.Errorf("%s[%d]: %w", key, i, err)
		}
		norm, ok := roles[role]
		if !ok {
			return nil, key, fmt.Errorf("%s[%d]: unknown role %q (want system, user/human or assistant/gpt)", key, i, role)
		}
		content, err := t.str("content")
		if err == nil && !t.has("content") {
			content, err = t.str("value")
		}
		if err != nil {
			return nil, key, fmt.Errorf("%s[%d]: %w", key, i, err)
		}
		msgs = append(msgs, chat.Message{Role: norm, Content: content})
	}
	return msgs, key, nil
}

func (f fields) alpaca(needAnswer bool) ([]chat.Message, string, error) {
	if needAnswer && !f.has("output") {
		return nil, "", errors.New(`missing answer: alpaca record without "output"`)
	}
	var s [4]string
	for i, k := range []string{"system", "instruction", "input", "output"} {
		var err error
		if s[i], err = f.str(k); err != nil {
			return nil, "", err
		}
	}
	system, instruction, input, output := s[0], s[1], s[2], s[3]
	var msgs []chat.Message
	if system != "" {
		msgs = append(msgs, chat.Message{Role: "system", Content: system})
	}
	if raw, ok := f["history"]; ok && string(raw) != "null" {
		var hist [][2]string
		if err := json.Unmarshal(raw, &hist); err != nil {
			return nil, "", errors.New(`field "history": want [[question, answer], ...]`)
		}
		for _, qa := range hist {
			msgs = append(msgs, chat.Message{Role: "user", Content: qa[0]}, chat.Message{Role: "assistant", Content: qa[1]})
		}
	}
	if input != "" {
		instruction += "\n" + input
	}
	msgs = append(msgs, chat.Message{Role: "user", Content: instruction})
	if f.has("output") {
		msgs = append(msgs, chat.Message{Role: "assistant", Content: output})
	}
	return msgs, "output", nil
}

func (f fields) promptResponse(needAnswer bool) ([]chat.Message, string, error) {
	key := "response"
	if !f.has(key) {
		key = "completion"
	}
	if needAnswer && !f.has(key) {
		return nil, "", errors.New(`missing answer: prompt record without "response" or "completion"`)
	}
	prompt, err := f.str("prompt")
	if err != nil {
		return nil, "", err
	}
	answer, err := f.str(key)
	if err != nil {
		return nil, "", err
	}
	var msgs []chat.Message
	if sys, err := f.str("system"); err != nil {
		return nil, "", err
	} else if sys != "" {
		msgs = append(msgs, chat.Message{Role: "system", Content: sys})
	}
	msgs = append(msgs, chat.Message{Role: "user", Content: prompt})
	if f.has(key) {
		msgs = append(msgs, chat.Message{Role: "assistant", Content: answer})
	}
	return msgs, key, nil
}

// checkAnswer rejects conversations with nothing to train on, and marks empty
// answers for a counted skip.
func checkAnswer(msgs []chat.Message, field string) error {
	last := -1
	for i, m := range msgs {
		if m.Role == "assistant" {
			last = i
		}
	}
	if last < 0 {
		return fmt.Errorf("missing answer: no assistant turn in %q", field)
	}
	for i, m := range msgs {
		if m.Role == "assistant" && m.Content == "" {
			return fmt.Errorf("%w: %s turn %s", ErrEmptyAnswer, field, strconv.Itoa(i))
		}
	}
	return nil
}
