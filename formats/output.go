package formats

import (
	"io"
	"os"
	"path/filepath"

	"github.com/ytrain/ytrain/internal/tempfiles"
)

// Output is where a tool writes its result: stdout, or a file that appears
// only when the run succeeds. File output goes to a temp file in the same
// directory, renamed over the target by Commit, so a failed or killed run
// never leaves a partial file behind.
type Output struct {
	io.Writer
	f    *os.File
	path string
}

// CreateOutput opens path for writing; "" or "-" means stdout.
func CreateOutput(path string, stdout io.Writer) (*Output, error) {
	if path == "" || path == "-" {
		return &Output{Writer: stdout}, nil
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return nil, err
	}
	tempfiles.Add(f.Name())
	// CreateTemp makes the file private; the result is an ordinary file
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		os.Remove(f.Name())
		tempfiles.Done(f.Name())
		return nil, err
	}
	return &Output{Writer: f, f: f, path: path}, nil
}

// Commit makes the output visible under its name.
func (o *Output) Commit() error {
	if o.f == nil {
		return nil
	}
	f := o.f
	o.f = nil
	defer tempfiles.Done(f.Name())
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return err
	}
	if err := os.Rename(f.Name(), o.path); err != nil {
		os.Remove(f.Name())
		return err
	}
	return nil
}

// Abort discards the output; a no-op after Commit.
func (o *Output) Abort() {
	if o.f != nil {
		o.f.Close()
		os.Remove(o.f.Name())
		tempfiles.Done(o.f.Name())
		o.f = nil
	}
}

// WriteFile writes a tool's output to path ("" or "-": stdout) with fn. A
// file appears, whole, only when fn succeeds.
func WriteFile(path string, stdout io.Writer, fn func(io.Writer) error) error {
	o, err := CreateOutput(path, stdout)
	if err != nil {
		return err
	}
	defer o.Abort()
	if err := fn(o); err != nil {
		return err
	}
	return o.Commit()
}

// WriteBytes replaces path with data whole, or leaves it as it was.
func WriteBytes(path string, data []byte) error {
	return WriteFile(path, nil, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// Sink is where a tool writes its records: -o FILE or stdout, in the
// encoding --format names (see OutputFormat).
type Sink struct {
	path   string
	enc    Format
	stdout io.Writer
}

// NewSink checks the --format flag against -o path.
func NewSink(path, format string, stdout io.Writer) (*Sink, error) {
	enc, err := OutputFormat(format, path, stdout)
	if err != nil {
		return nil, err
	}
	return &Sink{path, enc, stdout}, nil
}

// WriteRecords writes c's records to s with fn; a file appears, whole, only
// when fn succeeds.
func WriteRecords[T any](s *Sink, c *Codec[T], fn func(*Writer[T]) error) error {
	return WriteFile(s.path, s.stdout, func(out io.Writer) error {
		w := NewWriter(out, s.enc, c)
		if err := fn(w); err != nil {
			return err
		}
		return w.Close()
	})
}
