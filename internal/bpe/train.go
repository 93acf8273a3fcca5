package bpe

import (
	"bytes"
	"container/heap"
	"encoding/json"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// Qwen2Pattern is the pre-tokenizer Split regex of Qwen2 and Qwen3.
const Qwen2Pattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`

// chatMLTemplate is the ChatML chat template Train writes by default.
const chatMLTemplate = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"

// TrainOptions configure Train. Zero fields take the defaults in brackets.
type TrainOptions struct {
	// VocabSize is the total number of ids: the 256 byte tokens, the learned merges and
	// the special tokens. Training stops earlier when no pair is frequent enough.
	VocabSize int
	// MinFrequency is the fewest occurrences a pair needs to be merged [2].
	MinFrequency int
	// Special are the special tokens, given the ids after the vocab, in order; nil means
	// <|endoftext|>, <|im_start|>, <|im_end|>.
	Special []string
	// Pattern is the pre-tokenizer Split regex [Qwen2Pattern].
	Pattern string

	// The tokenizer_config.json entries: EOS [<|im_end|>] and Pad [<|endoftext|>], which
	// must be special tokens; ChatTemplate [ChatML]; ModelMaxLength [2048].
	EOS, Pad       string
	ChatTemplate   string
	ModelMaxLength int
}

// Trained is the result of Train: the contents of the two files.
type Trained struct {
	TokenizerJSON []byte // tokenizer.json
	ConfigJSON    []byte // tokenizer_config.json
}

// Train learns a byte-level BPE tokenizer from texts and returns it as the HF files.
// Each text is pre-tokenized exactly as Encode will (special tokens cut out, NFC, the
// Split regex); then the most frequent adjacent pair of tokens in the pieces is merged,
// again and again. Ties go to the pair whose left token, then right token, is smallest
// in byte order, so the output depends on the texts' multiset of pieces only.
func Train(texts iter.Seq[string], o TrainOptions) (*Trained, error) {
	o = o.withDefaults()
	if err := o.check(); err != nil {
		return nil, err
	}
	// The pre-tokenizer comes from a file with the output's header and no merges, loaded
	// like any other, so that training cuts the text as the result will.
	toks := make([]string, 256) // raw bytes per id; the byte tokens in GPT-2 order
	for id, b := range byteOrder() {
		toks[id] = string([]byte{b})
	}
	base, err := encodeFile(toks, nil, o)
	if err != nil {
		return nil, err
	}
	pre, err := parseFile(base)
	if err != nil {
		return nil, fmt.Errorf("bpe: train: %w", err)
	}
	counts := make(map[string]int64)
	for text := range texts {
		pre.pieces(text, func(p string) {
			if _, ok := counts[p]; !ok {
				p = strings.Clone(p) // not to keep the whole text alive
			}
			counts[p]++
		})
	}
	tr := newTrainer(toks, counts)
	merges := tr.run(o.VocabSize-len(o.Special), int64(o.MinFrequency))
	out, err := encodeFile(tr.toks, merges, o)
	if err != nil {
		return nil, err
	}
	// Checking the result catches a special token that is also a vocab token, such as
	// "!": HF would give it the vocab's id rather than the one written.
	if _, err := parseFile(out); err != nil {
		return nil, fmt.Errorf("bpe: train: %w", err)
	}
	cfg, err := encodeConfig(len(tr.toks), o)
	if err != nil {
		return nil, err
	}
	return &Trained{TokenizerJSON: out, ConfigJSON: cfg}, nil
}

// WriteTokenizer writes dir/tokenizer.json and dir/tokenizer_config.json, creating dir.
func WriteTokenizer(dir string, t *Trained) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("bpe: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, fileName), t.TokenizerJSON, 0o644); err != nil {
		return fmt.Errorf("bpe: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), t.ConfigJSON, 0o644); err != nil {
		return fmt.Errorf("bpe: %w", err)
	}
	return nil
}

func (o TrainOptions) withDefaults() TrainOptions {
	if o.MinFrequency == 0 {
		o.MinFrequency = 2
	}
	if o.Special == nil {
		o.Special = []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>"}
	}
	if o.Pattern == "" {
		o.Pattern = Qwen2Pattern
	}
	if o.EOS == "" {
		o.EOS = "<|im_end|>"
	}
	if o.Pad == "" {
		o.Pad = "<|endoftext|>"
	}
	if o.ChatTemplate == "" {
		o.ChatTemplate = chatMLTemplate
	}
	if o.ModelMaxLength == 0 {
		o.ModelMaxLength = 2048
	}
	return o
}

func (o TrainOptions) check() error {
	if o.VocabSize < 256+len(o.Special) {
		return fmt.Errorf("bpe: train: vocab size %d is below the 256 byte tokens plus %d special tokens", o.VocabSize, len(o.Special))
	}
	if o.MinFrequency < 1 {
		return fmt.Errorf("bpe: train: min frequency %d is below 1", o.MinFrequency)
	}
	for i, s := range o.Special {
		if s == "" || slices.Contains(o.Special[:i], s) {
			return fmt.Errorf("bpe: train: special token %q is empty or repeated", s)
		}
	}
	for _, s := range []string{o.EOS, o.Pad} {
		if !slices.Contains(o.Special, s) {
			return fmt.Errorf("bpe: train: eos/pad token %q is not a special token", s)
		}
	}
	return nil
}

// byteOrder lists the bytes in the order of their chars, which is GPT-2's id order.
func byteOrder() []byte {
	order := make([]byte, 256)
	for b := range order {
		order[b] = byte(b)
	}
	slices.SortFunc(order, func(a, b byte) int { return int(byteChar[a] - byteChar[b]) })
	return order
}

// parseFile is Load on the contents of a tokenizer.json.
func parseFile(data []byte) (*Tokenizer, error) {
	var f tokenizerFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, err
	}
	return build(&f)
}

// pieces calls yield with each piece of text that Encode hands to the BPE model.
func (t *Tokenizer) pieces(text string, yield func(string)) {
	skip := func(int32, int) {}
	t.rawAdded.split(text, func(start, end int) {
		s := text[start:end]
		if t.nfc {
			s = norm.NFC.String(s)
		}
		t.normAdded.split(s, func(i, j int) { t.splitPieces(s[i:j], 0, yield) }, skip)
	}, skip)
}

// splitPieces runs the pre-tokenizer splits from step k on s.
func (t *Tokenizer) splitPieces(s string, k int, yield func(string)) {
	if k == len(t.splits) {
		yield(s)
		return
	}
	t.splits[k].split(s, func(i, j int) { t.splitPieces(s[i:j], k+1, yield) })
}

// trainer holds the state of the merge loop. Pair counts are kept up to date as words
// change, and where lists the words that may hold each pair, so that a merge only
// revisits the words it touches.
type trainer struct {
	toks   []string         // raw bytes of each token, by id
	ids    map[string]int32 // toks inverted
	words  [][]int32        // the distinct pieces, as token ids
	freq   []int64          // how often each word occurs
	pairs  map[uint64]int64 // pairKey -> occurrences in the corpus
	where  map[uint64][]int32
	queue  pairQueue
	stamp  []int // per word: 1 + the last merge that rewrote it
	deltas map[uint64]int64
}

func newTrainer(toks []string, counts map[string]int64) *trainer {
	tr := &trainer{
		toks:   toks,
		ids:    make(map[string]int32, len(toks)),
		pairs:  make(map[uint64]int64),
		where:  make(map[uint64][]int32),
		deltas: make(map[uint64]int64),
	}
	tr.queue.tr = tr
	var byteID [256]int32
	for id, s := range toks {
		tr.ids[s] = int32(id)
		byteID[s[0]] = int32(id)
	}
	// Sorted, so that word order (and so the output) does not depend on map order.
	keys := make([]string, 0, len(counts))
	for k := range counts {
		if len(k) > 1 { // a single byte has no pair
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		w := make([]int32, len(k))
		for i := range len(k) {
			w[i] = byteID[k[i]]
		}
		idx := int32(len(tr.words))
		tr.words = append(tr.words, w)
		tr.freq = append(tr.freq, counts[k])
		for i := 0; i+1 < len(w); i++ {
			p := pairKey(w[i], w[i+1])
			tr.pairs[p] += counts[k]
			if l := tr.where[p]; len(l) == 0 || l[len(l)-1] != idx {
				tr.where[p] = append(l, idx)
			}
		}
	}
	tr.stamp = make([]int, len(tr.words))
	for p, c := range tr.pairs {
		tr.queue.items = append(tr.queue.items, queued{p, c})
	}
	heap.Init(&tr.queue)
	return tr
}

// run merges until the vocab has size tokens or no pair occurs minFreq times, and
// returns the merges in order.
func (tr *trainer) run(size int, minFreq int64) [][2]int32 {
	var merges [][2]int32
	for len(tr.toks) < size {
		p, ok := tr.best()
		if !ok || tr.pairs[p] < minFreq {
			break
		}
		left, right := int32(p>>32), int32(uint32(p))
		// Two different pairs can spell the same token; it keeps its first id, as in HF.
		s := tr.toks[left] + tr.toks[right]
		id, seen := tr.ids[s]
		if !seen {
			id = int32(len(tr.toks))
			tr.toks = append(tr.toks, s)
			tr.ids[s] = id
		}
		merges = append(merges, [2]int32{left, right})
		tr.merge(left, right, id, len(merges))
	}
	return merges
}

// best pops the most frequent pair. Queue entries are not updated when counts drop, so
// an entry whose count is out of date is queued again with the current one.
func (tr *trainer) best() (uint64, bool) {
	for tr.queue.Len() > 0 {
		q := heap.Pop(&tr.queue).(queued)
		c := tr.pairs[q.pair]
		if c == q.count {
			return q.pair, true
		}
		if c > 0 {
			heap.Push(&tr.queue, queued{q.pair, c})
		}
	}
	return 0, false
}

// merge replaces every occurrence of left right by id in the words that hold it and
// updates the pair counts; n numbers the merge.
func (tr *trainer) merge(left, right, id int32, n int) {
	p := pairKey(left, right)
	clear(tr.deltas)
	for _, wi := range tr.where[p] {
		if tr.stamp[wi] == n { // listed twice
			continue
		}
		tr.stamp[wi] = n
		w, f := tr.words[wi], tr.freq[wi]
		if !slices.Contains(w, left) {
			continue // the word lost the pair to an earlier merge
		}
		for i := 0; i+1 < len(w); i++ {
			tr.deltas[pairKey(w[i], w[i+1])] -= f
		}
		// Left to right, without overlaps: "aaa" becomes "aa a".
		out := w[:0]
		for i := 0; i < len(w); i++ {
			if i+1 < len(w) && w[i] == left && w[i+1] == right {
				out = append(out, id)
				i++
			} else {
				out = append(out, w[i])
			}
		}
		tr.words[wi] = out
		for i := 0; i+1 < len(out); i++ {
			q := pairKey(out[i], out[i+1])
			tr.deltas[q] += f
			// Only pairs with the new token are new to the word.
			if out[i] == id || out[i+1] == id {
				if l := tr.where[q]; len(l) == 0 || l[len(l)-1] != wi {
					tr.where[q] = append(l, wi)
				}
			}
		}
	}
	delete(tr.where, p)
	for q, d := range tr.deltas {
		if d == 0 {
			continue
		}
		c := tr.pairs[q] + d
		if c <= 0 {
			delete(tr.pairs, q)
			delete(tr.where, q)
			continue
		}
		tr.pairs[q] = c
		if d > 0 {
			heap.Push(&tr.queue, queued{q, c})
		}
	}
}

type queued struct {
	pair  uint64
	count int64
}

// pairQueue is a max-heap on count, then on the pair's tokens in increasing byte order.
type pairQueue struct {
	items []queued
	tr    *trainer
}

func (q *pairQueue) Len() int      { return len(q.items) }
func (q *pairQueue) Swap(i, j int) { q.items[i], q.items[j] = q.items[j], q.items[i] }
func (q *pairQueue) Push(x any)    { q.items = append(q.items, x.(queued)) }

func (q *pairQueue) Pop() any {
	x := q.items[len(q.items)-1]
	q.items = q.items[:len(q.items)-1]
	return x
}

func (q *pairQueue) Less(i, j int) bool {
	a, b := q.items[i], q.items[j]
	if a.count != b.count {
		return a.count > b.count
	}
	toks := q.tr.toks
	if l1, l2 := toks[a.pair>>32], toks[b.pair>>32]; l1 != l2 {
		return l1 < l2
	}
	return toks[uint32(a.pair)] < toks[uint32(b.pair)]
}

// The output files. Structs rather than maps keep HF's key order.

type fileOut struct {
	Version       string      `json:"version"`
	Truncation    any         `json:"truncation"`
	Padding       any         `json:"padding"`
	AddedTokens   []addedJSON `json:"added_tokens"`
	Normalizer    typeOnly    `json:"normalizer"`
	PreTokenizer  sequenceOut `json:"pre_tokenizer"`
	PostProcessor byteLevel   `json:"post_processor"`
	Decoder       byteLevel   `json:"decoder"`
	Model         modelOut    `json:"model"`
}

type typeOnly struct {
	Type string `json:"type"`
}

type sequenceOut struct {
	Type          string `json:"type"`
	PreTokenizers []any  `json:"pretokenizers"`
}

type splitOut struct {
	Type    string `json:"type"`
	Pattern struct {
		Regex string `json:"Regex"`
	} `json:"pattern"`
	Behavior string `json:"behavior"`
	Invert   bool   `json:"invert"`
}

type byteLevel struct {
	Type           string `json:"type"`
	AddPrefixSpace bool   `json:"add_prefix_space"`
	TrimOffsets    bool   `json:"trim_offsets"`
	UseRegex       bool   `json:"use_regex"`
}

type modelOut struct {
	Type                    string       `json:"type"`
	Dropout                 *float64     `json:"dropout"`
	UnkToken                *string      `json:"unk_token"`
	ContinuingSubwordPrefix *string      `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string      `json:"end_of_word_suffix"`
	FuseUnk                 bool         `json:"fuse_unk"`
	ByteFallback            bool         `json:"byte_fallback"`
	IgnoreMerges            bool         `json:"ignore_merges"`
	Vocab                   orderedVocab `json:"vocab"`
	Merges                  [][2]string  `json:"merges"`
}

