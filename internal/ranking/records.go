package ranking

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/ytrain/ytrain/formats"
	"github.com/ytrain/ytrain/internal/corpus"
)

// Record is one record to reorder: a user's data record with every field in
// its original order, or a token record.
type Record struct {
	ID    string
	Where string // FILE:LINE or FILE: record N, for messages
	data  []field
	token *formats.Token
}

// field is one key of a JSON object, its value compact JSON.
type field struct {
	key string
	val json.RawMessage
}

// Records is what ReadRecords read. Form is the first input's form: "arrow"
// or "jsonl" for token records; "json" (an array), "jsonl", "csv" or "txt"
// for data files.
type Records struct {
	Token bool
	Form  string
	List  []Record
}

// ReadRecords reads the records to reorder, in order, from files ("-" is
// stdin). A file is token records when it is an Arrow stream or its first
// JSON record has input_ids and loss_mask; anything else is a data file read
// as tokenize reads it (JSON array, JSON Lines, CSV with a header, text
// lines), and a record without an "id" is named FILE:N, its 1-based position
// in the file, as tokenize names it. Token and data files cannot be mixed.
func ReadRecords(paths []string, stdin io.Reader) (*Records, error) {
	rs := &Records{}
	for i, p := range paths {
		token, form, err := readFile(p, stdin, func(r Record) { rs.List = append(rs.List, r) })
		if err != nil {
			return nil, err
		}
		if i == 0 {
			rs.Token, rs.Form = token, form
		} else if token != rs.Token {
			return nil, fmt.Errorf("%s: token records and data records cannot be ranked together", p)
		}
	}
	return rs, nil
}

func readFile(path string, stdin io.Reader, add func(Record)) (token bool, form string, err error) {
	in, name := stdin, "stdin"
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return false, "", err
		}
		defer f.Close()
		in, name = f, path
	}
	br := bufio.NewReaderSize(in, 1<<16)
	enc, err := formats.Detect(br)
	if err != nil {
		return false, "", fmt.Errorf("%s: %w", name, err)
	}
	if enc == formats.Arrow {
		return true, "arrow", readTokens(br, name, add)
	}
	form = corpus.Sniff(path, br)
	var next func() ([]field, []byte, string, error)
	switch form {
	case "json":
		next = jsonArray(br, name)
	case "jsonl":
		next = jsonLines(br, name)
	case "csv":
		next = csvRows(br, name)
	default:
		next = textLines(br, name)
	}
	base := filepath.Base(name)
	for n := 1; ; n++ {
		fs, raw, where, err := next()
		if err == io.EOF {
			if n == 1 {
				return false, "", fmt.Errorf("%s: empty input (no records)", name)
			}
			return token, form, nil
		}
		if err != nil {
			return false, "", err
		}
		if n == 1 {
			token = raw != nil && has(fs, "input_ids") && has(fs, "loss_mask")
		}
		r := Record{Where: where}
		if token {
			r.token = new(formats.Token)
			if err := json.Unmarshal(raw, r.token); err != nil {
				return false, "", fmt.Errorf("%s: token record: %v", where, err)
			}
			if err := r.token.Validate(); err != nil {
				return false, "", fmt.Errorf("%s: %w", where, err)
			}
			r.ID = r.token.ID
		} else {
			r.data = fs
			if r.ID, err = dataID(fs, base, n); err != nil {
				return false, "", fmt.Errorf("%s: %w", where, err)
			}
		}
		add(r)
	}
}

func readTokens(br *bufio.Reader, name string, add func(Record)) error {
	rd, err := formats.NewReader(br, name, formats.TokenCodec)
	if err != nil {
		return err
	}
	defer rd.Close()
	for {
		t, err := rd.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		add(Record{ID: t.ID, Where: rd.Where(), token: t})
	}
}

func has(fs []field, key string) bool {
	_, ok := get(fs, key)
	return ok
}

func get(fs []field, key string) (json.RawMessage, bool) {
	for _, f := range fs {
		if f.key == key {
			return f.val, true
		}
	}
	return nil, false
}

// dataID is the record's "id" (a string, or a number as written), else
// FILE:N when it is absent, null or empty, exactly as tokenize names records.
func dataID(fs []field, base string, n int) (string, error) {
	raw, ok := get(fs, "id")
	var s string
	if !ok || string(raw) == "null" || string(raw) == `""` {
		return fmt.Sprintf("%s:%d", base, n), nil
	}
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var num json.Number
	if json.Unmarshal(raw, &num) == nil {
		return num.String(), nil
	}
	return "", fmt.Errorf(`field "id": want a string or number, got %s`, raw)
}

