package formats

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// PeekKind tells which record kind ("token", "packed" or "score") a stream
// holds, from its Arrow schema or its first JSON line, so that tools that
// accept several record kinds can pick their reader. Read the stream from the
// returned reader: br itself, untouched, unless the first JSON line was
// longer than br's buffer and had to be read (a 4096-token packed row is
// ~70 KB); then a reader that gives that line back first.
func PeekKind(br *bufio.Reader) (string, *bufio.Reader, error) {
	enc, err := Detect(br)
	if err != nil {
		return "", br, err
	}
	if enc == Arrow {
		names, err := peekArrowFields(br)
		if err != nil {
			return "", br, err
		}
		kind, err := kindOf(names)
		return kind, br, err
	}
	line, rest, err := firstLine(br)
	if err != nil {
		return "", rest, err
	}
	var rec map[string]json.RawMessage
	if err := json.Unmarshal(line, &rec); err != nil {
		return "", rest, fmt.Errorf("line 1: %s", jsonError(err))
	}
	names := make([]string, 0, len(rec))
	for k := range rec {
		names = append(names, k)
	}
	kind, err := kindOf(names)
	return kind, rest, err
}

// kindOf tells a record kind from its field names.
func kindOf(names []string) (string, error) {
	has := map[string]bool{}
	for _, n := range names {
		has[n] = true
	}
	switch {
	case has["segment_ids"]:
		return PackedCodec.Kind, nil
	case has["loss"]:
		return ScoreCodec.Kind, nil
	case has["input_ids"]:
		return TokenCodec.Kind, nil
	}
	return "", errors.New("neither token, packed nor score records (no input_ids, segment_ids or loss field)")
}

// firstLine returns the first non-blank line of br, peeked when it fits
// the buffer; otherwise read, and put back in front of the rest.
func firstLine(br *bufio.Reader) ([]byte, *bufio.Reader, error) {
	for n := min(4096, br.Size()); ; n = min(2*n, br.Size()) {
		b, err := br.Peek(n)
		t := bytes.TrimLeft(b, " \t\r\n")
		if i := bytes.IndexByte(t, '\n'); i >= 0 {
			return t[:i], br, nil
		}
		if err != nil { // the whole input is one line
			return t, br, nil
		}
		if n == br.Size() {
			break
		}
	}
	head, err := br.ReadBytes('\n')
	if err != nil && err != io.EOF {
		return nil, br, err
	}
	rest := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(head), br), br.Size())
	return bytes.TrimSpace(head), rest, nil
}

// peekArrowFields reads the field names of the schema message at the head
// of an Arrow stream.
func peekArrowFields(br *bufio.Reader) ([]string, error) {
	skip := 0 // an Arrow file's header
	if head, _ := br.Peek(8); bytes.HasPrefix(head, arrowFileMagic) {
		skip = 8
	}
	head, err := br.Peek(skip + 8)
	if err != nil {
		return nil, fmt.Errorf("truncated Arrow stream: %w", err)
	}
	head = head[skip:]
	n := int(binary.LittleEndian.Uint32(head[4:]))
	if n <= 0 || n > br.Size()-8-skip {
		return nil, fmt.Errorf("Arrow schema message of %d bytes", n)
	}
	msg, err := br.Peek(skip + 8 + n)
	if err != nil {
		return nil, fmt.Errorf("truncated Arrow schema: %w", err)
	}
	meta := msg[skip+8:]
	if _, err := checkMessage(meta); err != nil {
		return nil, fmt.Errorf("corrupt Arrow schema: %w", err)
	}
	b := fb(meta)
	root, _ := b.u32(0)
	schema, _ := b.ref(root, msgHeader)
	var names []string
	err = b.tables(schema, 1, func(f int) error {
		v, _ := b.ref(f, 0)
		if v != 0 {
			l, _ := b.u32(v)
			names = append(names, string(b[v+4:v+4+l]))
		}
		return nil
	})
	return names, err
}
