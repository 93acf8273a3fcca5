package gguf

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// Token types of tokenizer.ggml.token_type (llama.cpp's llama_token_type).
const (
	tokNormal      = 1
	tokUnknown     = 2
	tokControl     = 3
	tokUserDefined = 4
	tokUnused      = 5
	tokByte        = 6
)

// The pre-tokenizer regexes, as the Hugging Face tokenizers that llama.cpp
// names in tokenizer.ggml.pre have them (llama.cpp's llama-vocab.cpp quotes
// each beside its own rewrite).
const (
	llama3Regex = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	qwen2Regex  = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
)

// preTok is how one family of tokenizer.ggml.pre values pre-tokenizes.
type preTok struct {
	splits       []string // Split regexes (Isolated) before the ByteLevel step
	gpt2Regex    bool     // the ByteLevel step splits with GPT-2's regex
	ignoreMerges bool     // a word in the vocab is one token, merges or not
	addBOS       bool     // llama.cpp's default for tokenizer.ggml.add_bos_token
}

// preTokenizers maps tokenizer.ggml.pre to its pre-tokenizer, grouped as
// llama.cpp's llama-vocab.cpp groups them by regex:
//   - GPT-2's: ByteLevel with its regex;
//   - SmolLM's (StarCoder's): digits one by one, then GPT-2's;
//   - Llama 3's: one Split regex, digits in threes, merges ignored for
//     whole words, BOS added;
//   - Qwen2's: Llama 3's with single digits.
var preTokenizers = func() map[string]preTok {
	m := map[string]preTok{}
	add := func(p preTok, names ...string) {
		for _, n := range names {
			m[n] = p
		}
	}
	add(preTok{gpt2Regex: true}, "gpt-2", "gpt2", "phi-2", "mpt", "olmo", "jais", "jina-es", "jina-de", "jina-v2-es", "jina-v2-de", "exaone4")
	add(preTok{splits: []string{`\p{N}`}, gpt2Regex: true}, "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b")
	add(preTok{splits: []string{llama3Regex}, ignoreMerges: true, addBOS: true}, "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2")
	add(preTok{splits: []string{llama3Regex}}, "dbrx", "smaug-bpe")
	add(preTok{splits: []string{qwen2Regex}}, "qwen2", "deepseek-r1-qwen", "stablelm2", "megrez")
	return m
}()