// parseObject splits a JSON object into its fields, in order, each value
// compacted (so a pretty-printed array element fits on one JSON Lines line).
func parseObject(b []byte) ([]field, error) {
	if !utf8.Valid(b) {
		return nil, errors.New("invalid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("want a JSON object")
	}
	var fs []field
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return nil, err
		}
		fs = append(fs, field{key: t.(string), val: buf.Bytes()})
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("want one JSON object")
	}
	return fs, nil
}

// The readers below return a record's fields, its raw JSON (nil for CSV and
// text, which cannot hold token records) and where it is, or io.EOF.

func jsonLines(br *bufio.Reader, name string) func() ([]field, []byte, string, error) {
	line := 0
	return func() ([]field, []byte, string, error) {
		for {
			b, err := br.ReadBytes('\n')
			if len(b) == 0 && err != nil {
				if err == io.EOF {
					return nil, nil, "", io.EOF
				}
				return nil, nil, "", fmt.Errorf("%s: %w", name, err)
			}
			line++
			b = bytes.TrimSpace(b)
			if len(b) == 0 {
				continue
			}
			where := fmt.Sprintf("%s:%d", name, line)
			fs, err := parseObject(b)
			if err != nil {
				return nil, nil, "", fmt.Errorf("%s: %v", where, err)
			}
			return fs, b, where, nil
		}
	}
}

// jsonArray streams the elements of a top-level array; messages name the
// element's position, since a decoder knows offsets, not lines.
func jsonArray(br *bufio.Reader, name string) func() ([]field, []byte, string, error) {
	dec := json.NewDecoder(br)
	n := 0
	return func() ([]field, []byte, string, error) {
		if n == 0 {
			if t, err := dec.Token(); err != nil || t != json.Delim('[') {
				return nil, nil, "", fmt.Errorf("%s: want a JSON array of records", name)
			}
		}
		n++
		where := fmt.Sprintf("%s: record %d", name, n)
		if !dec.More() {
			if _, err := dec.Token(); err != nil {
				return nil, nil, "", fmt.Errorf("%s: %v", where, err)
			}
			return nil, nil, "", io.EOF
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, "", fmt.Errorf("%s: %v", where, err)
		}
		fs, err := parseObject(raw)
		if err != nil {
			return nil, nil, "", fmt.Errorf("%s: %v", where, err)
		}
		return fs, raw, where, nil
	}
}

// csvRows reads rows under a header; every cell becomes a JSON string.
func csvRows(br *bufio.Reader, name string) func() ([]field, []byte, string, error) {
	cr := csv.NewReader(br)
	var header []string
	return func() ([]field, []byte, string, error) {
		if header == nil {
			h, err := cr.Read()
			if err == io.EOF {
				return nil, nil, "", io.EOF
			}
			if err != nil {
				return nil, nil, "", fmt.Errorf("%s: %w", name, err)
			}
			header = h
		}
		row, err := cr.Read()
		if err == io.EOF {
			return nil, nil, "", io.EOF
		}
		if err != nil {
			return nil, nil, "", fmt.Errorf("%s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		where := fmt.Sprintf("%s:%d", name, line)
		fs := make([]field, len(row))
		for i, cell := range row {
			if !utf8.ValidString(cell) {
				return nil, nil, "", fmt.Errorf("%s: column %q: invalid UTF-8", where, header[i])
			}
			fs[i] = field{key: strings.TrimSpace(header[i]), val: quote(cell)}
		}
		return fs, nil, where, nil
	}
}

// textLines reads one {"text": line} record per non-blank line.
func textLines(br *bufio.Reader, name string) func() ([]field, []byte, string, error) {
	line := 0
	return func() ([]field, []byte, string, error) {
		for {
			b, err := br.ReadBytes('\n')
			if len(b) == 0 && err != nil {
				if err == io.EOF {
					return nil, nil, "", io.EOF
				}
				return nil, nil, "", fmt.Errorf("%s: %w", name, err)
			}
			line++
			s := strings.TrimRight(string(b), "\r\n")
			if strings.TrimSpace(s) == "" {
				continue
			}
			where := fmt.Sprintf("%s:%d", name, line)
			if !utf8.ValidString(s) {
				return nil, nil, "", fmt.Errorf("%s: invalid UTF-8", where)
			}
			return []field{{key: "text", val: quote(s)}}, nil, where, nil
		}
	}
}

// quote is a JSON string as written by hand: without encoding/json's
// escaping of <, > and &, which would garble text for people.
func quote(s string) json.RawMessage {
	var buf bytes.Buffer
	e := json.NewEncoder(&buf)
	e.SetEscapeHTML(false)
	e.Encode(s)
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})
}
