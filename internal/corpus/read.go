package corpus

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
)

// Reader yields the Examples of one input file (or stdin) in order.
type Reader struct {
	name, base string
	kind       Kind
	next       func() (fields, int, error) // a raw record and its line, io.EOF at the end
	n          int
	closer     io.Closer
}

// fields is one raw record: JSON values by key. CSV cells become JSON strings.
type fields map[string]json.RawMessage

// Open reads path ("-" for stdin). format is "auto" (by extension, else by
// the first non-blank byte), "json", "jsonl", "csv" or "txt".
func Open(path, format string, stdin io.Reader, kind Kind) (*Reader, error) {
	r := &Reader{name: path, base: filepath.Base(path), kind: kind}
	var in io.Reader = stdin
	if path == "-" {
		r.name, r.base = "stdin", "stdin"
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		in, r.closer = f, f
	}
	br := bufio.NewReaderSize(in, 1<<16)
	if format == "auto" || format == "" {
		format = Sniff(path, br)
	}
	switch format {
	case "json":
		r.next = r.jsonArray(br)
	case "jsonl":
		r.next = r.jsonLines(br)
	case "csv":
		r.next = r.csvRows(br)
	case "txt":
		if kind == SFT || kind == Prompt {
			r.Close()
			return nil, fmt.Errorf("%s: plain text has no answers to train on; use --kind cpt or a JSON/CSV file", r.name)
		}
		r.next = r.textLines(br)
	default:
		r.Close()
		return nil, fmt.Errorf("--input-format %q: want auto, json, jsonl, csv or txt", format)
	}
	return r, nil
}

// Sniff tells a data file's form ("json", "jsonl", "csv" or "txt") from its
// extension, else from the first non-blank byte, without consuming input.
func Sniff(path string, br *bufio.Reader) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".jsonl", ".ndjson":
		return "jsonl"
	case ".csv":
		return "csv"
	case ".txt", ".text", ".md":
		return "txt"
	}
	for i := 1; ; i++ {
		b, err := br.Peek(i)
		if err != nil || len(b) < i {
			return "jsonl" // empty input: reported by the JSON Lines reader
		}
		switch b[i-1] {
		case ' ', '\t', '\r', '\n':
			continue
		case '[':
			return "json"
		case '{':
			return "jsonl"
		}
		return "txt"
	}
}

// Close closes the underlying file.
func (r *Reader) Close() error {
	if r.closer != nil {
		return r.closer.Close()
	}
	return nil
}

// Next returns the next Example, io.EOF at the end. Errors name FILE:LINE;
// errors.Is(err, ErrEmptyAnswer) marks a record to report and skip.
func (r *Reader) Next() (*Example, error) {
	f, line, err := r.next()
	if err == io.EOF && r.n == 0 {
		return nil, fmt.Errorf("%s: empty input (no records)", r.name)
	}
	if err != nil {
		return nil, err
	}
	r.n++
	where := fmt.Sprintf("%s:%d", r.name, line)
	ex, err := r.example(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	ex.Where = where
	if ex.ID == "" {
		ex.ID = fmt.Sprintf("%s:%d", r.base, r.n)
	}
	return ex, nil
}

func (r *Reader) jsonLines(br *bufio.Reader) func() (fields, int, error) {
	line := 0
	return func() (fields, int, error) {
		for {
			b, err := br.ReadBytes('\n')
			if len(b) == 0 && err != nil {
				if err == io.EOF {
					return nil, 0, io.EOF
				}
				return nil, 0, fmt.Errorf("%s: %w", r.name, err)
			}
			line++
			b = bytes.TrimSpace(b)
			if len(b) == 0 {
				continue
			}
			f, err := parseObject(b)
			if err != nil {
				return nil, 0, fmt.Errorf("%s:%d: %w", r.name, line, err)
			}
			return f, line, nil
		}
	}
}

// jsonArray streams the elements of a top-level array, keeping line numbers
// for messages.
func (r *Reader) jsonArray(br *bufio.Reader) func() (fields, int, error) {
	lc := &lineCounter{r: br}
	dec := json.NewDecoder(lc)
	started := false
	return func() (fields, int, error) {
		if !started {
			started = true
			if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
				return nil, 0, fmt.Errorf("%s:%d: want a JSON array of records", r.name, lc.lineAt(dec.InputOffset()))
			}
		}
		if !dec.More() {
			if _, err := dec.Token(); err != nil {
				return nil, 0, fmt.Errorf("%s:%d: %v", r.name, lc.lineAt(dec.InputOffset()), err)
			}
			return nil, 0, io.EOF
		}
		var raw json.RawMessage
		err := dec.Decode(&raw)
		line := lc.lineAt(dec.InputOffset())
		if err != nil {
			return nil, 0, fmt.Errorf("%s:%d: %v", r.name, line, err)
		}
		// report the line where the record starts, not where it ends
		line -= bytes.Count(raw, []byte{'\n'})
		f, err := parseObject(raw)
		if err != nil {
			return nil, 0, fmt.Errorf("%s:%d: %w", r.name, line, err)
		}
		return f, line, nil
	}
}

