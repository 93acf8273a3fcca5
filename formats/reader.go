package formats

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"unicode/utf8"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/ipc"
)

// arrowStreamMagic is the continuation marker that opens every message of an
// Arrow IPC stream (format version ≥ 0.15).
var arrowStreamMagic = []byte{0xff, 0xff, 0xff, 0xff}

// arrowFileMagic opens (padded to 8 bytes) and closes an Arrow IPC file,
// whose body is a stream's messages followed by a footer.
var arrowFileMagic = []byte("ARROW1")

// Detect tells the encoding of a stream from its first bytes without
// consuming them.
func Detect(br *bufio.Reader) (Encoding, error) {
	head, _ := br.Peek(8)
	switch {
	case len(head) == 0:
		return 0, errors.New("empty input")
	case bytes.HasPrefix(head, arrowStreamMagic), bytes.HasPrefix(head, arrowFileMagic):
		return Arrow, nil
	}
	return JSONL, nil
}

// Reader reads records of one record kind from an Arrow IPC stream or JSON Lines.
type Reader[T any] struct {
	codec *Codec[T]
	name  string
	enc   Encoding
	n     int // records read
	// JSON Lines
	br   *bufio.Reader
	line int
	// Arrow
	ar    *ipc.Reader
	guard *guardedMessages
	rec   arrow.Record
	row   int
	idx   []int
}

