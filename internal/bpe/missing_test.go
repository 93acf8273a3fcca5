package bpe

import (
	"slices"
	"strings"
	"testing"

	"github.com/ytrain/ytrain/internal/bpe/bpetest"
	"github.com/ytrain/ytrain/internal/testenv"
)

// Vocabs that lack byte tokens (SmolLM2's lacks 21): interop's TestMissingBytesMatchHF
// compares them with HF tokenizers; these tests check what follows from HF's BPE
// without Python, invalid UTF-8 included, which HF's Python API cannot take.

// missingVariant is the shared GPT-2 file without SmolLM2's missing bytes, edited by e.
func missingVariant(t testing.TB, e bpetest.Edit) *Tokenizer {
	t.Helper()
	e.Drop = bpetest.SmolLM2Missing
	path := bpetest.Write(t, testenv.SharedPath(t, "tokenizers", "gpt2", fileName), t.TempDir(), e)
	tok, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// missingTexts are golden texts with missing bytes inserted, the fixed cases of
// bpetest.Texts, and invalid UTF-8 with bytes that only such text has.
func missingTexts(t *testing.T) []string {
	in := bpetest.Texts(texts(t, "corpus"), 2000, 1)
	for _, s := range []string{"a\xc0b", "\xff\xfe\xfd", "x \xf5\x80\x80\x80 y", "\xc1\x04!", "é\xc0é", "\xf1", "ok\xf2\x80"} {
		in = append(in, s, "Hello "+s+" world")
	}
	return in
}

// TestCharTable: bpetest's byte-level chars are this package's.
func TestCharTable(t *testing.T) {
	for b, r := range byteChar {
		if got := bpetest.Char(byte(b)); got != string(r) {
			t.Fatalf("byte 0x%02x: bpetest.Char %q, byteChar %q", b, got, r)
		}
	}
}

// strip is s without the bytes tok has no token for.
func (t *Tokenizer) strip(s string, with string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if t.model.byteIDs[s[i]] < 0 {
			b.WriteString(with)
		} else {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// TestMissingBytesGolden: on golden texts without a missing byte the ids are HF's (the
// deleted merges only ever applied to the deleted chars); texts with one are counted.
func TestMissingBytesGolden(t *testing.T) {
	tok := missingVariant(t, bpetest.Edit{})
	for _, corpus := range corpora {
		in := texts(t, corpus)
		want := testenv.ReadJSONL[[]int32](t, testenv.SharedPath(t, "tokenizers", "golden", corpus+".gpt2.ids.jsonl"))
		same, with := 0, 0
		for i, s := range in {
			if tok.strip(s, "") != s {
				with++
				continue
			}
			if got := tok.Encode(s); !slices.Equal(got, want[i]) {
				t.Errorf("%s line %d %q:\n got  %s\n want %s", corpus, i+1, clip(s), tok.show(got), tok.show(want[i]))
				continue
			}
			same++
		}
		t.Logf("%s: %d texts as HF, %d hold a missing byte", corpus, same, with)
	}
}

// TestMissingBytesDecode: without unk_token a missing byte is dropped, with one each
// byte becomes unk (a run within a word one unk under fuse_unk); so decoding gives the
// text less those bytes, or with "<unk>" for them. Offsets point at each token's
// first byte.
func TestMissingBytesDecode(t *testing.T) {
	drop := missingVariant(t, bpetest.Edit{})
	unk := missingVariant(t, bpetest.Edit{Unk: "<unk>"})
	fused := missingVariant(t, bpetest.Edit{Unk: "<unk>", FuseUnk: true})
	unkID, _ := unk.TokenID("<unk>")
	for _, s := range missingTexts(t) {
		if got, want := drop.Decode(drop.Encode(s)), lossyString([]byte(drop.strip(s, ""))); got != want {
			t.Errorf("%q without unk: decoded %q, want %q", clip(s), clip(got), clip(want))
		}
		ids := unk.Encode(s)
		if got, want := unk.Decode(ids), lossyString([]byte(unk.strip(s, "<unk>"))); got != want {
			t.Errorf("%q with unk: decoded %q, want %q", clip(s), clip(got), clip(want))
		}
		// An unk never merges, and in GPT-2's split a run of missing bytes is never
		// cut (they are all "other" chars to its regex, invalid bytes as U+FFFD): so
		// fuse_unk turns each run of unks into one.
		runs := slices.CompactFunc(slices.Clone(ids), func(a, b int32) bool { return a == unkID && b == unkID })
		if got := fused.Encode(s); !slices.Equal(got, runs) {
			t.Errorf("%q fused:\n got  %s\n want %s", clip(s), fused.show(got), fused.show(runs))
		}
		for _, tok := range []*Tokenizer{drop, unk, fused} {
			checkStarts(t, tok, s)
		}
	}
}

// checkStarts: EncodeOffsets gives Encode's ids, starts that never decrease, and each
// token's bytes at its start (missing bytes skipped); an unk starts at a missing byte.
func checkStarts(t *testing.T, tok *Tokenizer, s string) {
	t.Helper()
	ids, starts := tok.EncodeOffsets(s)
	if !slices.Equal(ids, tok.Encode(s)) || len(starts) != len(ids) || !slices.IsSorted(starts) {
		t.Fatalf("%q: EncodeOffsets ids %v, starts %v; Encode %v", clip(s), ids, starts, tok.Encode(s))
	}
	for i, id := range ids {
		end := len(s)
		if i+1 < len(ids) {
			end = int(starts[i+1])
		}
		if id == tok.model.unk {
			if tok.model.byteIDs[s[starts[i]]] >= 0 {
				t.Fatalf("%q: unk %d starts at %d, byte 0x%02x", clip(s), i, starts[i], s[starts[i]])
			}
			continue
		}
		if got := tok.strip(s[starts[i]:end], ""); got != tok.decoded[id] {
			t.Fatalf("%q: token %d (%q) starts at %d, where the text is %q", clip(s), i, tok.decoded[id], starts[i], got)
		}
	}
}

// TestMissingBytesSynthetic: HF's BPE::merge_word, case by case, on a vocab of all bytes
// but some, as the file writes the tokens.
func TestMissingBytesSynthetic(t *testing.T) {
	// edit deletes the tokens of bytes drop, adds the extra ones and sets the model's
	// fields. The added token goes (its id would depend on the vocab's size), and so does
	// the GPT-2 regex: each text is one word.
	edit := func(drop []byte, fields map[string]any, extra ...string) func(map[string]any) {
		return func(f map[string]any) {
			f["added_tokens"] = []any{}
			f["pre_tokenizer"].(map[string]any)["use_regex"] = false
			m := f["model"].(map[string]any)
			vocab := m["vocab"].(map[string]any)
			for _, b := range drop {
				delete(vocab, string(byteChar[b]))
			}
			for i, tok := range extra {
				vocab[tok] = 300 + i
			}
			for k, v := range fields {
				m[k] = v
			}
		}
	}
	// byte 0x04's char is U+0104 (UTF-8 C4 84), 0x06's U+0106 (C4 86)
	for _, c := range []struct {
		name string
		edit func(map[string]any)
		text string
		want string
	}{
		{"dropped", edit([]byte{4}, nil), "ab\x04 ab", "ab Ġab"},
		{"neighbours merge", edit([]byte{4}, nil), "a\x04b", "ab"},
		{"all dropped", edit([]byte{4}, nil), "\x04\x04", ""},
		{"unk", edit([]byte{4, 6}, map[string]any{"unk_token": "<unk>"}, "<unk>"), "a\x04\x06b", "a <unk> <unk> b"},
		{"unk splits a merge", edit([]byte{4}, map[string]any{"unk_token": "<unk>"}, "<unk>"), "a\x04b", "a <unk> b"},
		{"fuse_unk", edit([]byte{4, 6}, map[string]any{"unk_token": "<unk>", "fuse_unk": true}, "<unk>"), "a\x04\x06\x04b\x04", "a <unk> b <unk>"},
		{"byte_fallback", edit([]byte{4}, map[string]any{"byte_fallback": true}, "<0xC4>", "<0x84>"), "a\x04b", "a <0xC4> <0x84> b"},
		{"byte_fallback lacks a byte", edit([]byte{6}, map[string]any{"byte_fallback": true}, "<0xC4>", "<0x84>"), "a\x06b", "ab"},
		// HF holds the unk of 0x06 back until the next char with a token, so the
		// fallback tokens of 0x04 come before it
		{"unk held back", edit([]byte{4, 6}, map[string]any{"byte_fallback": true, "unk_token": "<unk>"}, "<unk>", "<0xC4>", "<0x84>"),
			"\x06\x04b", "<0xC4> <0x84> <unk> b"},
		{"ignore_merges", edit([]byte{4}, map[string]any{"ignore_merges": true}, "a\u0104b"), "a\x04b", "a\u0104b"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tok, err := synthetic(t, c.edit)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, id := range tok.Encode(c.text) {
				got = append(got, tok.tokenString(id))
			}
			if g := strings.Join(got, " "); g != c.want {
				t.Errorf("%q: got %q, want %q", c.text, g, c.want)
			}
			ids, starts := tok.EncodeOffsets(c.text)
			if !slices.Equal(ids, tok.Encode(c.text)) || !slices.IsSorted(starts) || len(starts) > 0 && int(starts[len(starts)-1]) >= len(c.text) {
				t.Errorf("%q: EncodeOffsets %v at %v", c.text, ids, starts)
			}
		})
	}
}
