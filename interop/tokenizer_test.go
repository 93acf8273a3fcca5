package interop_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ytrain/ytrain/internal/bpe"
	"github.com/ytrain/ytrain/internal/bpe/bpetest"
	"github.com/ytrain/ytrain/internal/testenv"
)

// Byte-level vocabs without some byte tokens (SmolLM2-135M's lacks 21) encode
// and decode as in HF tokenizers: GPT-2's file less those bytes, with
// unk_token null (the byte is dropped), set, fused, with byte_fallback, and
// less bytes that merges use too (and with ignore_merges), on the shared
// golden texts and on texts holding the missing bytes. Ids must be equal on
// every text, and bpe's Decode of HF's ids must be HF's decode.
func TestMissingBytesMatchHF(t *testing.T) {
	testenv.Python(t)
	work := t.TempDir()
	src := testenv.SharedPath(t, "tokenizers", "gpt2", "tokenizer.json")
	smol := bpetest.SmolLM2Missing
	more := append(slices.Clone(smol), '\n', 'x', 0xE2) // 'x' and 0xE2 (“, ’, —) are in many merges
	variants := map[string]bpetest.Edit{
		"drop":          {Drop: smol},
		"unk":           {Drop: smol, Unk: "<unk>"},
		"fuse-unk":      {Drop: smol, Unk: "<unk>", FuseUnk: true},
		"byte-fallback": {Drop: smol, Unk: "<unk>", Fallback: []byte{0xC4, 0x84, 0x86, 0x93, 0xC3, 0xB1}}, // 0x04 0x06 0x13 0xF1's chars
		"drop-merged":   {Drop: more},
		"ignore-merges": {Drop: more, IgnoreMerges: true},
	}
	var names, paths []string
	for name, e := range variants {
		names = append(names, name)
		paths = append(paths, bpetest.Write(t, src, filepath.Join(work, name), e))
	}
	var texts []string
	for _, corpus := range []string{"corpus", "stress"} {
		texts = append(texts, testenv.ReadJSONL[string](t, testenv.SharedPath(t, "tokenizers", "golden", corpus+".jsonl"))...)
	}
	texts = append(texts, bpetest.Texts(texts[:5620], 3000, 1)...)
	textsPath := filepath.Join(work, "texts.jsonl")
	f, err := os.Create(textsPath)
	if err != nil {
		t.Fatal(err)
	}
	enc := json.NewEncoder(f)
	for _, s := range texts {
		enc.Encode(s)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	var want map[string]struct {
		IDs     [][]int32 `json:"ids"`
		Decoded []string  `json:"decoded"`
	}
	hf(t, work, &want, append([]string{"encode", textsPath}, paths...)...)
	for i, name := range names {
		t.Run(name, func(t *testing.T) {
			tok, err := bpe.Load(paths[i])
			if err != nil {
				t.Fatal(err)
			}
			w := want[paths[i]]
			if len(w.IDs) != len(texts) || len(w.Decoded) != len(texts) {
				t.Fatalf("HF encoded %d texts, decoded %d, of %d", len(w.IDs), len(w.Decoded), len(texts))
			}
			idsBad, decBad, missing := 0, 0, 0
			for k, s := range texts {
				got := tok.Encode(s)
				if !slices.Equal(got, w.IDs[k]) {
					if idsBad++; idsBad <= 5 {
						t.Errorf("text %d %q:\n got  %v\n want %v", k, clip(s), got, w.IDs[k])
					}
				}
				if d := tok.Decode(w.IDs[k]); d != w.Decoded[k] {
					if decBad++; decBad <= 5 {
						t.Errorf("text %d %q: Decode(HF's ids) %q, HF %q", k, clip(s), clip(d), clip(w.Decoded[k]))
					}
				}
				if d := tok.Decode(got); d != s {
					missing++ // a missing byte (or unk) changed the text
				}
			}
			t.Logf("%s: ids equal on %d/%d texts, decoding on %d/%d; %d texts hold bytes without a token",
				name, len(texts)-idsBad, len(texts), len(texts)-decBad, len(texts), missing)
			if missing == 0 {
				t.Error("no text holds a missing byte: the comparison proves nothing")
			}
		})
	}
}

func clip(s string) string {
	if len(s) > 100 {
		return s[:100] + "…"
	}
	return s
}
