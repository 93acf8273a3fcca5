package formats

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
)

// PeekKind tells which record kind ("token", "packed" or "score") a stream
// holds, from its Arrow schema or its first JSON line, without consuming
// anything: tools that accept several kinds pick their reader with it.
func PeekKind(br *bufio.Reader) (string, error) {
	enc, err := Detect(br)
	if err != nil {
		return "", err
	}
	var names []string
	if enc == Arrow {
		if names, err = peekArrowFields(br); err != nil {
			return "", err
		}
	} else {
		line, err := peekLine(br)
		if err != nil {
			return "", err
		}
		var rec map[string]json.RawMessage
		if err := json.Unmarshal(line, &rec); err != nil {
			return "", fmt.Errorf("line 1: %w", err)
		}
		for k := range rec {
			names = append(names, k)
		}
	}
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

func peekLine(br *bufio.Reader) ([]byte, error) {
	for n := 4096; ; n *= 2 {
		b, err := br.Peek(n)
		b = bytes.TrimLeft(b, " \t\r\n")
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			return b[:i], nil
		}
		if err != nil { // the whole input is one line
			return b, nil
		}
		if n > br.Size() {
			return nil, errors.New("first line longer than the read buffer")
		}
	}
}

// peekArrowFields reads the field names of the schema message at the head
// of an Arrow stream.
func peekArrowFields(br *bufio.Reader) ([]string, error) {
	head, err := br.Peek(8)
	if err != nil {
		return nil, fmt.Errorf("truncated Arrow stream: %w", err)
	}
	n := int(binary.LittleEndian.Uint32(head[4:]))
	if n <= 0 || n > br.Size()-8 {
		return nil, fmt.Errorf("Arrow schema message of %d bytes", n)
	}
	msg, err := br.Peek(8 + n)
	if err != nil {
		return nil, fmt.Errorf("truncated Arrow schema: %w", err)
	}
	meta := msg[8:]
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
