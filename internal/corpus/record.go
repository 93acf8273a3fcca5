package corpus

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// Record is one raw user record: a JSON object's fields in the order
// written, a CSV row under its header, or a text line as {"text": line}.
type Record struct {
	Where  string // FILE:LINE, for messages
	N      int    // 1-based position among the file's records
	Raw    []byte // the JSON object as written; nil for CSV rows and text lines
	Fields Fields
	base   string // the file's base name, for records without an id
}

// Field is one key of a record, its value compact JSON.
type Field struct {
	Key   string
	Value json.RawMessage
}

// Fields is a JSON object's fields in order.
type Fields []Field

// Get returns key's value; with duplicate keys the last one wins, as in
// encoding/json.
func (fs Fields) Get(key string) (json.RawMessage, bool) {
	for i := len(fs) - 1; i >= 0; i-- {
		if fs[i].Key == key {
			return fs[i].Value, true
		}
	}
	return nil, false
}

// Has reports whether any of keys is present.
func (fs Fields) Has(keys ...string) bool {
	for _, k := range keys {
		if _, ok := fs.Get(k); ok {
			return true
		}
	}
	return false
}

// With returns a copy of fs with key set to val: replaced in place, or
// appended. fs itself is left untouched.
func (fs Fields) With(key string, val json.RawMessage) Fields {
	out := append(Fields(nil), fs...)
	for i := range out {
		if out[i].Key == key {
			out[i].Value = val
			return out
		}
	}
	return append(out, Field{key, val})
}

// AppendJSON appends fs as one compact JSON object.
func (fs Fields) AppendJSON(b []byte) []byte {
	b = append(b, '{')
	for i, f := range fs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, Quote(f.Key)...)
		b = append(b, ':')
		b = append(b, f.Value...)
	}
	return append(b, '}')
}

// String returns a string field; absent or null is "".
func (fs Fields) String(key string) (string, error) {
	raw, ok := fs.Get(key)
	if !ok || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("field %q: want a string, got %s", key, Clip(raw))
	}
	return s, nil
}

// Scalar returns a string field, or a number field as written; absent or
// null is "". Ids and references are either.
func (fs Fields) Scalar(key string) (string, error) {
	raw, ok := fs.Get(key)
	if !ok || string(raw) == "null" {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String(), nil
	}
	return "", fmt.Errorf("field %q: want a string or number, got %s", key, Clip(raw))
}

// ID names the record: its "id" (a string, or a number as written), else
// FILE:N, its 1-based position in the file, when the id is absent, null or
// empty. Every tool that joins records by id names them this way.
func (r *Record) ID() (string, error) {
	id, err := r.Fields.Scalar("id")
	if err != nil || id != "" {
		return id, err
	}
	return fmt.Sprintf("%s:%d", r.base, r.N), nil
}

// ParseObject splits one JSON object into its fields, in order, each value
// compacted (so a pretty-printed array element fits on one JSON Lines line).
func ParseObject(b []byte) (Fields, error) {
	if !utf8.Valid(b) {
		return nil, errors.New("invalid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("want a JSON object")
	}
	var fs Fields
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, unexpectedEnd(err)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, unexpectedEnd(err)
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return nil, err
		}
		fs = append(fs, Field{Key: t.(string), Value: buf.Bytes()})
	}
	if _, err := dec.Token(); err != nil {
		return nil, unexpectedEnd(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("want one JSON object")
	}
	return fs, nil
}

// unexpectedEnd words a stream decoder's end of input inside a value as
// json.Unmarshal does, the message people know for a cut-off object.
func unexpectedEnd(err error) error {
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("unexpected end of JSON input")
	}
	return err
}

// Quote is a JSON string as written by hand: without encoding/json's
// escaping of <, > and &, which would garble text for people.
func Quote(s string) json.RawMessage {
	var buf bytes.Buffer
	e := json.NewEncoder(&buf)
	e.SetEscapeHTML(false)
	e.Encode(s)
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})
}

// Clip shortens a JSON value for an error message.
func Clip(raw []byte) string {
	if len(raw) > 40 {
		return string(raw[:40]) + "…"
	}
	return string(raw)
}