// NewReader detects the encoding of r; name is used in error messages.
func NewReader[T any](r io.Reader, name string, c *Codec[T]) (*Reader[T], error) {
	br := bufio.NewReaderSize(r, 1<<16)
	enc, err := Detect(br)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	rd := &Reader[T]{codec: c, name: name, enc: enc, br: br}
	if enc == Arrow {
		rd.guard = &guardedMessages{r: br}
		if rd.ar, err = newArrowReader(br, rd.guard); err != nil {
			return nil, fmt.Errorf("%s: reading Arrow stream: %w", name, err)
		}
		if rd.idx, err = c.bind(rd.ar.Schema()); err != nil {
			rd.ar.Release()
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return rd, nil
}

// Encoding is the detected encoding.
func (r *Reader[T]) Encoding() Encoding { return r.enc }

// Where names the last record read: "file:line" for JSON Lines, "file:
// record N" for Arrow.
func (r *Reader[T]) Where() string {
	if r.enc == JSONL {
		return fmt.Sprintf("%s:%d", r.name, r.line)
	}
	return fmt.Sprintf("%s: record %d", r.name, r.n)
}

// Next returns the next valid record, or io.EOF after the last one.
func (r *Reader[T]) Next() (*T, error) {
	var rec *T
	var err error
	if r.enc == JSONL {
		rec, err = r.nextJSON()
	} else {
		rec, err = r.nextArrow()
	}
	if err != nil {
		return nil, err
	}
	if err := r.codec.validate(rec); err != nil {
		return nil, fmt.Errorf("%s: %w", r.Where(), err)
	}
	return rec, nil
}

func (r *Reader[T]) nextJSON() (*T, error) {
	for {
		line, err := r.br.ReadBytes('\n')
		if len(line) == 0 && err != nil {
			if err == io.EOF {
				if r.n == 0 {
					return nil, fmt.Errorf("%s: empty input", r.name)
				}
				return nil, io.EOF
			}
			return nil, fmt.Errorf("%s: %w", r.name, err)
		}
		r.line++
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if !utf8.Valid(line) {
			return nil, fmt.Errorf("%s:%d: invalid UTF-8", r.name, r.line)
		}
		if line[0] != '{' {
			return nil, fmt.Errorf("%s:%d: want one JSON object per line (JSON Lines) or an Arrow IPC stream", r.name, r.line)
		}
		if r.n == 0 {
			if err := r.checkKind(line); err != nil {
				return nil, fmt.Errorf("%s:%d: %w", r.name, r.line, err)
			}
		}
		rec := new(T)
		if err := json.Unmarshal(line, rec); err != nil {
			return nil, fmt.Errorf("%s:%d: %s", r.name, r.line, jsonError(err))
		}
		r.n++
		return rec, nil
	}
}

func (r *Reader[T]) nextArrow() (rec *T, err error) {
	// arrow panics on some inconsistent batches that the message guard
	// cannot see (offsets that point past their buffers).
	defer func() {
		if p := recover(); p != nil {
			rec, err = nil, fmt.Errorf("%s: after record %d: corrupt Arrow batch: %v", r.name, r.n, p)
		}
	}()
	for r.rec == nil || r.row >= int(r.rec.NumRows()) {
		if !r.ar.Next() {
			if err := r.ar.Err(); err != nil && err != io.EOF {
				return nil, fmt.Errorf("%s: after record %d: %w", r.name, r.n, err)
			}
			if !r.guard.end { // a writer that stopped half way: its records are not the whole
				return nil, fmt.Errorf("%s: the Arrow stream ends after record %d without its end-of-stream marker: was it cut short? (ytrain always writes the marker)", r.name, r.n)
			}
			return nil, io.EOF
		}
		r.rec, r.row = r.ar.Record(), 0
		if err := r.codec.checkNulls(r.rec, r.idx); err != nil {
			return nil, fmt.Errorf("%s: record batch after record %d: %w", r.name, r.n, err)
		}
	}
	rec = new(T)
	for i, col := range r.codec.fields {
		if r.idx[i] >= 0 {
			col.get(r.rec.Column(r.idx[i]), r.row, rec)
		}
	}
	r.row++
	r.n++
	return rec, nil
}

// checkKind makes sure the first JSON record is of the codec's record kind, as the
// schema metadata does for Arrow: a token record read as a score record
// would otherwise pass with empty curves.
func (r *Reader[T]) checkKind(line []byte) error {
	var rec map[string]json.RawMessage
	if err := json.Unmarshal(line, &rec); err != nil {
		return errors.New(jsonError(err))
	}
	names := make([]string, 0, len(rec))
	for k := range rec {
		names = append(names, k)
	}
	kind, err := kindOf(names)
	if err != nil {
		return fmt.Errorf("not %s records: %w", r.codec.Kind, err)
	}
	if kind != r.codec.Kind {
		return fmt.Errorf("a %s record, want %s records", kind, r.codec.Kind)
	}
	return nil
}

// newArrowReader reads an Arrow IPC stream, or an IPC file front to back:
// after its 8-byte header a file holds a stream's messages, then the footer
// (see guardedMessages), so neither seeking nor the footer's index is needed
// and a file can come through a pipe. g reads from br.
func newArrowReader(br *bufio.Reader, g *guardedMessages) (ar *ipc.Reader, err error) {
	defer func() {
		if p := recover(); p != nil {
			ar, err = nil, fmt.Errorf("corrupt Arrow schema: %v", p)
		}
	}()
	if head, _ := br.Peek(8); bytes.HasPrefix(head, arrowFileMagic) {
		if len(head) < 8 {
			return nil, errors.New("truncated Arrow file")
		}
		br.Discard(8)
		g.file = true
	}
	return ipc.NewReaderFromMessageReader(g)
}

// Close releases the Arrow reader; it does not close the underlying input.
func (r *Reader[T]) Close() {
	if r.ar != nil {
		r.ar.Release()
	}
}

// jsonError words encoding/json's errors for people: which field had which
// wrong type.
func jsonError(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fmt.Sprintf("field %q: got JSON %s, want %s", te.Field, te.Value, te.Type)
	}
	return err.Error()
}

// All yields the records in turn, each with a nil error. An error (Next's,
// naming the file and line or record) is yielded with a nil record and ends
// the sequence: no tool skips a bad record of its own record kind.
func (r *Reader[T]) All() iter.Seq2[*T, error] { return Iterate(r.Next, nil) }

// Iterate makes the sequence of a Next method (io.EOF after the last
// record): each record with a nil error, or an error with a nil record. An
// error ends the sequence unless goOn (nil: never) says the records after
// it can still be read, as corpus says of one bad record in a user's file.
func Iterate[T any](next func() (*T, error), goOn func(error) bool) iter.Seq2[*T, error] {
	return func(yield func(*T, error) bool) {
		for {
			rec, err := next()
			if err == io.EOF {
				return
			}
			if !yield(rec, err) || err != nil && (goOn == nil || !goOn(err)) {
				return
			}
		}
	}
}

// Each reads every record of one input and hands it to fn with its place
// (Where); fn's errors are reported with that place.
func Each[T any](r io.Reader, name string, c *Codec[T], fn func(rec *T, where string) error) error {
	rd, err := NewReader(r, name, c)
	if err != nil {
		return err
	}
	defer rd.Close()
	for rec, err := range rd.All() {
		if err != nil {
			return err
		}
		if err := fn(rec, rd.Where()); err != nil {
			return fmt.Errorf("%s: %w", rd.Where(), err)
		}
	}
	return nil
}

// Inputs reads records from several inputs in order: files by path, or stdin
// for "-" or when no path is given.
type Inputs[T any] struct {
	codec *Codec[T]
	paths []string
	stdin io.Reader
	cur   *Reader[T]
	file  *os.File
}

// OpenInputs reads paths in order; none, or "-", is stdin. A file is opened
// when its turn comes.
func OpenInputs[T any](paths []string, stdin io.Reader, c *Codec[T]) *Inputs[T] {
	if len(paths) == 0 {
		paths = []string{"-"}
	}
	return &Inputs[T]{codec: c, paths: paths, stdin: stdin}
}

// Next returns the next record of the current input, moving on to the next
// input at the end of one, or io.EOF after the last.
func (in *Inputs[T]) Next() (*T, error) {
	for {
		if in.cur == nil {
			if len(in.paths) == 0 {
				return nil, io.EOF
			}
			if err := in.open(in.paths[0]); err != nil {
				return nil, err
			}
			in.paths = in.paths[1:]
		}
		rec, err := in.cur.Next()
		if err != io.EOF {
			return rec, err
		}
		in.closeCurrent()
	}
}

// All yields the records of every input in turn, as Reader.All does.
func (in *Inputs[T]) All() iter.Seq2[*T, error] { return Iterate(in.Next, nil) }

// Where names the last record read.
func (in *Inputs[T]) Where() string {
	if in.cur == nil {
		return ""
	}
	return in.cur.Where()
}

func (in *Inputs[T]) open(path string) error {
	var r io.Reader = in.stdin
	name := "stdin"
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		in.file, r, name = f, f, path
	}
	rd, err := NewReader(r, name, in.codec)
	if err != nil {
		in.closeCurrent()
		return err
	}
	in.cur = rd
	return nil
}

func (in *Inputs[T]) closeCurrent() {
	if in.cur != nil {
		in.cur.Close()
		in.cur = nil
	}
	if in.file != nil {
		in.file.Close()
		in.file = nil
	}
}

// Close releases the input being read, if any.
func (in *Inputs[T]) Close() { in.closeCurrent() }
