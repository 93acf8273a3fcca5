package bpe

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/dlclark/regexp2"
	"golang.org/x/text/unicode/norm"

	"github.com/ytrain/ytrain/internal/bpe/bpetest"
	"github.com/ytrain/ytrain/internal/testenv"
)

// The real tokenizers under ../shared/tokenizers, and their HF goldens.
var (
	tokNames = []string{"qwen3", "llama3", "gpt2"}
	corpora  = []string{"corpus", "stress"}
)

// loads caches one Load per path for the whole test binary (about 0.5 s each).
var loads sync.Map // path -> func() (*Tokenizer, error)

func loadShared(t testing.TB, name string) *Tokenizer {
	t.Helper()
	path := testenv.SharedPath(t, "tokenizers", name, fileName)
	f, _ := loads.LoadOrStore(path, sync.OnceValues(func() (*Tokenizer, error) { return Load(path) }))
	tok, err := f.(func() (*Tokenizer, error))()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func texts(t testing.TB, corpus string) []string {
	return testenv.ReadJSONL[string](t, testenv.SharedPath(t, "tokenizers", "golden", corpus+".jsonl"))
}

// TestGolden requires ids identical to HF tokenizers' on every golden string.
func TestGolden(t *testing.T) {
	for _, name := range tokNames {
		for _, corpus := range corpora {
			t.Run(name+"/"+corpus, func(t *testing.T) {
				t.Parallel()
				tok := loadShared(t, name)
				in := texts(t, corpus)
				want := testenv.ReadJSONL[[]int32](t, testenv.SharedPath(t, "tokenizers", "golden", corpus+"."+name+".ids.jsonl"))
				if len(in) != len(want) {
					t.Fatalf("%d texts but %d id lines", len(in), len(want))
				}
				bad := 0
				for i, s := range in {
					got := tok.Encode(s)
					if slices.Equal(got, want[i]) {
						continue
					}
					if bad++; bad <= 5 {
						t.Errorf("line %d %q:\n got  %s\n want %s", i+1, clip(s), tok.show(got), tok.show(want[i]))
					}
				}
				t.Logf("%d/%d exact", len(in)-bad, len(in))
				if bad > 0 {
					t.Errorf("%d/%d mismatches", bad, len(in))
				}
			})
		}
	}
}

// TestGoldenChat: rendered chat conversations, full and generation prompt.
func TestGoldenChat(t *testing.T) {
	type chat struct{ Full, Prompt string }
	type ids struct {
		FullIDs   []int32 `json:"full_ids"`
		PromptIDs []int32 `json:"prompt_ids"`
	}
	for _, name := range []string{"qwen3", "llama3"} {
		t.Run(name, func(t *testing.T) {
			tok := loadShared(t, name)
			in := testenv.ReadJSONL[chat](t, testenv.SharedPath(t, "tokenizers", "golden", "chat."+name+".jsonl"))
			want := testenv.ReadJSONL[ids](t, testenv.SharedPath(t, "tokenizers", "golden", "chat."+name+".ids.jsonl"))
			for i, c := range in {
				if got := tok.Encode(c.Full); !slices.Equal(got, want[i].FullIDs) {
					t.Errorf("conversation %d full:\n got  %s\n want %s", i, tok.show(got), tok.show(want[i].FullIDs))
				}
				if got := tok.Encode(c.Prompt); !slices.Equal(got, want[i].PromptIDs) {
					t.Errorf("conversation %d prompt:\n got  %s\n want %s", i, tok.show(got), tok.show(want[i].PromptIDs))
				}
			}
		})
	}
}

func clip(s string) string {
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return s
}

// show renders ids with their bytes, for mismatch reports.
func (t *Tokenizer) show(ids []int32) string {
	var b strings.Builder
	for i, id := range ids {
		if i == 40 {
			b.WriteString(" …")
			break
		}
		fmt.Fprintf(&b, " %d:%q", id, t.Decode([]int32{id}))
	}
	return b.String()
}

// TestDecodeRoundTrip: decode(encode(x)) == x, except where NFC changed x (Qwen3).
func TestDecodeRoundTrip(t *testing.T) {
	for _, name := range tokNames {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tok := loadShared(t, name)
			changed := 0
			for _, s := range texts(t, "corpus") {
				got := tok.Decode(tok.Encode(s))
				if tok.nfc && !norm.NFC.IsNormalString(s) {
					changed++
					if got != norm.NFC.String(s) {
						t.Errorf("%q: decoded %q, want its NFC form", clip(s), clip(got))
					}
					continue
				}
				if got != s {
					t.Errorf("%q: decoded %q", clip(s), clip(got))
				}
			}
			t.Logf("%d texts changed by NFC", changed)
		})
	}
}

