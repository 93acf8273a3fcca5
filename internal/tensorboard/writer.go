// Package tensorboard writes TensorBoard event files in pure Go and reads
// them back.
//
// An event file is a sequence of TFRecords (little-endian uint64 length,
// masked CRC32C of those 8 bytes, the data, masked CRC32C of the data), each
// holding a serialized tensorflow.Event proto; the first event carries
// file_version "brain.Event:2". Scalars are written as Summary.Value.simple_value (a
// float32) and histograms as Summary.Value.histo with TensorFlow's default
// exponential buckets; TensorBoard reads both natively, converting them to
// its scalars and histograms plugins, so no plugin metadata is written.
//
// Files are named events.out.tfevents.<unix-seconds>.<hostname>, as
// TensorFlow's C++ EventsWriter names them.
//
// Kill safety: a Writer frames every record completely in memory before
// handing it to its buffer, and the file is only ever appended to. If the
// process dies, the file therefore holds whole records followed by at most
// one cut-off record; ReadFile returns the whole ones and an error wrapping
// ErrTruncated, and TensorBoard likewise ignores an incomplete last record.
// Everything written before the last successful Flush survives a process
// kill; only Close also fsyncs, for machine crashes.
package tensorboard

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// FileVersion is the file_version of the first event in every file.
const FileVersion = "brain.Event:2"

// Writer appends events to one event file. It is safe for concurrent use.
// Writes are buffered: call Flush (trainers do so every logging step) to
// hand them to the OS, and Close when done.
type Writer struct {
	path string

	mu  sync.Mutex
	f   *os.File
	bw  *bufio.Writer
	rec []byte // reused record buffer
}

// NewWriter creates dir if needed and a new event file in it, and writes and
// flushes the file_version event.
func NewWriter(dir string) (*Writer, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("tensorboard: %w", err)
	}
	host, err := os.Hostname()
	if err != nil {
		host = "localhost"
	}
	now := time.Now()
	f, err := createNew(filepath.Join(dir, fmt.Sprintf("events.out.tfevents.%010d.%s", now.Unix(), host)))
	if err != nil {
		return nil, fmt.Errorf("tensorboard: %w", err)
	}
	w := &Writer{path: f.Name(), f: f, bw: bufio.NewWriter(f)}
	err = w.write(encodeEvent(wallTime(now), 0, eventFileVersion, []byte(FileVersion)))
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		f.Close()
		os.Remove(w.path)
		return nil, err
	}
	return w, nil
}

// createNew creates path exclusively. Two writers started in the same
// second in one directory would get the same name; rather than truncate the
// other's file, the later one gets a ".1", ".2", ... suffix.
func createNew(path string) (*os.File, error) {
	name := path
	for i := 1; ; i++ {
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if !errors.Is(err, fs.ErrExist) || i > 100 {
			return f, err
		}
		name = path + "." + strconv.Itoa(i)
	}
}

func wallTime(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// Path is the event file's path.
func (w *Writer) Path() string { return w.path }

// Scalar logs v under tag at step. The event format stores scalars as
// float32, so v is rounded.
func (w *Writer) Scalar(tag string, step int64, v float64) error {
	// simple_value is a oneof member, so it is written even when zero.
	value := appendFloat(nil, valueSimpleValue, float32(v))
	return w.summary(step, tag, value)
}

// Histogram logs the distribution of values under tag at step, binned into
// TensorFlow's default buckets (see defaultLimits) with exact min, max, count,
// sum and sum of squares. It is an error for values to be empty or to hold
// NaN or ±Inf, as in TensorFlow.
func (w *Writer) Histogram(tag string, step int64, values []float64) error {
	h, err := newHistogram(values)
	if err != nil {
		return fmt.Errorf("tensorboard: histogram %q: %w", tag, err)
	}
	return w.summary(step, tag, appendBytes(nil, valueHisto, encodeHistogram(h)))
}

// SessionStart logs a SessionLog START at step: TensorBoard then forgets
// what earlier files of the run logged at step or later, so a run resumed
// from a checkpoint does not show the steps it logs again twice.
func (w *Writer) SessionStart(step int64) error {
	ev := encodeEvent(wallTime(time.Now()), step, eventSessionLog, appendVarint(nil, sessionLogStatus, sessionStart))
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.write(ev)
}

func (w *Writer) summary(step int64, tag string, value []byte) error {
	ev := encodeEvent(wallTime(time.Now()), step, eventSummary, encodeSummary(tag, value))
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.write(ev)
}

// write appends one framed event; the caller holds mu or owns w.
func (w *Writer) write(event []byte) error {
	w.rec = appendRecord(w.rec[:0], event)
	if _, err := w.bw.Write(w.rec); err != nil {
		return fmt.Errorf("tensorboard: %s: %w", w.path, err)
	}
	return nil
}

// Flush writes buffered events to the file.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.bw.Flush(); err != nil {
		return fmt.Errorf("tensorboard: %s: %w", w.path, err)
	}
	return nil
}

// Close flushes, syncs and closes the file.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	err := errors.Join(w.bw.Flush(), w.f.Sync(), w.f.Close())
	if err != nil {
		return fmt.Errorf("tensorboard: %s: %w", w.path, err)
	}
	return nil
}
