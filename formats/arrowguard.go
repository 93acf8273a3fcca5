package formats

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

// guardedMessages frames an Arrow IPC stream itself instead of leaving it to
// arrow's message reader, which trusts the lengths it reads: a corrupt or
// truncated stream could make it allocate tens of gigabytes (a fatal
// out-of-memory, not an error). Each message's metadata is checked so that
// no length it declares exceeds the bytes that could back it, and bodies are
// read as they arrive rather than allocated up front.
//
// In an Arrow IPC file (file set) the messages end where the footer starts:
// at an end-of-stream marker (pyarrow writes one) or at the first word that
// is not a continuation marker (arrow's Go writer writes none). The footer
// is then checked to end the file as the format says: its length, then
// "ARROW1"; anything else is a truncated or corrupt file.
type guardedMessages struct {
	r    io.Reader
	msg  *ipc.Message
	end  bool // the end-of-stream marker (or a file's footer) was read: the IPC spec makes the marker optional
	file bool // an Arrow IPC file, after its 8-byte header
}

const (
	maxMetadata = 16 << 20 // a schema or batch header; ours are a few hundred bytes
	maxBody     = 1 << 34
)

func (g *guardedMessages) Message() (*ipc.Message, error) {
	var word [4]byte
	if _, err := io.ReadFull(g.r, word[:]); err == io.EOF && g.file {
		return nil, errors.New("truncated Arrow file (no footer)")
	} else if err == io.EOF {
		return nil, io.EOF // between messages, without the marker: the caller warns
	} else if err != nil {
		return nil, fmt.Errorf("truncated stream (no end-of-stream marker): %w", err)
	}
	n := binary.LittleEndian.Uint32(word[:])
	if g.file && n != 0xffffffff {
		return nil, g.footer(word[:])
	}
	if n == 0xffffffff {
		if _, err := io.ReadFull(g.r, word[:]); err != nil {
			return nil, fmt.Errorf("truncated message length: %w", err)
		}
		n = binary.LittleEndian.Uint32(word[:])
	}
	if n == 0 {
		g.end = true
		if g.file {
			return nil, g.footer(nil)
		}
		return nil, io.EOF
	}
	if n > maxMetadata {
		return nil, fmt.Errorf("message metadata of %d bytes (corrupt stream?)", n)
	}
	meta := make([]byte, n)
	if _, err := io.ReadFull(g.r, meta); err != nil {
		return nil, fmt.Errorf("truncated message metadata: %w", err)
	}
	bodyLen, err := checkMessage(meta)
	if err != nil {
		return nil, fmt.Errorf("corrupt message metadata: %w", err)
	}
	body, err := io.ReadAll(io.LimitReader(g.r, bodyLen))
	if err != nil {
		return nil, err
	}
	if int64(len(body)) != bodyLen {
		return nil, fmt.Errorf("truncated message body: %d of %d bytes", len(body), bodyLen)
	}
	g.Release()
	g.msg = ipc.NewMessage(memory.NewBufferBytes(meta), memory.NewBufferBytes(body))
	return g.msg, nil
}

// footer reads the rest of an Arrow file (head: bytes of it already read)
// and returns io.EOF when it is a footer, its length and the closing magic.
func (g *guardedMessages) footer(head []byte) error {
	rest, err := io.ReadAll(io.LimitReader(g.r, maxMetadata))
	if err != nil {
		return err
	}
	b := append(append([]byte{}, head...), rest...)
	if len(b) < 10 || !bytes.HasSuffix(b, arrowFileMagic) {
		return errors.New("truncated Arrow file (no footer)")
	}
	if n := binary.LittleEndian.Uint32(b[len(b)-10:]); int(n) != len(b)-10 {
		return fmt.Errorf("corrupt Arrow file: footer of %d bytes declared, %d found", n, len(b)-10)
	}
	g.end = true
	return io.EOF
}

func (g *guardedMessages) Retain() {}

func (g *guardedMessages) Release() {
	if g.msg != nil {
		g.msg.Release()
		g.msg = nil
	}
}

// fb reads a flatbuffer with every access bounds-checked.
type fb []byte

var errBounds = errors.New("offset out of range")

func (b fb) u32(p int) (int, error) {
	if p < 0 || p+4 > len(b) {
		return 0, errBounds
	}
	return int(binary.LittleEndian.Uint32(b[p:])), nil
}

// field returns the absolute position of slot i of the table at p, or 0 when
// the slot is absent.
func (b fb) field(p, i int) (int, error) {
	so, err := b.u32(p)
	if err != nil {
		return 0, err
	}
	vt := p - int(int32(so))
	if vt < 0 || vt+4 > len(b) {
		return 0, errBounds
	}
	size := int(binary.LittleEndian.Uint16(b[vt:]))
	at := vt + 4 + 2*i
	if at+2 > vt+size || at+2 > len(b) {
		return 0, nil
	}
	off := int(binary.LittleEndian.Uint16(b[at:]))
	if off == 0 {
		return 0, nil
	}
	return p + off, nil
}

// ref follows the offset stored in slot i (a table, vector or string); 0
// when absent.
func (b fb) ref(p, i int) (int, error) {
	f, err := b.field(p, i)
	if err != nil || f == 0 {
		return 0, err
	}
	o, err := b.u32(f)
	if err != nil {
		return 0, err
	}
	if f+o >= len(b) {
		return 0, errBounds
	}
	return f + o, nil
}

