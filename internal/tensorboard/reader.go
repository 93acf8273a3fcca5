package tensorboard

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// Event is one decoded tensorflow.Event. Scalars and Histograms hold the
// event's simple_value and histo summary values by tag (nil when it has
// none); other summary kinds are skipped.
type Event struct {
	WallTime    float64
	Step        int64
	FileVersion string
	// SessionStart marks a SessionLog START event: TensorBoard drops every
	// event logged before it at its step or later (a resumed run's restart).
	SessionStart bool
	Scalars      map[string]float64
	Histograms   map[string]Histogram
}

var (
	// ErrTruncated marks a file that ends partway through a record, as one
	// does after its writer is killed mid-write (or while it is still
	// writing). The records before the cut are intact.
	ErrTruncated = errors.New("truncated record")
	// ErrCorrupt marks a record that fails its CRC or does not decode.
	ErrCorrupt = errors.New("corrupt record")
)

// ReadFile decodes every event in an event file, verifying both CRCs of each
// record. On a truncated or corrupt record it returns the events before it
// together with an error wrapping ErrTruncated or ErrCorrupt that names the
// file and the record's byte offset.
func ReadFile(path string) ([]Event, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tensorboard: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("tensorboard: %w", err)
	}
	// Reading only the size seen now gives a consistent answer for a file
	// still being appended to, and bounds the record lengths we allocate.
	size := st.Size()
	r := bufio.NewReader(io.LimitReader(f, size))
	var (
		events []Event
		header [12]byte
		data   []byte
	)
	for off := int64(0); off < size; {
		fail := func(kind error, format string, args ...any) ([]Event, error) {
			return events, fmt.Errorf("tensorboard: %s: offset %d: %w: %s", path, off, kind, fmt.Sprintf(format, args...))
		}
		if size-off < int64(len(header)) {
			return fail(ErrTruncated, "%d of %d header bytes", size-off, len(header))
		}
		if _, err := io.ReadFull(r, header[:]); err != nil {
			return events, fmt.Errorf("tensorboard: %s: %w", path, err)
		}
		if got, want := binary.LittleEndian.Uint32(header[8:]), maskedCRC(header[:8]); got != want {
			return fail(ErrCorrupt, "length CRC %#08x, want %#08x", got, want)
		}
		n := binary.LittleEndian.Uint64(header[:8])
		if rest := size - off - int64(len(header)); n > uint64(rest) || rest-int64(n) < 4 {
			return fail(ErrTruncated, "%d-byte record needs %d more bytes, file has %d", n, n+4, rest)
		}
		// Decoding copies out of data, so one buffer serves every record.
		if uint64(cap(data)) < n+4 {
			data = make([]byte, n+4)
		}
		data = data[:n+4]
		if _, err := io.ReadFull(r, data); err != nil {
			return events, fmt.Errorf("tensorboard: %s: %w", path, err)
		}
		body := data[:n]
		if got, want := binary.LittleEndian.Uint32(data[n:]), maskedCRC(body); got != want {
			return fail(ErrCorrupt, "data CRC %#08x, want %#08x", got, want)
		}
		ev, err := decodeEvent(body)
		if err != nil {
			return fail(ErrCorrupt, "event: %v", err)
		}
		events = append(events, ev)
		off += int64(len(header)) + int64(n) + 4
	}
	return events, nil
}
