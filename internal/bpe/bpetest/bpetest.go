// Package bpetest makes the tokenizer.json fixtures that tests of vocabularies
// lacking byte tokens share (internal/bpe's unit tests, interop's comparison
// with HF tokenizers): a real file with some byte tokens deleted, as
// SmolLM2-135M's lacks 21 (../shared/docs/real-models.md).
package bpetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// SmolLM2Missing are the bytes SmolLM2-135M-Instruct's tokenizer.json has no token for.
var SmolLM2Missing = []byte{0x04, 0x06, 0x13, 0x14, 0x16, 0x1D, 0xC0, 0xC1, 0xF1, 0xF2,
	0xF5, 0xF6, 0xF7, 0xF8, 0xF9, 0xFA, 0xFB, 0xFC, 0xFD, 0xFE, 0xFF}

// Edit says how to change a byte-level tokenizer.json.
type Edit struct {
	Drop []byte // bytes whose tokens are deleted, with every merge that uses them
	// Unk, when not "", is the model's unk_token: appended to the vocab unless there.
	Unk     string
	FuseUnk bool
	// Fallback turns byte_fallback on and appends <0xNN> tokens for these bytes
	// (HF's fallback looks up the UTF-8 bytes of a byte-level char, not the byte).
	Fallback []byte
	// IgnoreMerges sets the model's ignore_merges.
	IgnoreMerges bool
	// Special are appended to the vocab and the added tokens (special, matched in the
	// raw text), as SmolLM2's <|im_start|> and <|im_end|> are vocab entries.
	Special []string
}

// Char is the byte-level char of byte b in a vocab (GPT-2's bytes_to_unicode).
func Char(b byte) string {
	if b >= '!' && b <= '~' || b >= 0xA1 && b <= 0xAC || b >= 0xAE {
		return string(rune(b))
	}
	next := rune(0x100)
	for c := range int(b) {
		if !(c >= '!' && c <= '~' || c >= 0xA1 && c <= 0xAC || c >= 0xAE) {
			next++
		}
	}
	return string(next)
}

// Write reads the tokenizer.json at src, applies e and writes the result as
// dir/tokenizer.json. It returns dir/tokenizer.json.
func Write(t testing.TB, src, dir string, e Edit) string {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	out, err := apply(data, e)
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	path := filepath.Join(dir, "tokenizer.json")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// apply is Write on the file's contents.
func apply(data []byte, e Edit) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // ids stay integers
	var f map[string]any
	if err := dec.Decode(&f); err != nil {
		return nil, err
	}
	m, ok := f["model"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("no model")
	}
	vocab, ok := m["vocab"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("no model.vocab")
	}
	// HF gives an added token outside the vocab the id after the vocab's size, which
	// deleting and appending entries would change (internal/bpe's addTokens): only
	// files whose added tokens are vocab entries (GPT-2's, SmolLM2's) are edited.
	next := int64(0) // the first id above the vocab's
	for _, v := range vocab {
		if n, err := v.(json.Number).Int64(); err == nil && n >= next {
			next = n + 1
		}
	}
	added, _ := f["added_tokens"].([]any)
	for _, a := range added {
		if c, _ := a.(map[string]any)["content"].(string); vocab[c] == nil {
			return nil, fmt.Errorf("added token %q is not a vocab entry", c)
		}
	}
	appendToken := func(tok string) {
		if _, ok := vocab[tok]; !ok {
			vocab[tok] = json.Number(fmt.Sprint(next))
			next++
		}
	}
	var dropped []string
	for _, b := range e.Drop {
		c := Char(b)
		if _, ok := vocab[c]; !ok {
			return nil, fmt.Errorf("no token for byte 0x%02x to drop", b)
		}
		delete(vocab, c)
		dropped = append(dropped, c)
	}
	if merges, ok := m["merges"].([]any); ok {
		kept := merges[:0]
		for _, mg := range merges {
			var pair []string
			switch v := mg.(type) {
			case string:
				pair = strings.SplitN(v, " ", 2)
			case []any:
				for _, p := range v {
					pair = append(pair, p.(string))
				}
			}
			uses := false
			for _, p := range pair {
				for _, c := range dropped {
					uses = uses || strings.Contains(p, c)
				}
			}
			if !uses {
				kept = append(kept, mg)
			}
		}
		m["merges"] = kept
	}
	if e.Unk != "" {
		appendToken(e.Unk)
		m["unk_token"] = e.Unk
	}
	m["fuse_unk"] = e.FuseUnk
	if e.Fallback != nil {
		m["byte_fallback"] = true
		for _, b := range e.Fallback {
			appendToken(fmt.Sprintf("<0x%02X>", b))
		}
	}
	for _, tok := range e.Special {
		appendToken(tok)
		added = append(added, map[string]any{"id": vocab[tok], "content": tok, "single_word": false,
			"lstrip": false, "rstrip": false, "normalized": false, "special": true})
	}
	f["added_tokens"] = added
	if e.IgnoreMerges {
		m["ignore_merges"] = true
	}
	return json.Marshal(f)
}

// Cases are short texts that hold bytes of SmolLM2Missing.
var Cases = []string{"Hello \x04 world", "!\x04!", "a\x04b", "\x06\x04", "\x04\x06\x13 x\x14\x16\x1d",
	"\U00040000", "x\U0008FFFF y", "<|endoftext|>\x04<|endoftext|>", "\x04", " \x04\x04 ", "\x1d\n\x1d"}

// Texts returns n valid UTF-8 texts that hold bytes of SmolLM2Missing: Cases, then
// lines of base with such chars inserted at random char boundaries (control chars alone
// and in runs, 4-byte chars whose lead byte is 0xF1 or 0xF2). The bytes
// 0xC0, 0xC1 and 0xF5–0xFF never occur in valid UTF-8; HF's Python API takes only
// valid text, so tests in Go add those themselves.
func Texts(base []string, n int, seed int64) []string {
	out := slices.Clone(Cases)
	rng := rand.New(rand.NewSource(seed))
	controls := []rune{0x04, 0x06, 0x13, 0x14, 0x16, 0x1D}
	insert := func() string {
		switch rng.Intn(4) {
		case 0:
			return string(controls[rng.Intn(len(controls))])
		case 1:
			var b strings.Builder
			for range 2 + rng.Intn(3) {
				b.WriteRune(controls[rng.Intn(len(controls))])
			}
			return b.String()
		case 2:
			return string(rune(0x40000 + rng.Intn(0x80000))) // F1 or F2 lead byte
		}
		return " " + string(controls[rng.Intn(len(controls))]) + " "
	}
	for len(out) < n && len(base) > 0 {
		r := []rune(base[rng.Intn(len(base))])
		for range 1 + rng.Intn(3) {
			at := rng.Intn(len(r) + 1)
			r = append(r[:at], append([]rune(insert()), r[at:]...)...)
		}
		out = append(out, string(r))
	}
	return out
}