// vector checks the vector in slot i against the buffer and returns its
// length and the position of its first element.
func (b fb) vector(p, i, elem int) (n, first int, err error) {
	v, err := b.ref(p, i)
	if err != nil || v == 0 {
		return 0, 0, err
	}
	if n, err = b.u32(v); err != nil {
		return 0, 0, err
	}
	if n > (len(b)-v-4)/elem {
		return 0, 0, fmt.Errorf("vector of %d elements in %d bytes", n, len(b))
	}
	return n, v + 4, nil
}

// tables checks a vector of tables and calls fn on each element.
func (b fb) tables(p, i int, fn func(int) error) error {
	n, first, err := b.vector(p, i, 4)
	if err != nil {
		return err
	}
	for k := 0; k < n; k++ {
		e := first + 4*k
		o, _ := b.u32(e)
		if e+o >= len(b) {
			return errBounds
		}
		if err := fn(e + o); err != nil {
			return err
		}
	}
	return nil
}

// Arrow's Message.fbs: slots and union tags used below.
const (
	msgHeaderType, msgHeader, msgBodyLength, msgMetadata = 1, 2, 3, 4
	headerSchema, headerDictionary, headerBatch          = 1, 2, 3
)

func checkMessage(meta []byte) (int64, error) {
	b := fb(meta)
	root, err := b.u32(0)
	if err != nil {
		return 0, err
	}
	bl, err := b.field(root, msgBodyLength)
	if err != nil {
		return 0, err
	}
	var bodyLen int64
	if bl != 0 {
		if bl+8 > len(b) {
			return 0, errBounds
		}
		bodyLen = int64(binary.LittleEndian.Uint64(b[bl:]))
	}
	if bodyLen < 0 || bodyLen > maxBody {
		return 0, fmt.Errorf("body length %d", bodyLen)
	}
	if err := b.tables(root, msgMetadata, func(int) error { return nil }); err != nil {
		return 0, err
	}
	ht, err := b.field(root, msgHeaderType)
	if err != nil || ht == 0 || ht >= len(b) {
		return 0, errors.New("no message header")
	}
	h, err := b.ref(root, msgHeader)
	if err != nil || h == 0 {
		return 0, errors.New("no message header")
	}
	switch b[ht] {
	case headerSchema:
		return bodyLen, b.checkSchema(h)
	case headerBatch:
		return bodyLen, b.checkBatch(h, bodyLen)
	case headerDictionary:
		d, err := b.ref(h, 1)
		if err != nil || d == 0 {
			return 0, errors.New("dictionary batch without data")
		}
		return bodyLen, b.checkBatch(d, bodyLen)
	}
	return 0, fmt.Errorf("unknown message type %d", b[ht])
}

func (b fb) checkSchema(p int) error {
	if err := b.tables(p, 2, func(int) error { return nil }); err != nil { // custom_metadata
		return err
	}
	if _, _, err := b.vector(p, 3, 8); err != nil { // features
		return err
	}
	return b.tables(p, 1, func(f int) error { return b.checkField(f, 0) })
}

func (b fb) checkField(p, depth int) error {
	if depth > 32 {
		return errors.New("fields nested too deep")
	}
	if _, _, err := b.vector(p, 0, 1); err != nil { // name
		return err
	}
	if err := b.tables(p, 6, func(int) error { return nil }); err != nil { // custom_metadata
		return err
	}
	return b.tables(p, 5, func(c int) error { return b.checkField(c, depth+1) })
}

// checkBatch bounds the declared array lengths by the body size: every array
// of n values needs at least n/8 bytes (a bitmap) in the body.
func (b fb) checkBatch(p int, bodyLen int64) error {
	limit := 8*bodyLen + 64
	if l, err := b.field(p, 0); err != nil {
		return err
	} else if l != 0 {
		if l+8 > len(b) {
			return errBounds
		}
		if n := int64(binary.LittleEndian.Uint64(b[l:])); n < 0 || n > limit {
			return fmt.Errorf("batch of %d rows in a %d-byte body", n, bodyLen)
		}
	}
	n, first, err := b.vector(p, 1, 16) // nodes: {length, null_count int64}
	if err != nil {
		return err
	}
	for k := 0; k < n; k++ {
		if v := int64(binary.LittleEndian.Uint64(b[first+16*k:])); v < 0 || v > limit {
			return fmt.Errorf("array of %d values in a %d-byte body", v, bodyLen)
		}
	}
	n, first, err = b.vector(p, 2, 16) // buffers: {offset, length int64}
	if err != nil {
		return err
	}
	for k := 0; k < n; k++ {
		off := int64(binary.LittleEndian.Uint64(b[first+16*k:]))
		ln := int64(binary.LittleEndian.Uint64(b[first+16*k+8:]))
		if off < 0 || ln < 0 || off > bodyLen || ln > bodyLen-off {
			return fmt.Errorf("buffer [%d, +%d) outside a %d-byte body", off, ln, bodyLen)
		}
	}
	_, _, err = b.vector(p, 4, 8) // variadicBufferCounts
	return err
}
