package formats

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

// Encoding is how a record stream is written: an Arrow IPC stream or JSON
// Lines (the user's own data files have theirs in internal/corpus).
type Encoding int

const (
	Arrow Encoding = iota + 1 // Arrow IPC stream
	JSONL                     // JSON Lines
)

func (e Encoding) String() string {
	switch e {
	case Arrow:
		return "arrow"
	case JSONL:
		return "jsonl"
	}
	return "unknown"
}

// OutputEncoding resolves a tool's --encoding flag ("", "arrow" or "jsonl").
// Without one: arrow for an -o path ending in .arrow, jsonl for any other -o
// path, and for stdout arrow unless it is a terminal (people read JSON Lines;
// pipes get the compact binary form).
func OutputEncoding(flag, outPath string, stdout io.Writer) (Encoding, error) {
	switch flag {
	case "arrow":
		return Arrow, nil
	case "jsonl":
		return JSONL, nil
	case "":
	default:
		return 0, fmt.Errorf("--encoding %q: want arrow or jsonl", flag)
	}
	if outPath != "" && outPath != "-" {
		if strings.HasSuffix(outPath, ".arrow") {
			return Arrow, nil
		}
		return JSONL, nil
	}
	if f, ok := stdout.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			return JSONL, nil
		}
	}
	return Arrow, nil
}

// Writer writes records of one record kind. Arrow output is cut into record batches
// of bounded size, so memory does not grow with the stream.
type Writer[T any] struct {
	codec *Codec[T]
	enc   Encoding
	bw    *bufio.Writer
	// Arrow
	aw   *ipc.Writer
	rb   *array.RecordBuilder
	rows int
}

// Batch limits: whichever is reached first closes an Arrow record batch.
const (
	batchRows  = 1024
	batchCells = 1 << 22 // list elements over all list columns
)

func NewWriter[T any](w io.Writer, enc Encoding, c *Codec[T]) *Writer[T] {
	wr := &Writer[T]{codec: c, enc: enc, bw: bufio.NewWriterSize(w, 1<<16)}
	if enc == Arrow {
		schema := c.Schema()
		wr.aw = ipc.NewWriter(wr.bw, ipc.WithSchema(schema))
		wr.rb = array.NewRecordBuilder(memory.DefaultAllocator, schema)
	}
	return wr
}

func (w *Writer[T]) Write(rec *T) error {
	if w.enc == JSONL {
		b, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		w.bw.Write(b)
		return w.bw.WriteByte('\n')
	}
	cells := 0
	for i, col := range w.codec.fields {
		b := w.rb.Field(i)
		col.put(b, rec)
		if lb, ok := b.(*array.ListBuilder); ok {
			cells += lb.ValueBuilder().Len()
		}
	}
	w.rows++
	if w.rows >= batchRows || cells >= batchCells {
		return w.flushBatch()
	}
	return nil
}

func (w *Writer[T]) flushBatch() error {
	if w.rows == 0 {
		return nil
	}
	rec := w.rb.NewRecord()
	defer rec.Release()
	w.rows = 0
	return w.aw.Write(rec)
}

// Close writes what is buffered and ends the stream. It does not close the
// underlying writer.
func (w *Writer[T]) Close() error {
	if w.enc == Arrow {
		err := w.flushBatch()
		if cerr := w.aw.Close(); err == nil {
			err = cerr
		}
		w.rb.Release()
		if err != nil {
			return err
		}
	}
	return w.bw.Flush()
}