func preNames() string {
	names := make([]string, 0, len(preTokenizers))
	for n := range preTokenizers {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// tokenizer is a GGUF's byte-level BPE tokenizer.
type tokenizer struct {
	tokens   []string
	types    []int64
	merges   [][2]string
	pre      string
	preTok   preTok
	special  map[string]int64 // bos/eos/unk/pad token ids present in the file
	addBOS   bool
	addEOS   bool
	template string
}

var specialKeys = []struct{ gguf, hf string }{
	{"tokenizer.ggml.bos_token_id", "bos"},
	{"tokenizer.ggml.eos_token_id", "eos"},
	{"tokenizer.ggml.unknown_token_id", "unk"},
	{"tokenizer.ggml.padding_token_id", "pad"},
}

func buildTokenizer(f *File) (*tokenizer, error) {
	model, ok, err := f.String("tokenizer.ggml.model")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%s: no tokenizer.ggml.model in the metadata: the file has no tokenizer", f.Path)
	}
	if model != "gpt2" {
		return nil, fmt.Errorf("%s: tokenizer.ggml.model %q is not supported: only byte-level BPE (\"gpt2\") is, not SentencePiece (\"llama\") or others", f.Path, model)
	}
	t := &tokenizer{special: map[string]int64{}}
	if t.tokens, ok, err = f.Strings("tokenizer.ggml.tokens"); err != nil || !ok {
		if err == nil {
			err = fmt.Errorf("%s: no tokenizer.ggml.tokens in the metadata", f.Path)
		}
		return nil, err
	}
	if t.types, ok, err = f.Ints("tokenizer.ggml.token_type"); err != nil {
		return nil, err
	}
	if !ok {
		t.types = make([]int64, len(t.tokens))
		for i := range t.types {
			t.types[i] = tokNormal
		}
	}
	if len(t.types) != len(t.tokens) {
		return nil, fmt.Errorf("%s: tokenizer.ggml.token_type has %d entries for %d tokens", f.Path, len(t.types), len(t.tokens))
	}
	seen := make(map[string]int, len(t.tokens))
	for i, tok := range t.tokens {
		if !utf8.ValidString(tok) { // JSON would turn it into another token
			return nil, fmt.Errorf("%s: token %d (%q) is not valid UTF-8", f.Path, i, tok)
		}
		if j, dup := seen[tok]; dup {
			return nil, fmt.Errorf("%s: token %q is both id %d and id %d", f.Path, tok, j, i)
		}
		seen[tok] = i
		if ty := t.types[i]; ty < tokNormal || ty > tokByte {
			return nil, fmt.Errorf("%s: token %d (%q) has unknown type %d", f.Path, i, tok, ty)
		}
	}
	merges, ok, err := f.Strings("tokenizer.ggml.merges")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%s: no tokenizer.ggml.merges in the metadata: a BPE tokenizer needs them", f.Path)
	}
	t.merges = make([][2]string, len(merges))
	for i, m := range merges {
		a, b, ok := strings.Cut(m, " ")
		if !utf8.ValidString(m) {
			return nil, fmt.Errorf("%s: merge %d (%q) is not valid UTF-8", f.Path, i, m)
		}
		if !ok || a == "" || b == "" || strings.Contains(b, " ") {
			return nil, fmt.Errorf("%s: merge %d %q is not two tokens separated by a space", f.Path, i, m)
		}
		t.merges[i] = [2]string{a, b}
	}
	pre, ok, err := f.String("tokenizer.ggml.pre")
	if err != nil {
		return nil, err
	}
	if !ok || pre == "default" {
		return nil, fmt.Errorf("%s: tokenizer.ggml.pre is %s: the pre-tokenizer is unknown (llama.cpp warns of degraded output); supported: %s", f.Path, map[bool]string{true: `"default"`, false: "missing"}[ok], preNames())
	}
	if t.preTok, ok = preTokenizers[pre]; !ok {
		return nil, fmt.Errorf("%s: tokenizer.ggml.pre %q is not supported; supported: %s", f.Path, pre, preNames())
	}
	t.pre = pre
	for _, k := range specialKeys {
		id, ok, err := f.Int(k.gguf)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if id < 0 || id >= int64(len(t.tokens)) {
			return nil, fmt.Errorf("%s: %s %d is not a token id (%d tokens)", f.Path, k.gguf, id, len(t.tokens))
		}
		t.special[k.hf] = id
	}
	t.addBOS = t.preTok.addBOS
	if v, ok, err := f.Bool("tokenizer.ggml.add_bos_token"); err != nil {
		return nil, err
	} else if ok {
		t.addBOS = v
	}
	if v, ok, err := f.Bool("tokenizer.ggml.add_eos_token"); err != nil {
		return nil, err
	} else if ok {
		t.addEOS = v
	}
	for _, k := range []struct {
		on   bool
		name string
	}{{t.addBOS, "bos"}, {t.addEOS, "eos"}} {
		if _, ok := t.special[k.name]; k.on && !ok {
			return nil, fmt.Errorf("%s: tokenizer.ggml.add_%s_token is set but there is no %s token id", f.Path, k.name, k.name)
		}
	}
	if t.template, _, err = f.String("tokenizer.chat_template"); err != nil {
		return nil, err
	}
	if !utf8.ValidString(t.template) {
		return nil, fmt.Errorf("%s: tokenizer.chat_template is not valid UTF-8", f.Path)
	}
	return t, nil
}

// specialIDs are config.json's and generation_config.json's token ids.
func (t *tokenizer) specialIDs() map[string]int64 {
	m := map[string]int64{}
	for _, k := range []string{"bos", "eos", "pad"} {
		if id, ok := t.special[k]; ok {
			m[k+"_token_id"] = id
		}
	}
	return m
}

func (t *tokenizer) generationConfig() map[string]any {
	m := map[string]any{}
	for k, v := range t.specialIDs() {
		m[k] = v
	}
	return m
}

func (t *tokenizer) tokenizerConfig(maxLen int64) map[string]any {
	m := map[string]any{
		"add_bos_token":                t.addBOS,
		"add_eos_token":                t.addEOS,
		"clean_up_tokenization_spaces": false,
		"model_max_length":             maxLen,
		"tokenizer_class":              "PreTrainedTokenizerFast",
	}
	for k, id := range t.special {
		m[k+"_token"] = t.tokens[id]
	}
	if t.template != "" {
		m["chat_template"] = t.template
	}
	return m
}

// marshal is json.Marshal (indented if asked) without the escaping of <, >
// and &, which would make every <|special|> token unreadable; it ends in a
// newline.
func marshal(v any, indent bool) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if indent {
		enc.SetIndent("", "  ")
	}
	err := enc.Encode(v)
	return b.Bytes(), err
}

