package formats

import (
	"io"
	"os"
	"path/filepath"

	"github.com/ytrain/ytrain/internal/tempfiles"
)

// WriteFile is how every tool writes a result: with fn, to path, or to
// stdout for "" or "-". A file goes to a temp file in the same directory,
// renamed over path only when fn succeeds, so a failed or killed run never
// leaves a partial file behind. A tool with two outputs nests two calls
// (rank: its report around its records); the inner one is renamed first.
func WriteFile(path string, stdout io.Writer, fn func(io.Writer) error) error {
	if path == "" || path == "-" {
		return fn(stdout)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	tempfiles.Add(tmp)
	renamed := false
	defer func() { // on an error, and on a panic in fn (cli.Run reports it)
		if !renamed {
			f.Close()
			os.Remove(tmp)
		}
		tempfiles.Done(tmp)
	}()
	// CreateTemp makes the file private; the result is an ordinary file
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := fn(f); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	renamed = true
	return nil
}

// WriteBytes replaces path with data whole, or leaves it as it was: WriteFile
// for the tools that build a file in memory first.
func WriteBytes(path string, data []byte) error {
	return WriteFile(path, nil, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// Sink is where a tool writes its records: -o FILE or stdout, in the
// encoding --encoding names (see OutputEncoding).
type Sink struct {
	path   string
	enc    Encoding
	stdout io.Writer
}

// NewSink checks the --encoding flag against -o path, before the tool does
// its work.
func NewSink(path, encoding string, stdout io.Writer) (*Sink, error) {
	enc, err := OutputEncoding(encoding, path, stdout)
	if err != nil {
		return nil, err
	}
	return &Sink{path, enc, stdout}, nil
}

// WriteRecords writes c's records to s with fn: WriteFile with a Writer of
// s's encoding, closed before the file is renamed.
func WriteRecords[T any](s *Sink, c *Codec[T], fn func(*Writer[T]) error) error {
	return WriteFile(s.path, s.stdout, func(out io.Writer) error {
		w := NewWriter(out, s.enc, c)
		if err := fn(w); err != nil {
			return err
		}
		return w.Close()
	})
}