func (r *Reader) csvRows(br *bufio.Reader) func() (fields, int, error) {
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = 0
	var header []string
	return func() (fields, int, error) {
		if header == nil {
			h, err := cr.Read()
			if err == io.EOF {
				return nil, 0, io.EOF
			}
			if err != nil {
				return nil, 0, fmt.Errorf("%s: %w", r.name, err)
			}
			header = h
		}
		row, err := cr.Read()
		if err == io.EOF {
			return nil, 0, io.EOF
		}
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", r.name, err)
		}
		line, _ := cr.FieldPos(0)
		f := make(fields, len(row))
		for i, cell := range row {
			if !utf8.ValidString(cell) {
				return nil, 0, fmt.Errorf("%s:%d: column %q: invalid UTF-8", r.name, line, header[i])
			}
			f[strings.TrimSpace(header[i])], _ = json.Marshal(cell)
		}
		return f, line, nil
	}
}

func (r *Reader) textLines(br *bufio.Reader) func() (fields, int, error) {
	line := 0
	return func() (fields, int, error) {
		for {
			b, err := br.ReadBytes('\n')
			if len(b) == 0 && err != nil {
				if err == io.EOF {
					return nil, 0, io.EOF
				}
				return nil, 0, fmt.Errorf("%s: %w", r.name, err)
			}
			line++
			s := strings.TrimRight(string(b), "\r\n")
			if strings.TrimSpace(s) == "" {
				continue
			}
			if !utf8.ValidString(s) {
				return nil, 0, fmt.Errorf("%s:%d: invalid UTF-8", r.name, line)
			}
			v, _ := json.Marshal(s)
			return fields{"text": v}, line, nil
		}
	}
}

func parseObject(b []byte) (fields, error) {
	if !utf8.Valid(b) {
		return nil, errors.New("invalid UTF-8")
	}
	if len(b) == 0 || b[0] != '{' {
		return nil, errors.New("want a JSON object")
	}
	var f fields
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, err
	}
	return f, nil
}

// lineCounter remembers where the newlines were in what it has read, so a
// decoder offset can be turned into a line number.
type lineCounter struct {
	r     io.Reader
	nl    []int64 // offsets of '\n'
	total int64
}

func (c *lineCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	for i, b := range p[:n] {
		if b == '\n' {
			c.nl = append(c.nl, c.total+int64(i))
		}
	}
	c.total += int64(n)
	return n, err
}

func (c *lineCounter) lineAt(off int64) int {
	lo, hi := 0, len(c.nl)
	for lo < hi {
		m := (lo + hi) / 2
		if c.nl[m] < off {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo + 1
}