// TestEncodeOffsets: the ids are HF's, and each token covers exactly its bytes of the
// text.
func TestEncodeOffsets(t *testing.T) {
	for _, name := range tokNames {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tok := loadShared(t, name)
			want := testenv.ReadJSONL[[]int32](t, testenv.SharedPath(t, "tokenizers", "golden", "corpus."+name+".ids.jsonl"))
			for line, s := range texts(t, "corpus") {
				ids, starts := tok.EncodeOffsets(s)
				if !slices.Equal(ids, want[line]) || len(starts) != len(ids) {
					t.Fatalf("%q: EncodeOffsets ids differ from HF's", clip(s))
				}
				if !slices.IsSorted(starts) {
					t.Fatalf("%q: starts decrease: %v", clip(s), starts)
				}
				if tok.nfc && !norm.NFC.IsNormalString(s) {
					continue // checked in TestEncodeOffsetsNFC
				}
				for i, id := range ids {
					end := len(s)
					if i+1 < len(ids) {
						end = int(starts[i+1])
					}
					if s[starts[i]:end] != tok.decoded[id] {
						t.Fatalf("%q: token %d (%d) starts at %d, its text is %q", clip(s), i, id, starts[i], s[starts[i]:end])
					}
				}
			}
		})
	}
}

// FuzzEncode: on any input, invalid UTF-8 included, the RE2 emulation splits like
// regexp2, the tokens' bytes are the input's (where NFC keeps it; less the bytes a
// vocab lacks), and the offsets agree.
func FuzzEncode(f *testing.F) {
	for _, s := range []string{"", "Hello  world\n\n", "a\xffb\xe2\x82", "Hello \x04\xc0 world", "\u00a0\u3000 x", "A\u030a<|im_end|>", "1234567 x", "<|endoftext|><|end"} {
		f.Add(s)
	}
	toks := []*Tokenizer{loadShared(f, "gpt2"), loadShared(f, "qwen3"), missingVariant(f, bpetest.Edit{})}
	var steps [][2]*splitStep
	for _, expr := range splitPatterns(f) {
		fast, slow := engines(f, expr)
		steps = append(steps, [2]*splitStep{fast, slow})
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, st := range steps {
			if a, b := pieces(st[0], s), pieces(st[1], s); !slices.Equal(a, b) {
				t.Fatalf("%q: RE2 %v, regexp2 %v", s, a, b)
			}
		}
		for _, tok := range toks {
			ids, starts := tok.EncodeOffsets(s)
			if !slices.Equal(ids, tok.Encode(s)) || !slices.IsSorted(starts) || len(starts) > 0 && (starts[0] < 0 || int(starts[len(starts)-1]) >= len(s)) {
				t.Fatalf("%q: ids %v, starts %v", s, ids, starts)
			}
			if tok.nfc && !norm.NFC.IsNormalString(s) {
				continue
			}
			var b strings.Builder
			for _, id := range ids {
				b.WriteString(tok.decoded[id])
			}
			if b.String() != tok.strip(s, "") { // the bytes without a token are dropped
				t.Fatalf("%q: tokens spell %q", s, b.String())
			}
		}
	})
}

func TestEncodeOffsetsNFC(t *testing.T) {
	tok := loadShared(t, "qwen3")
	// NFC makes "A\u030a" (bytes 0-2) one char, "Å", whose tokens start at 0; then come
	// "," at 3, " ok" at 4, <|im_end|> at 7, and "e\u0301" at 17 becomes "é".
	s := "A\u030a, ok<|im_end|>e\u0301"
	ids, starts := tok.EncodeOffsets(s)
	if want := tok.Encode(s); !slices.Equal(ids, want) {
		t.Fatalf("ids %v, want %v", ids, want)
	}
	end, _ := tok.TokenID("<|im_end|>")
	i := slices.Index(ids, end)
	if i < 3 || !slices.Equal(starts[i-2:i+1], []int32{3, 4, 7}) ||
		slices.ContainsFunc(starts[:i-2], func(st int32) bool { return st != 0 }) ||
		slices.ContainsFunc(starts[i+1:], func(st int32) bool { return st != 17 }) {
		t.Fatalf("starts %v for tokens %s", starts, tok.show(ids))
	}
}

