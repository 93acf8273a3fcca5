package corpus

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/ytrain/ytrain/formats"
)

// Records reads the raw records of one data file (or stdin) in order: the
// one reader of the files people bring, for tokenize, generate, rank and
// evaluate alike.
type Records struct {
	name, base string
	encoding   string
	next       func() (*Record, error) // io.EOF at the end
	n          int
	closer     io.Closer
}

// OpenRecords reads path ("-" for stdin). encoding is the file encoding:
// "auto" (by extension, else by the first non-blank byte), "json", "jsonl",
// "csv" or "txt".
func OpenRecords(path, encoding string, stdin io.Reader) (*Records, error) {
	var in io.Reader = stdin
	var closer io.Closer
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		in, closer = f, f
	}
	rs, err := NewRecords(bufio.NewReaderSize(in, 1<<16), path, encoding)
	if err != nil {
		if closer != nil {
			closer.Close()
		}
		return nil, err
	}
	rs.closer = closer
	return rs, nil
}

// EachRecord calls fn with every record of path (as OpenRecords reads it)
// and stops at the first error, a record's or fn's; fn's is returned
// prefixed with the record's FILE:LINE.
func EachRecord(path, encoding string, stdin io.Reader, fn func(*Record) error) error {
	rs, err := OpenRecords(path, encoding, stdin)
	if err != nil {
		return err
	}
	defer rs.Close()
	for rec, err := range rs.All() {
		if err != nil {
			return err
		}
		if err := fn(rec); err != nil {
			return fmt.Errorf("%s: %w", rec.Where, err)
		}
	}
	return nil
}

// All yields the file's records in turn, each with a nil error, or the
// error that rejects one record (ErrRecord), and goes on after it; another
// error ends the sequence.
func (rs *Records) All() iter.Seq2[*Record, error] { return formats.Iterate(rs.Next, isRecordError) }

func isRecordError(err error) bool { return errors.Is(err, ErrRecord) }

// NewRecords reads records from br, which holds path's contents ("-":
// stdin); see OpenRecords for encoding.
func NewRecords(br *bufio.Reader, path, encoding string) (*Records, error) {
	rs := &Records{name: path, base: filepath.Base(path)}
	if path == "-" {
		rs.name, rs.base = "stdin", "stdin"
	}
	if encoding == "auto" || encoding == "" {
		encoding = Sniff(path, br)
	}
	switch encoding {
	case "json":
		rs.next = rs.jsonArray(br)
	case "jsonl":
		rs.next = rs.jsonLines(br)
	case "csv":
		rs.next = rs.csvRows(br)
	case "txt":
		rs.next = rs.textLines(br)
	default:
		return nil, fmt.Errorf("--input-encoding %q: want auto, json, jsonl, csv or txt", encoding)
	}
	rs.encoding = encoding
	return rs, nil
}

// Encoding is the file's encoding: "json" (an array), "jsonl", "csv" or "txt".
func (rs *Records) Encoding() string { return rs.encoding }

// Name is the file's name in messages ("stdin" for "-").
func (rs *Records) Name() string { return rs.name }

// Next returns the next record, io.EOF after the last. A file without any
// record is an error. A record rejected with ErrRecord still counts in the
// positions (Record.N) of those after it, so that the name FILE:N of a
// record without an id is the same whether or not a bad one was skipped.
func (rs *Records) Next() (*Record, error) {
	r, err := rs.next()
	if err == io.EOF && rs.n == 0 {
		return nil, fmt.Errorf("%s: empty input (no records)", rs.name)
	}
	if errors.Is(err, ErrRecord) {
		rs.n++
	}
	if err != nil {
		return nil, err
	}
	rs.n++
	r.N, r.base = rs.n, rs.base
	return r, nil
}

// Close closes the underlying file.
func (rs *Records) Close() error {
	if rs.closer != nil {
		return rs.closer.Close()
	}
	return nil
}

// Sniff tells a data file's encoding ("json", "jsonl", "csv" or "txt") from its
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

func (rs *Records) where(line int) string { return fmt.Sprintf("%s:%d", rs.name, line) }

