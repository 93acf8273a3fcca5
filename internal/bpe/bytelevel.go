package bpe

import "unicode/utf8"

// byteChar is GPT-2's bytes_to_unicode table, which HF's ByteLevel uses: the printable
// Latin-1 bytes stand for themselves and the other 68 bytes, in order, for U+0100….
// Vocab entries are written in these chars, one char per byte of the original text.
var byteChar = func() (t [256]rune) {
	next := rune(0x100)
	for b := range 256 {
		if b >= '!' && b <= '~' || b >= 0xA1 && b <= 0xAC || b >= 0xAE {
			t[b] = rune(b)
		} else {
			t[b] = next
			next++
		}
	}
	return t
}()

// charByte inverts byteChar; its chars all lie below U+0144.
var charByte = func() (t [0x144]int16) {
	for i := range t {
		t[i] = -1
	}
	for b, r := range byteChar {
		t[r] = int16(b)
	}
	return t
}()

// byteLevelDecode is HF's ByteLevel decoder for one token: its byte-level chars turned
// back into bytes, or, when any char is outside the table (such as an added token with
// a space in it), the token's own UTF-8 bytes.
func byteLevelDecode(tok string) string {
	out := make([]byte, 0, len(tok))
	for _, r := range tok {
		if r >= rune(len(charByte)) || charByte[r] < 0 {
			return tok
		}
		out = append(out, byte(charByte[r]))
	}
	return string(out)
}

// lossyString is Rust's String::from_utf8_lossy, which HF's decode ends with: every
// maximal prefix of a valid UTF-8 sequence that is cut short becomes one U+FFFD. Go's
// strings.ToValidUTF8 differs: it turns a whole run of bad bytes into a single U+FFFD.
func lossyString(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	out := make([]byte, 0, len(b)+8)
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError || n > 1 {
			out = append(out, b[i:i+n]...)
			i += n
			continue
		}
		i += 1 + validContinuations(b[i:])
		out = utf8.AppendRune(out, utf8.RuneError)
	}
	return string(out)
}

// validContinuations counts the continuation bytes after the lead byte b[0] that still
// fit a valid UTF-8 sequence (Unicode's "maximal subpart"), for a b that does not start
// with a complete valid sequence.
func validContinuations(b []byte) int {
	lo, hi, need := byte(0x80), byte(0xBF), 0
	switch c := b[0]; {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c == 0xE0:
		lo, need = 0xA0, 2
	case c == 0xED:
		hi, need = 0x9F, 2
	case c >= 0xE1 && c <= 0xEF:
		need = 2
	case c == 0xF0:
		lo, need = 0x90, 3
	case c == 0xF4:
		hi, need = 0x8F, 3
	case c >= 0xF1 && c <= 0xF3:
		need = 3
	}
	n := 0
	for n < need && 1+n < len(b) && b[1+n] >= lo && b[1+n] <= hi {
		n++
		lo, hi = 0x80, 0xBF // only the first continuation byte has a narrowed range
	}
	return n
}
