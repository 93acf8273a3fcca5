// Package bpe is a byte-level BPE tokenizer that reads Hugging Face tokenizer.json files
// (GPT-2, Llama-3, Qwen2/3 style) and gives exactly the ids of HF `tokenizers`.
//
// The pipeline is HF's: added tokens are split out of the raw text; the text between
// them is NFC-normalised (when the file says so), split by the pre-tokenizer regexes,
// and each piece is BPE-encoded on its bytes. Components this package does not
// reproduce exactly are rejected by Load, so encoding itself cannot fail.
package bpe

import (
	"sort"

	"golang.org/x/text/unicode/norm"
)

// Tokenizer encodes and decodes text. It is safe for concurrent use.
type Tokenizer struct {
	nfc      bool
	splits   []splitStep
	model    *model
	added    []AddedToken
	addedIDs map[string]int32
	// rawAdded holds the added tokens matched in the raw text, normAdded those matched
	// in the normalised text (the file's "normalized": true).
	rawAdded, normAdded *addedMatcher
	decoded             []string // the bytes each id decodes to; "" for unused ids
}

// AddedToken is an entry of the file's added_tokens.
type AddedToken struct {
	Content string
	ID      int32
	Special bool
}

// Encode returns the ids HF gives for encode(text, add_special_tokens=False): added
// tokens in the text, special or not, become their ids.
func (t *Tokenizer) Encode(text string) []int32 {
	e := encoder{t: t, ids: make([]int32, 0, len(text)/3+8)}
	e.encode(text)
	return e.ids
}

// EncodeOffsets is Encode that also returns, per token, the byte offset in text where
// it starts. A token inside text that NFC changed starts where the changed run does, so
// the offsets never decrease.
func (t *Tokenizer) EncodeOffsets(text string) (ids []int32, starts []int32) {
	e := encoder{t: t, ids: make([]int32, 0, len(text)/3+8), withStarts: true}
	e.starts = make([]int32, 0, cap(e.ids))
	e.encode(text)
	return e.ids, e.starts
}

// Decode is HF's decode(ids) with the ByteLevel decoder: tokens back to bytes,
// invalid UTF-8 replaced by U+FFFD. Unknown ids are skipped.
func (t *Tokenizer) Decode(ids []int32) string {
	var b []byte
	for _, id := range ids {
		if id >= 0 && int(id) < len(t.decoded) {
			b = append(b, t.decoded[id]...)
		}
	}
	return lossyString(b)
}

// TokenID returns the id of an added token or vocab entry (written in byte-level chars,
// as in the file).
func (t *Tokenizer) TokenID(s string) (int32, bool) {
	if id, ok := t.addedIDs[s]; ok {
		return id, true
	}
	id, ok := t.model.vocab[s]
	return id, ok
}

// VocabSize is the highest id of the vocab and the added tokens, plus one.
func (t *Tokenizer) VocabSize() int { return len(t.decoded) }

// AddedTokens returns the added tokens in file order.
func (t *Tokenizer) AddedTokens() []AddedToken {
	return append([]AddedToken(nil), t.added...)
}

// encoder holds the state of one Encode call.
type encoder struct {
	t          *Tokenizer
	ids        []int32
	withStarts bool
	starts     []int32
}

func (e *encoder) encode(text string) {
	e.t.rawAdded.split(text,
		func(start, end int) { e.gap(text[start:end], start) },
		func(id int32, start int) { e.add(id, int32(start)) })
}

func (e *encoder) add(id, start int32) {
	e.ids = append(e.ids, id)
	if e.withStarts {
		e.starts = append(e.starts, start)
	}
}

// gap encodes text between raw-matched added tokens; base is its offset in the input.
func (e *encoder) gap(s string, base int) {
	o := origin{base: base}
	if e.t.nfc && !norm.NFC.IsNormalString(s) {
		s, o.runs = normalizeNFC(s)
	}
	e.t.normAdded.split(s,
		func(start, end int) { e.text(s, start, end, 0, &o) },
		func(id int32, start int) { e.add(id, o.at(start)) })
}

// text runs the pre-tokenizer splits from step k on s[start:end] and BPE-encodes the
// pieces.
func (e *encoder) text(s string, start, end, k int, o *origin) {
	if k < len(e.t.splits) {
		e.t.splits[k].split(s[start:end], func(i, j int) { e.text(s, start+i, start+j, k+1, o) })
		return
	}
	word := s[start:end]
	if e.withStarts && e.t.model.lacksByte(word) {
		ids, starts := e.t.model.encodeStarts(word)
		e.ids = append(e.ids, ids...)
		for _, st := range starts {
			e.starts = append(e.starts, o.at(start+int(st)))
		}
		return
	}
	n := len(e.ids)
	e.ids = e.t.model.encode(word, e.ids)
	if e.withStarts {
		for _, id := range e.ids[n:] {
			e.starts = append(e.starts, o.at(start))
			start += len(e.t.decoded[id])
		}
	}
}

// origin maps an offset in a (normalised) gap back to the input text.
type origin struct {
	base int
	runs []nfcRun // nil when normalisation left the gap alone
}

// nfcRun starts a stretch of the normalised text: exact stretches map offset by offset,
// others (the chars NFC changed) all map to their start.
type nfcRun struct {
	norm, orig int
	exact      bool
}

func (o *origin) at(p int) int32 {
	if o.runs == nil {
		return int32(o.base + p)
	}
	i := sort.Search(len(o.runs), func(i int) bool { return o.runs[i].norm > p }) - 1
	r := o.runs[i]
	if r.exact {
		return int32(o.base + r.orig + p - r.norm)
	}
	return int32(o.base + r.orig)
}

// normalizeNFC returns NFC(s) and the runs mapping it back to s. norm.Iter works a
// segment (a char and its marks) at a time, which tells which input each output
// came from.
func normalizeNFC(s string) (string, []nfcRun) {
	var it norm.Iter
	it.InitString(norm.NFC, s)
	out := make([]byte, 0, len(s)+8)
	var runs []nfcRun
	for !it.Done() {
		from := it.Pos()
		seg := it.Next()
		exact := string(seg) == s[from:it.Pos()]
		if !exact || len(runs) == 0 || !runs[len(runs)-1].exact {
			runs = append(runs, nfcRun{norm: len(out), orig: from, exact: exact})
		}
		out = append(out, seg...)
	}
	return string(out), runs
}