// splitPatterns returns the GPT-2 pattern and the Split regexes of the real files.
func splitPatterns(t testing.TB) []string {
	patterns := []string{gpt2Pattern}
	for _, name := range tokNames {
		data, err := os.ReadFile(testenv.SharedPath(t, "tokenizers", name, fileName))
		if err != nil {
			t.Fatal(err)
		}
		var f struct{ PreTokenizer *component }
		if err := json.Unmarshal(data, &f); err != nil {
			t.Fatal(err)
		}
		for _, c := range flatten(f.PreTokenizer, nil) {
			if c.Pattern != nil && c.Pattern.Regex != nil && !slices.Contains(patterns, *c.Pattern.Regex) {
				patterns = append(patterns, *c.Pattern.Regex)
			}
		}
	}
	return patterns
}

// engines returns a pattern's split with the RE2 emulation and with regexp2.
func engines(t testing.TB, expr string) (emulation, fallback *splitStep) {
	emu, ok := newEmulated(expr)
	if !ok {
		t.Fatalf("%q: not emulated", expr)
	}
	return &splitStep{re: emu}, &splitStep{re: backtracking{regexp2.MustCompile(expr, regexp2.None)}}
}

// TestRegexEngines: the RE2 emulation and the regexp2 fallback split every golden text
// alike, with each real file's pattern; and the emulation is the one used for them.
func TestRegexEngines(t *testing.T) {
	var all []string
	for _, corpus := range corpora {
		lines := texts(t, corpus)
		all = append(all, lines...)
		// Long texts too: the emulation searches them in windows.
		for chunk := range slices.Chunk(lines, 200) {
			all = append(all, strings.Join(chunk, " "))
		}
	}
	for _, expr := range splitPatterns(t) {
		fast, slow := engines(t, expr)
		for _, s := range all {
			if a, b := pieces(fast, s), pieces(slow, s); !slices.Equal(a, b) {
				t.Errorf("%q on %q:\n RE2      %v\n regexp2  %v", expr, clip(s), a, b)
				break
			}
		}
	}
}

func pieces(st *splitStep, s string) (out [][2]int) {
	st.split(s, func(start, end int) { out = append(out, [2]int{start, end}) })
	return out
}

func TestEmulationRefuses(t *testing.T) {
	for _, expr := range []string{
		`\d+|\s+(?!\S)|\s+`,         // \d is ASCII in RE2
		`(?=a)b|\s+(?!\S)|\s+`,      // another look-around
		`^a|\s+(?!\S)|\s+`,          // anchor
		`[[:alpha:]]|\s+(?!\S)|\s+`, // nested class
		`a{,3}|\s+(?!\S)|\s+`,       // {,n} is literal in RE2
		`(?s:.)|\s+(?!\S)|\s+`,      // flags mean different things
		`a\s+(?!\S)|\s+`,            // the tail is not an alternative of its own
		`(a|\s+(?!\S)|\s+)`,         // … nor top-level
		`a*|\s+(?!\S)|\s+`,          // matches empty
		`\p{L}+`,                    // no tail: regexp2 keeps Oniguruma's meaning
	} {
		if _, ok := newEmulated(expr); ok {
			t.Errorf("%q: emulated", expr)
		}
	}
}

