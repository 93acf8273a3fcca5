package evalmetrics

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/ytrain/ytrain/internal/corpus"
)

// Lookup returns the scalar at a dotted path of a record ("meta.kind": the
// "kind" field of its "meta" object): a string, or a number or boolean as
// written. found is false when a step is absent or null.
func Lookup(f corpus.Fields, path string) (val string, found bool, err error) {
	keys := strings.Split(path, ".")
	raw, ok := f.Get(keys[0])
	for i, k := range keys[1:] {
		if !ok || string(raw) == "null" {
			break
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil {
			return "", false, fmt.Errorf("field %s: want an object, got %s", strings.Join(keys[:i+1], "."), corpus.Clip(raw))
		}
		raw, ok = obj[k]
	}
	if !ok || string(raw) == "null" {
		return "", false, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true, nil
	}
	var v any
	if json.Unmarshal(raw, &v) == nil {
		switch v.(type) {
		case float64, bool:
			return string(raw), true, nil
		}
	}
	return "", false, fmt.Errorf("field %s: want a string, number or boolean, got %s", path, corpus.Clip(raw))
}

// group is a record's --by value; a record without one is an error, so
// that no answer silently drops out of the groups.
func group(f corpus.Fields, by string) (string, error) {
	g, ok, err := Lookup(f, by)
	if err == nil && !ok {
		err = fmt.Errorf("no %s field to group by (--by)", by)
	}
	return g, err
}

// choicesOf reads meta.choices, a question's candidate values (strings, or
// numbers as written); nil when absent.
func choicesOf(meta json.RawMessage) ([]string, error) {
	if meta == nil {
		return nil, nil
	}
	var m struct {
		Choices []json.RawMessage `json:"choices"`
	}
	if json.Unmarshal(meta, &m) != nil {
		return nil, fmt.Errorf(`field "meta": want an object, got %s`, corpus.Clip(meta))
	}
	if m.Choices == nil {
		return nil, nil
	}
	if len(m.Choices) == 0 {
		return nil, errors.New("meta.choices is empty")
	}
	out := make([]string, len(m.Choices))
	for i, raw := range m.Choices {
		f := corpus.Fields{{Key: "c", Value: raw}}
		s, err := f.Scalar("c")
		if err != nil || string(raw) == "null" {
			return nil, fmt.Errorf("meta.choices[%d]: want a string or number, got %s", i, corpus.Clip(raw))
		}
		out[i] = s
	}
	return out, nil
}