// lines returns the non-blank lines of br, each with its 1-based number.
func (rs *Records) lines(br *bufio.Reader) func() ([]byte, int, error) {
	line := 0
	return func() ([]byte, int, error) {
		for {
			b, err := br.ReadBytes('\n')
			if len(b) == 0 && err != nil {
				if err == io.EOF {
					return nil, 0, io.EOF
				}
				return nil, 0, fmt.Errorf("%s: %w", rs.name, err)
			}
			line++
			if len(bytes.TrimSpace(b)) > 0 {
				return b, line, nil
			}
		}
	}
}

func (rs *Records) jsonLines(br *bufio.Reader) func() (*Record, error) {
	next := rs.lines(br)
	return func() (*Record, error) {
		b, line, err := next()
		if err != nil {
			return nil, err
		}
		b = bytes.TrimSpace(b)
		r := &Record{Where: rs.where(line), Raw: b}
		if utf8.Valid(b) && b[0] != '{' {
			return nil, badRecord(fmt.Errorf("%s: want one JSON object per line (JSON Lines)", r.Where))
		}
		if r.Fields, err = ParseObject(b); err != nil {
			return nil, badRecord(fmt.Errorf("%s: %w", r.Where, err))
		}
		return r, nil
	}
}

// jsonArray streams the elements of a top-level array; each is named by the
// line it starts on.
func (rs *Records) jsonArray(br *bufio.Reader) func() (*Record, error) {
	lc := &lineCounter{r: br}
	dec := json.NewDecoder(lc)
	started := false
	return func() (*Record, error) {
		if !started {
			started = true
			if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
				return nil, fmt.Errorf("%s: want a JSON array of records", rs.where(lc.lineAt(dec.InputOffset())))
			}
		}
		if !dec.More() {
			if _, err := dec.Token(); err != nil {
				return nil, fmt.Errorf("%s: %v", rs.where(lc.lineAt(dec.InputOffset())), unexpectedEnd(err))
			}
			return nil, io.EOF
		}
		var raw json.RawMessage
		err := dec.Decode(&raw)
		line := lc.lineAt(dec.InputOffset())
		if err != nil {
			if se := (*json.SyntaxError)(nil); errors.As(err, &se) {
				line = lc.lineAt(se.Offset) // where the syntax breaks, not where the value began
			}
			return nil, fmt.Errorf("%s: %v", rs.where(line), unexpectedEnd(err))
		}
		// name the line where the record starts, not where it ends
		line -= bytes.Count(raw, []byte{'\n'})
		r := &Record{Where: rs.where(line), Raw: raw}
		if r.Fields, err = ParseObject(raw); err != nil {
			return nil, badRecord(fmt.Errorf("%s: %w", r.Where, err))
		}
		return r, nil
	}
}

// csvRows reads rows under a header; every cell becomes a JSON string.
func (rs *Records) csvRows(br *bufio.Reader) func() (*Record, error) {
	cr := csv.NewReader(br)
	var header []string
	return func() (*Record, error) {
		if header == nil {
			h, err := cr.Read()
			if err == io.EOF {
				return nil, io.EOF
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", rs.name, err)
			}
			header = h
		}
		row, err := cr.Read()
		if err == io.EOF {
			return nil, io.EOF
		}
		if pe := (*csv.ParseError)(nil); errors.As(err, &pe) { // the reader goes on at the next row
			return nil, badRecord(fmt.Errorf("%s: %w", rs.name, err))
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", rs.name, err)
		}
		line, _ := cr.FieldPos(0)
		r := &Record{Where: rs.where(line), Fields: make(Fields, len(row))}
		for i, cell := range row {
			if !utf8.ValidString(cell) {
				return nil, badRecord(fmt.Errorf("%s: column %q: invalid UTF-8", r.Where, header[i]))
			}
			r.Fields[i] = Field{Key: strings.TrimSpace(header[i]), Value: Quote(cell)}
		}
		return r, nil
	}
}

// textLines reads one {"text": line} record per non-blank line.
func (rs *Records) textLines(br *bufio.Reader) func() (*Record, error) {
	next := rs.lines(br)
	return func() (*Record, error) {
		b, line, err := next()
		if err != nil {
			return nil, err
		}
		s := strings.TrimRight(string(b), "\r\n")
		if !utf8.ValidString(s) {
			return nil, badRecord(fmt.Errorf("%s: invalid UTF-8", rs.where(line)))
		}
		return &Record{Where: rs.where(line), Fields: Fields{{Key: "text", Value: Quote(s)}}}, nil
	}
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

var errNoText = errors.New("plain text has no answers to train on; use --objective cpt or a JSON/CSV file")