func TestLossyString(t *testing.T) {
	// Rust's String::from_utf8_lossy on the same bytes.
	for in, want := range map[string]string{
		"ok":                       "ok",
		"\xff\xfe":                 "\uFFFD\uFFFD",
		"\xe2\x82":                 "\uFFFD",
		"\xe2\x82A":                "\uFFFDA",
		"\xf0\x9f\x98":             "\uFFFD",
		"\xf0\x9f\x98\x80":         "😀",
		"\xed\xa0\x80":             "\uFFFD\uFFFD\uFFFD", // a surrogate
		"\xe0\x80\xaf":             "\uFFFD\uFFFD\uFFFD", // overlong
		"a\xc3\xa9\xc3":            "aé\uFFFD",
		"\xf4\x90\x80\x80":         "\uFFFD\uFFFD\uFFFD\uFFFD", // above U+10FFFF
		"\xf1\x80\x80\xe2\x82\xac": "\uFFFD€",
	} {
		if got := lossyString([]byte(in)); got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}

// TestConcurrent encodes from several goroutines with a fresh, cold word cache.
func TestConcurrent(t *testing.T) {
	tok, err := Load(testenv.SharedPath(t, "tokenizers", "gpt2"))
	if err != nil {
		t.Fatal(err)
	}
	in := texts(t, "stress")[:4000]
	want := testenv.ReadJSONL[[]int32](t, testenv.SharedPath(t, "tokenizers", "golden", "stress.gpt2.ids.jsonl"))
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for k := range in {
				i := (k + g*997) % len(in) // each goroutine in its own order
				if got := tok.Encode(in[i]); !slices.Equal(got, want[i]) {
					t.Errorf("goroutine %d, line %d: got %v, want %v", g, i+1, got, want[i])
					return
				}
			}
		})
	}
	wg.Wait()
}

// A small synthetic byte-level tokenizer, for the components the real files lack.

func synthetic(t *testing.T, edit func(f map[string]any)) (*Tokenizer, error) {
	t.Helper()
	vocab := map[string]any{}
	for b, r := range byteChar {
		vocab[string(r)] = b
	}
	vocab["ab"] = 256
	vocab["Ġab"] = 257
	f := map[string]any{
		"added_tokens":  []any{map[string]any{"id": 258, "content": "<s>", "special": true}},
		"normalizer":    nil,
		"pre_tokenizer": map[string]any{"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
		"decoder":       map[string]any{"type": "ByteLevel"},
		"model":         map[string]any{"type": "BPE", "vocab": vocab, "merges": []any{"a b", []string{"Ġ", "ab"}}},
	}
	if edit != nil {
		edit(f)
	}
	data, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), fileName)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return Load(path)
}

func TestSynthetic(t *testing.T) {
	split := func(pattern map[string]any, behavior string, invert bool) func(map[string]any) {
		return func(f map[string]any) {
			f["pre_tokenizer"] = map[string]any{"type": "Sequence", "pretokenizers": []any{
				map[string]any{"type": "Split", "pattern": pattern, "behavior": behavior, "invert": invert},
				map[string]any{"type": "ByteLevel", "use_regex": false},
			}}
		}
	}
	for _, c := range []struct {
		name string
		edit func(map[string]any)
		text string
		want string // tokens, space-separated, as the file writes them
	}{
		{"gpt2 regex", nil, "ab ab<s>b", "ab Ġab <s> b"},
		{"no regex", func(f map[string]any) { f["pre_tokenizer"].(map[string]any)["use_regex"] = false }, "ab ab", "ab Ġab"},
		{"Split String", split(map[string]any{"String": "b"}, "Isolated", false), "abab", "a b a b"},
		{"Split Removed invert", split(map[string]any{"Regex": `\p{L}+`}, "Removed", true), "ab, ab!", "ab ab"},
		{"Split Removed", split(map[string]any{"Regex": `,`}, "Removed", false), "a,b,", "a b"},
		{"Split regexp2", split(map[string]any{"Regex": `b(?=a)`}, "Isolated", false), "abab", "a b ab"},
		{"NFC", func(f map[string]any) {
			f["normalizer"] = map[string]any{"type": "Sequence", "normalizers": []any{map[string]any{"type": "NFC"}}}
		}, "e\u0301", "Ã ©"},
		{"normalized added token", func(f map[string]any) {
			f["normalizer"] = map[string]any{"type": "NFC"}
			f["added_tokens"] = []any{map[string]any{"id": 258, "content": "<e\u0301>", "normalized": true}}
		}, "a<\u00e9>", "a <e\u0301>"},
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
		})
	}
}