// orderedVocab is the vocab in byte-level chars, by id; it is written in id order.
type orderedVocab []string

func (v orderedVocab) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for id, tok := range v {
		if id > 0 {
			b = append(b, ',')
		}
		s, err := marshal(tok, "")
		if err != nil {
			return nil, err
		}
		b = append(b, bytes.TrimSuffix(s, []byte{'\n'})...)
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(id), 10)
	}
	return append(b, '}'), nil
}

// marshal is json.Marshal without HTML escaping, which would write "<" as "\u003c".
func marshal(v any, indent string) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	err := enc.Encode(v)
	return b.Bytes(), err
}

// byteLevelString writes raw bytes in byte-level chars.
func byteLevelString(s string) string {
	r := make([]rune, len(s))
	for i := range len(s) {
		r[i] = byteChar[s[i]]
	}
	return string(r)
}

// encodeFile writes the tokenizer.json of a vocab (raw bytes by id) and merges.
func encodeFile(toks []string, merges [][2]int32, o TrainOptions) ([]byte, error) {
	bl := byteLevel{Type: "ByteLevel"}
	split := splitOut{Type: "Split", Behavior: "Isolated"}
	split.Pattern.Regex = o.Pattern
	f := fileOut{
		Version:       "1.0",
		AddedTokens:   []addedJSON{},
		Normalizer:    typeOnly{"NFC"},
		PreTokenizer:  sequenceOut{Type: "Sequence", PreTokenizers: []any{split, bl}},
		PostProcessor: bl,
		Decoder:       bl,
		Model: modelOut{
			Type:   "BPE",
			Vocab:  make(orderedVocab, len(toks)),
			Merges: make([][2]string, len(merges)),
		},
	}
	for i, s := range o.Special {
		f.AddedTokens = append(f.AddedTokens, addedJSON{ID: int32(len(toks) + i), Content: s, Special: true})
	}
	for id, s := range toks {
		f.Model.Vocab[id] = byteLevelString(s)
	}
	for i, m := range merges {
		f.Model.Merges[i] = [2]string{f.Model.Vocab[m[0]], f.Model.Vocab[m[1]]}
	}
	return marshal(f, "  ")
}