type addedToken struct {
	ID         int    `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	Lstrip     bool   `json:"lstrip"`
	Rstrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

// tokenizerJSON is an HF tokenizer.json for the byte-level BPE: the vocab
// in id order, merges as pairs, control tokens as special added tokens and
// user-defined ones as plain added tokens (both keep their vocab ids). The
// tokens are kept as the file spells them; transformers' GGUF loader
// respells a token outside the byte-level alphabet (a user-defined " foo")
// in it and does not add it, where llama.cpp matches it whole in the text,
// as this tokenizer.json does.
func (t *tokenizer) tokenizerJSON() ([]byte, error) {
	added := []addedToken{}
	for id, ty := range t.types {
		if ty == tokControl || ty == tokUserDefined {
			special := ty == tokControl
			// not normalized, as transformers' GGUF loader adds them: matched in the raw text
			added = append(added, addedToken{ID: id, Content: t.tokens[id], Special: special})
		}
	}
	var pre any
	byteLevel := map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": t.preTok.gpt2Regex}
	if len(t.preTok.splits) == 0 {
		pre = byteLevel
	} else {
		var steps []any
		for _, re := range t.preTok.splits {
			steps = append(steps, map[string]any{"type": "Split", "pattern": map[string]string{"Regex": re}, "behavior": "Isolated", "invert": false})
		}
		pre = map[string]any{"type": "Sequence", "pretokenizers": append(steps, byteLevel)}
	}
	post := any(map[string]any{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true})
	if t.addBOS || t.addEOS {
		post = t.template1()
	}
	head := map[string]any{
		"version":        "1.0",
		"truncation":     nil,
		"padding":        nil,
		"added_tokens":   added,
		"normalizer":     nil,
		"pre_tokenizer":  pre,
		"post_processor": post,
		"decoder":        map[string]any{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
	}
	// The model is written by hand to keep the vocab in id order, as the
	// tokenizers library writes it; the rest goes through encoding/json.
	hb, err := marshal(head, false)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	hb = bytes.TrimSuffix(hb, []byte("\n"))
	b.Write(hb[:len(hb)-1]) // the closing brace
	b.WriteString(`,"model":{"type":"BPE","dropout":null,"unk_token":null,"continuing_subword_prefix":null,"end_of_word_suffix":null,"fuse_unk":false,"byte_fallback":false,`)
	fmt.Fprintf(&b, `"ignore_merges":%t,"vocab":{`, t.preTok.ignoreMerges)
	for id, tok := range t.tokens {
		if id > 0 {
			b.WriteByte(',')
		}
		k, err := marshal(tok, false)
		if err != nil {
			return nil, err
		}
		b.Write(bytes.TrimSuffix(k, []byte("\n")))
		fmt.Fprintf(&b, ":%d", id)
	}
	b.WriteString(`},"merges":`)
	mb, err := marshal(t.merges, false)
	if err != nil {
		return nil, err
	}
	b.Write(bytes.TrimSuffix(mb, []byte("\n")))
	b.WriteString("}}\n")
	return b.Bytes(), nil
}

// template1 is the TemplateProcessing post-processor that adds BOS and/or
// EOS around each sequence, as tokenizer.ggml.add_bos_token and
// add_eos_token ask.
func (t *tokenizer) template1() map[string]any {
	specials := map[string]any{}
	wrap := func(typeID int, seq string) []any {
		var out []any
		if t.addBOS {
			out = append(out, map[string]any{"SpecialToken": map[string]any{"id": t.tokens[t.special["bos"]], "type_id": typeID}})
		}
		out = append(out, map[string]any{"Sequence": map[string]any{"id": seq, "type_id": typeID}})
		if t.addEOS {
			out = append(out, map[string]any{"SpecialToken": map[string]any{"id": t.tokens[t.special["eos"]], "type_id": typeID}})
		}
		return out
	}
	for _, k := range []struct {
		on   bool
		name string
	}{{t.addBOS, "bos"}, {t.addEOS, "eos"}} {
		if k.on {
			tok := t.tokens[t.special[k.name]]
			specials[tok] = map[string]any{"id": tok, "ids": []int64{t.special[k.name]}, "tokens": []string{tok}}
		}
	}
	return map[string]any{
		"type":           "TemplateProcessing",
		"single":         wrap(0, "A"),
		"pair":           append(wrap(0, "A"), wrap(1, "B")...),
		"special_tokens": specials,
	}
}