// tokenString is the token as the file writes it.
func (t *Tokenizer) tokenString(id int32) string {
	for _, a := range t.added {
		if a.ID == id {
			return a.Content
		}
	}
	for s, v := range t.model.vocab {
		if v == id {
			return s
		}
	}
	return "?"
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.json")
	if _, err := Load(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, fileName)) {
		t.Errorf("folder without %s: %v", fileName, err)
	}
	corrupt := filepath.Join(dir, "corrupt.json")
	if err := os.WriteFile(corrupt, []byte(`{"model": {`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(corrupt); err == nil || !strings.Contains(err.Error(), corrupt) {
		t.Errorf("corrupt file: %v", err)
	}

	set := func(path string, v any) func(map[string]any) {
		return func(f map[string]any) {
			keys := strings.Split(path, ".")
			m := f
			for _, k := range keys[:len(keys)-1] {
				m = m[k].(map[string]any)
			}
			m[keys[len(keys)-1]] = v
		}
	}
	for _, c := range []struct {
		edit func(map[string]any)
		want string
	}{
		{set("model.type", "WordPiece"), `model type "WordPiece"`},
		{set("model.continuing_subword_prefix", "##"), "continuing_subword_prefix"},
		{set("model.end_of_word_suffix", "</w>"), "end_of_word_suffix"},
		{set("model.merges", []any{"a x"}), "missing from the vocab"},
		{set("model.merges", []any{"ab"}), "not two tokens"},
		{func(f map[string]any) { // HF fails on encoding such a byte; Encode cannot
			delete(f["model"].(map[string]any)["vocab"].(map[string]any), string(byteChar[4]))
			set("model.unk_token", "<unk>")(f)
		}, `unk_token "<unk>" is not in the model vocab, and the vocab has no token for byte 0x04`},
		{set("normalizer", map[string]any{"type": "NFKC"}), `normalizer "NFKC"`},
		{set("pre_tokenizer.add_prefix_space", true), "add_prefix_space"},
		{set("pre_tokenizer", map[string]any{"type": "Whitespace"}), `pre_tokenizer "Whitespace"`},
		{set("pre_tokenizer", nil), "ByteLevel step is required"},
		{set("decoder", nil), "decoder"},
		{set("added_tokens", []any{map[string]any{"id": 258, "content": "<s>", "lstrip": true}}), "lstrip"},
		{set("added_tokens", []any{map[string]any{"id": 300, "content": "<s>"}}), "HF would give it 258"},
		// ids up to 300 in a vocab of 258 entries: tokenizers 0.22 gives <s> 301, 0.23 258
		{func(f map[string]any) {
			f["model"].(map[string]any)["vocab"].(map[string]any)["Ġab"] = 300
			f["added_tokens"] = []any{map[string]any{"id": 300, "content": "Ġab"}, map[string]any{"id": 301, "content": "<s>"}}
		}, "gives it 301 (0.22) or 258 (0.23)"},
	} {
		_, err := synthetic(t, c.edit)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), fileName) {
			t.Errorf("want an error naming the file and %q, got %v", c.want, err)
		}
	}
}

func TestAPI(t *testing.T) {
	tok := loadShared(t, "qwen3")
	if n := tok.VocabSize(); n != 151669 {
		t.Errorf("VocabSize %d", n)
	}
	added := tok.AddedTokens()
	if len(added) != 26 || added[0] != (AddedToken{"<|endoftext|>", 151643, true}) {
		t.Errorf("AddedTokens %v", added)
	}
	for s, want := range map[string]int32{"<|im_start|>": 151644, "<think>": 151667, "Hello": 9707, "Ġworld": 1879} {
		if id, ok := tok.TokenID(s); !ok || id != want {
			t.Errorf("TokenID(%q) = %d, %v; want %d", s, id, ok, want)
		}
	}
	if _, ok := tok.TokenID("no such token"); ok {
		t.Error("TokenID found a missing token")
	}
	if got := tok.Decode([]int32{9707, -1, 1 << 30, 1879}); got != "Hello world" {
		t.Errorf("Decode skipping unknown ids: %q", got)
	}
}

func BenchmarkEncode(b *testing.B) {
	in := texts(b, "corpus")
	size := 0
	for _, s := range in {
		size += len(s)
	}
	for _, name := range tokNames {
		b.Run(name, func(b *testing.B) {
			tok := loadShared(b, name)
			b.SetBytes(int64(size))
			for b.Loop() {
				for _, s := range in {
					tok.Encode(s)
				}
			}
		})
	}
}
