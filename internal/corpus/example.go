package corpus

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"strconv"

	"github.com/ytrain/ytrain/formats"
	"github.com/ytrain/ytrain/internal/chat"
)

// Reader yields the Examples of one input file (or stdin) in order.
type Reader struct {
	rs        *Records
	objective Objective
}

// Open reads path ("-" for stdin) for objective; encoding as for OpenRecords.
func Open(path, encoding string, stdin io.Reader, objective Objective) (*Reader, error) {
	rs, err := OpenRecords(path, encoding, stdin)
	if err != nil {
		return nil, err
	}
	if rs.Encoding() == "txt" && (objective == SFT || objective == Prompt) {
		rs.Close()
		return nil, fmt.Errorf("%s: %w", rs.Name(), errNoText)
	}
	return &Reader{rs: rs, objective: objective}, nil
}

// Close closes the underlying file.
func (r *Reader) Close() error { return r.rs.Close() }

// Next returns the next Example, io.EOF at the end. Errors name FILE:LINE;
// errors.Is(err, ErrEmptyAnswer) marks a record to report and skip, and
// errors.Is(err, ErrRecord) one whose next records can still be read.
func (r *Reader) Next() (*Example, error) {
	rec, err := r.rs.Next()
	if err != nil {
		return nil, err
	}
	ex, err := r.objective.example(rec.Fields)
	if err == nil {
		ex.ID, err = rec.ID()
	}
	if err != nil {
		return nil, badRecord(fmt.Errorf("%s: %w", rec.Where, err))
	}
	ex.Where = rec.Where
	return ex, nil
}

// All yields the file's Examples in turn, each with a nil error, or the
// error that rejects one record (ErrRecord), and goes on after it; another
// error ends the sequence.
func (r *Reader) All() iter.Seq2[*Example, error] { return formats.Iterate(r.Next, isRecordError) }

// Examples yields the Examples of every file of paths ("-": stdin) in
// order, as Reader.All does: an error that is not one record's, or a file
// that does not open, ends the sequence, not just its file.
func Examples(paths []string, encoding string, stdin io.Reader, objective Objective) iter.Seq2[*Example, error] {
	return func(yield func(*Example, error) bool) {
		for _, p := range paths {
			r, err := Open(p, encoding, stdin, objective)
			if err != nil {
				yield(nil, err)
				return
			}
			more := true
			for ex, err := range r.All() {
				if more = yield(ex, err) && (err == nil || isRecordError(err)); !more {
					break
				}
			}
			r.Close()
			if !more {
				return
			}
		}
	}
}

func (o Objective) example(f Fields) (*Example, error) {
	ex := &Example{}
	var err error
	if m, ok := f.Get("meta"); ok && string(m) != "null" {
		ex.Meta = m // compact already
	}
	switch o {
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
			ex.Reference, err = f.String("reference")
		}
		return ex, err
	}
	key := "text"
	if !f.Has(key) && o == CPT {
		key = "output"
	}
	if !f.Has(key) {
		return nil, errors.New(`no "text" field` + map[bool]string{true: ` (or "output")`}[o == CPT])
	}
	if ex.Text, err = f.String(key); err != nil {
		return nil, err
	}
	if ex.Text == "" {
		return nil, fmt.Errorf("%w: field %q is empty", ErrEmptyAnswer, key)
	}
	return ex, nil
}

// conversation reads the record's turns; with needAnswer, a record without
// an assistant turn (or with an empty one) is rejected.
func (f Fields) conversation(needAnswer bool) ([]chat.Message, error) {
	var msgs []chat.Message
	var field string
	var err error
	switch {
	case f.Has("conversations", "messages"):
		msgs, field, err = f.turns()
	case f.Has("instruction"):
		msgs, field, err = f.alpaca(needAnswer)
	case f.Has("prompt"):
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

func (f Fields) turns() ([]chat.Message, string, error) {
	key := "messages"
	if !f.Has(key) {
		key = "conversations"
	}
	var raw []json.RawMessage
	list, _ := f.Get(key)
	if err := json.Unmarshal(list, &raw); err != nil {
		return nil, key, fmt.Errorf("field %q: want a list of {role, content} objects", key)
	}
	msgs := make([]chat.Message, 0, len(raw))
	for i, r := range raw {
		t, err := ParseObject(r)
		if err != nil {
			return nil, key, fmt.Errorf("field %q: want a list of {role, content} objects", key)
		}
		role, err := t.String("role")
		if err == nil && role == "" {
			role, err = t.String("from")
		}
		if err != nil {
			return nil, key, fmt.Errorf("%s[%d]: %w", key, i, err)
		}
		norm, ok := roles[role]
		if !ok {
			return nil, key, fmt.Errorf("%s[%d]: unknown role %q (want system, user/human or assistant/gpt)", key, i, role)
		}
		content, err := t.String("content")
		if err == nil && !t.Has("content") {
			content, err = t.String("value")
		}
		if err != nil {
			return nil, key, fmt.Errorf("%s[%d]: %w", key, i, err)
		}
		msgs = append(msgs, chat.Message{Role: norm, Content: content})
	}
	return msgs, key, nil
}

func (f Fields) alpaca(needAnswer bool) ([]chat.Message, string, error) {
	if needAnswer && !f.Has("output") {
		return nil, "", errors.New(`missing answer: alpaca record without "output"`)
	}
	var s [4]string
	for i, k := range []string{"system", "instruction", "input", "output"} {
		var err error
		if s[i], err = f.String(k); err != nil {
			return nil, "", err
		}
	}
	system, instruction, input, output := s[0], s[1], s[2], s[3]
	var msgs []chat.Message
	if system != "" {
		msgs = append(msgs, chat.Message{Role: "system", Content: system})
	}
	if raw, ok := f.Get("history"); ok && string(raw) != "null" {
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
	if f.Has("output") {
		msgs = append(msgs, chat.Message{Role: "assistant", Content: output})
	}
	return msgs, "output", nil
}

func (f Fields) promptResponse(needAnswer bool) ([]chat.Message, string, error) {
	key := "response"
	if !f.Has(key) {
		key = "completion"
	}
	if needAnswer && !f.Has(key) {
		return nil, "", errors.New(`missing answer: prompt record without "response" or "completion"`)
	}
	prompt, err := f.String("prompt")
	if err != nil {
		return nil, "", err
	}
	answer, err := f.String(key)
	if err != nil {
		return nil, "", err
	}
	var msgs []chat.Message
	if sys, err := f.String("system"); err != nil {
		return nil, "", err
	} else if sys != "" {
		msgs = append(msgs, chat.Message{Role: "system", Content: sys})
	}
	msgs = append(msgs, chat.Message{Role: "user", Content: prompt})
	if f.Has(key) {
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