// encodeConfig writes the tokenizer_config.json; the vocab has n tokens.
func encodeConfig(n int, o TrainOptions) ([]byte, error) {
	type decoded struct {
		Content    string `json:"content"`
		Lstrip     bool   `json:"lstrip"`
		Normalized bool   `json:"normalized"`
		Rstrip     bool   `json:"rstrip"`
		SingleWord bool   `json:"single_word"`
		Special    bool   `json:"special"`
	}
	cfg := struct {
		AddedTokensDecoder        map[string]decoded `json:"added_tokens_decoder"`
		BOSToken                  *string            `json:"bos_token"`
		ChatTemplate              string             `json:"chat_template"`
		CleanUpTokenizationSpaces bool               `json:"clean_up_tokenization_spaces"`
		EOSToken                  string             `json:"eos_token"`
		ModelMaxLength            int                `json:"model_max_length"`
		PadToken                  string             `json:"pad_token"`
		TokenizerClass            string             `json:"tokenizer_class"`
		UnkToken                  *string            `json:"unk_token"`
	}{
		AddedTokensDecoder: make(map[string]decoded),
		ChatTemplate:       o.ChatTemplate,
		EOSToken:           o.EOS,
		ModelMaxLength:     o.ModelMaxLength,
		PadToken:           o.Pad,
		TokenizerClass:     "PreTrainedTokenizerFast",
	}
	for i, s := range o.Special {
		cfg.AddedTokensDecoder[strconv.Itoa(n+i)] = decoded{Content: s, Special: true}
	}
	return marshal(cfg, "  ")
}
