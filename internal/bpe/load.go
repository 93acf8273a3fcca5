package bpe

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// fileName is the file Load looks for in a model folder.
const fileName = "tokenizer.json"

// tokenizerFile is the part of an HF tokenizer.json that encoding and decoding depend
// on. The post_processor is not read: Encode is encode(text, add_special_tokens=False).
// truncation and padding are not applied either.
type tokenizerFile struct {
	AddedTokens  []addedJSON `json:"added_tokens"`
	Normalizer   *component  `json:"normalizer"`
	PreTokenizer *component  `json:"pre_tokenizer"`
	Decoder      *component  `json:"decoder"`
	Model        *modelJSON  `json:"model"`
}

type addedJSON struct {
	ID         int32  `json:"id"`
	Content    string `json:"content"`
	Special    bool   `json:"special"`
	Normalized bool   `json:"normalized"`
	Lstrip     bool   `json:"lstrip"`
	Rstrip     bool   `json:"rstrip"`
	SingleWord bool   `json:"single_word"`
}

// component is a normalizer, pre-tokenizer or decoder; each kind uses some fields.
type component struct {
	Type          string       `json:"type"`
	Normalizers   []*component `json:"normalizers"`
	PreTokenizers []*component `json:"pretokenizers"`
	Pattern       *struct {
		String *string `json:"String"`
		Regex  *string `json:"Regex"`
	} `json:"pattern"`
	Behavior       string `json:"behavior"`
	Invert         bool   `json:"invert"`
	AddPrefixSpace bool   `json:"add_prefix_space"`
	UseRegex       *bool  `json:"use_regex"` // HF's default is true
}

type modelJSON struct {
	Type                    string           `json:"type"`
	Vocab                   map[string]int32 `json:"vocab"`
	Merges                  []mergeJSON      `json:"merges"`
	Dropout                 *float64         `json:"dropout"`
	UnkToken                *string          `json:"unk_token"`
	ContinuingSubwordPrefix *string          `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string          `json:"end_of_word_suffix"`
	ByteFallback            bool             `json:"byte_fallback"`
	FuseUnk                 bool             `json:"fuse_unk"`
	IgnoreMerges            bool             `json:"ignore_merges"`
}

// mergeJSON is a merge, written "a b" (older files) or ["a", "b"].
type mergeJSON [2]string

func (m *mergeJSON) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		left, right, ok := strings.Cut(s, " ")
		if !ok {
			return fmt.Errorf("merge %q is not two tokens", s)
		}
		*m = mergeJSON{left, right}
		return nil
	}
	var pair []string
	if err := json.Unmarshal(b, &pair); err != nil {
		return err
	}
	if len(pair) != 2 {
		return fmt.Errorf("merge %q is not two tokens", pair)
	}
	*m = mergeJSON{pair[0], pair[1]}
	return nil
}

// maxID bounds token ids, so that a corrupt file cannot make Load allocate gigabytes.
const maxID = 1 << 24

// Load reads an HF tokenizer.json, or a model folder containing one. It returns an
// error naming the file when the file is missing or corrupt, or uses a component this
// package does not implement exactly.
func Load(path string) (*Tokenizer, error) {
	file := path
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		file = filepath.Join(path, fileName)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("bpe: %w", err) // names the file
	}
	var f tokenizerFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("bpe: %s: %w", file, err)
	}
	t, err := build(&f)
	if err != nil {
		return nil, fmt.Errorf("bpe: %s: %w", file, err)
	}
	return t, nil
}

func build(f *tokenizerFile) (*Tokenizer, error) {
	t := &Tokenizer{}
	var err error
	if t.nfc, err = normalizer(f.Normalizer); err != nil {
		return nil, err
	}
	if t.splits, err = preTokenizer(f.PreTokenizer); err != nil {
		return nil, err
	}
	if f.Decoder == nil || f.Decoder.Type != "ByteLevel" {
		return nil, errors.New("unsupported decoder: only ByteLevel is implemented")
	}
	if t.model, err = newModel(f.Model); err != nil {
		return nil, err
	}
	if err = t.addTokens(f.AddedTokens); err != nil {
		return nil, err
	}
	size := 0
	for _, id := range t.model.vocab {
		size = max(size, int(id)+1)
	}
	for _, a := range t.added {
		size = max(size, int(a.ID)+1)
	}
	// Decode and the offsets need every token's bytes; HF looks ids up in the added
	// tokens first.
	t.decoded = make([]string, size)
	for tok, id := range t.model.vocab {
		t.decoded[id] = byteLevelDecode(tok)
	}
	for _, a := range t.added {
		t.decoded[a.ID] = byteLevelDecode(a.Content)
	}
	return t, nil
}

// normalizer reports whether the normalizer is NFC; there must be none otherwise.
func normalizer(c *component) (nfc bool, err error) {
	if c == nil {
		return false, nil
	}
	switch c.Type {
	case "NFC":
		return true, nil
	case "Sequence":
		for _, n := range c.Normalizers {
			if n == nil || n.Type != "NFC" {
				return false, errors.New("unsupported normalizer: a Sequence may only hold NFC")
			}
		}
		return len(c.Normalizers) > 0, nil
	}
	return false, fmt.Errorf("unsupported normalizer %q: only NFC is implemented", c.Type)
}

// preTokenizer accepts Splits followed by a ByteLevel, alone or in a Sequence.
func preTokenizer(c *component) ([]splitStep, error) {
	steps := flatten(c, nil)
	var splits []splitStep
	for i, c := range steps {
		switch c.Type {
		case "Split":
			st, err := newSplit(c)
			if err != nil {
				return nil, err
			}
			splits = append(splits, st)
		case "ByteLevel":
			if i != len(steps)-1 {
				return nil, errors.New("unsupported pre_tokenizer: ByteLevel must come last")
			}
			if c.AddPrefixSpace {
				return nil, errors.New("unsupported pre_tokenizer: ByteLevel add_prefix_space=true")
			}
			if c.UseRegex == nil || *c.UseRegex {
				re, err := compileRegex(gpt2Pattern)
				if err != nil {
					return nil, err
				}
				splits = append(splits, splitStep{re: re})
			}
			return splits, nil
		default:
			return nil, fmt.Errorf("unsupported pre_tokenizer %q: only Split and ByteLevel are implemented", c.Type)
		}
	}
	return nil, errors.New("unsupported pre_tokenizer: a ByteLevel step is required")
}

func flatten(c *component, out []*component) []*component {
	switch {
	case c == nil:
	case c.Type == "Sequence":
		for _, p := range c.PreTokenizers {
			out = flatten(p, out)
		}
	default:
		out = append(out, c)
	}
	return out
}

func newSplit(c *component) (splitStep, error) {
	st := splitStep{invert: c.Invert}
	switch c.Behavior {
	case "Isolated":
	case "Removed":
		st.removed = true
	default:
		return st, fmt.Errorf("unsupported Split behavior %q: only Isolated and Removed are implemented", c.Behavior)
	}
	var err error
	switch p := c.Pattern; {
	case p != nil && p.Regex != nil:
		st.re, err = compileRegex(*p.Regex)
	case p != nil && p.String != nil && *p.String != "":
		st.re = literal(*p.String)
	default:
		err = errors.New("Split needs a Regex or a non-empty String pattern")
	}
	return st, err
}

func newModel(j *modelJSON) (*model, error) {
	switch {
	case j == nil:
		return nil, errors.New("no model")
	case j.Type != "BPE":
		return nil, fmt.Errorf("unsupported model type %q: only BPE is implemented", j.Type)
	case j.Dropout != nil && *j.Dropout != 0:
		return nil, errors.New("unsupported BPE dropout")
	case j.ContinuingSubwordPrefix != nil && *j.ContinuingSubwordPrefix != "":
		return nil, errors.New("unsupported BPE continuing_subword_prefix")
	case j.EndOfWordSuffix != nil && *j.EndOfWordSuffix != "":
		return nil, errors.New("unsupported BPE end_of_word_suffix")
	}
	m := &model{
		vocab:        j.Vocab,
		ignoreMerges: j.IgnoreMerges,
		merges:       make(map[uint64]uint64, len(j.Merges)),
		cache:        newWordCache(),
	}
	for tok, id := range j.Vocab {
		if id < 0 || id >= maxID {
			return nil, fmt.Errorf("vocab id %d of %q out of range", id, tok)
		}
	}
	// A byte whose char the vocab lacks is encoded as in HF's BPE::merge_word (see
	// model.symbols): <0xNN> tokens, unk, or nothing.
	m.complete, m.unk, m.fuseUnk = true, -1, j.FuseUnk
	var unkNeeded []byte // bytes that can only become unk
	for b, r := range byteChar {
		id, ok := j.Vocab[string(r)]
		if ok {
			m.byteIDs[b] = id
			continue
		}
		m.byteIDs[b], m.complete = -1, false
		if j.ByteFallback {
			m.fallback[b] = byteFallback(j.Vocab, string(r))
		}
		if m.fallback[b] == nil {
			unkNeeded = append(unkNeeded, byte(b))
		}
	}
	if j.UnkToken != nil && len(unkNeeded) > 0 {
		id, ok := j.Vocab[*j.UnkToken]
		if !ok {
			// HF fails on encoding such a byte (UnkTokenOutOfVocabulary); Encode cannot.
			return nil, fmt.Errorf("unk_token %q is not in the model vocab, and the vocab has no token for byte 0x%02x", *j.UnkToken, unkNeeded[0])
		}
		m.unk = id
	}
	for rank, mg := range j.Merges {
		left, ok1 := j.Vocab[mg[0]]
		right, ok2 := j.Vocab[mg[1]]
		merged, ok3 := j.Vocab[mg[0]+mg[1]]
		if !ok1 || !ok2 || !ok3 {
			return nil, fmt.Errorf("merge %d (%q %q) uses a token missing from the vocab", rank, mg[0], mg[1])
		}
		// A repeated pair takes its last rank, as in HF's HashMap.
		m.merges[pairKey(left, right)] = uint64(rank)<<32 | uint64(uint32(merged))
	}
	return m, nil
}

// byteFallback returns the ids of the <0xNN> tokens of char's UTF-8 bytes, or nil when
// the vocab lacks one (HF's byte_fallback then gives up on the char).
func byteFallback(vocab map[string]int32, char string) []int32 {
	var ids []int32
	for i := 0; i < len(char); i++ {
		id, ok := vocab[fmt.Sprintf("<0x%02X>", char[i])]
		if !ok {
			return nil
		}
		ids = append(ids, id)
	}
	return ids
}

// addTokens registers the added tokens. HF does not take their ids from the file: it
// gives each the id of its content in the vocab, else the next id after the vocab, and
// only warns when that differs. Such a file would encode differently here and in HF, so it is
// rejected.
func (t *Tokenizer) addTokens(tokens []addedJSON) error {
	t.addedIDs = make(map[string]int32)
	t.rawAdded, t.normAdded = newAddedMatcher(), newAddedMatcher()
	vocabLen := int32(len(t.model.vocab))
	last := int32(-1) // highest added id so far
	next := vocabLen  // tokenizers ≥ 0.23's id for the next token outside the vocab
	for _, a := range tokens {
		if a.Content == "" {
			continue // HF ignores empty tokens
		}
		if a.Lstrip || a.Rstrip || a.SingleWord {
			return fmt.Errorf("added token %q: lstrip, rstrip and single_word are not implemented", a.Content)
		}
		if _, dup := t.addedIDs[a.Content]; dup {
			return fmt.Errorf("added token %q appears twice", a.Content)
		}
		id, inVocab := t.model.vocab[a.Content]
		if !inVocab {
			// tokenizers 0.22 gives it the vocab's size, or one above the highest added
			// id so far when that is not below; 0.23 counts on from the vocab's size
			// (AddedVocabulary::add_tokens). Where the vocab's ids have holes the two
			// differ, and 0.23's id may be a vocab entry's: refused as ambiguous.
			old := vocabLen
			if last >= vocabLen || vocabLen == 0 {
				old = last + 1
			}
			if old != next {
				return fmt.Errorf("added token %q has id %d, but HF tokenizers gives it %d (0.22) or %d (0.23): the vocab's %d entries have ids up to %d",
					a.Content, a.ID, old, next, vocabLen, t.model.maxID())
			}
			id = next
			next++
		}
		if id != a.ID {
			return fmt.Errorf("added token %q has id %d, but HF would give it %d", a.Content, a.ID, id)
		}
		last = max(last, id)
		t.addedIDs[a.Content] = id
		t.added = append(t.added, AddedToken{Content: a.Content, ID: id, Special: a.Special})
	}
	// HF matches normalized tokens, in their normalized form, in the normalized text,
	// the others in the raw text. Its automaton lists special tokens first, which
	// decides between two tokens that NFC makes equal.
	for _, special := range []bool{true, false} {
		for _, a := range tokens {
			if a.Content == "" || a.Special != special {
				continue
			}
			switch {
			case !a.Normalized:
				t.rawAdded.add(a.Content, a.ID)
			case t.nfc:
				t.normAdded.add(norm.NFC.String(a.Content), a.ID)
			default:
				t.normAdded.add(a.Content, a.ID)
			}
		}
	}
	return nil
}
