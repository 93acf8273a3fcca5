package bpe

import (
	"hash/maphash"
	"strings"
	"sync"
	"unicode/utf8"
)

// model is the BPE model, working on raw bytes: a word's initial symbols are the vocab
// ids of its bytes' byte-level chars, so text never has to be mapped to those chars.
//
// A vocab may lack some bytes' chars (SmolLM2's lacks 21 bytes that UTF-8 text hardly
// has). HF's BPE then turns such a char into <0xNN> tokens of its UTF-8 bytes under
// byte_fallback, else into unk_token when set, else into nothing (see symbols).
type model struct {
	byteIDs      [256]int32 // -1: the vocab lacks the byte's char
	complete     bool       // no byteIDs is -1
	fallback     [256][]int32
	unk          int32 // -1: none
	fuseUnk      bool
	merges       map[uint64]uint64 // left<<32 | right -> rank<<32 | merged id
	ignoreMerges bool
	vocab        map[string]int32 // keyed by byte-level chars, as in the file
	cache        *wordCache
}

// maxID is the highest id in the vocab (-1 when empty).
func (m *model) maxID() int32 {
	top := int32(-1)
	for _, id := range m.vocab {
		top = max(top, id)
	}
	return top
}

func pairKey(left, right int32) uint64 { return uint64(uint32(left))<<32 | uint64(uint32(right)) }

// encode appends the ids of one pre-tokenized word (raw bytes) to ids.
func (m *model) encode(word string, ids []int32) []int32 {
	if len(word) == 1 && m.byteIDs[word[0]] >= 0 {
		return append(ids, m.byteIDs[word[0]])
	}
	if w, ok := m.cache.get(word); ok {
		return append(ids, w...)
	}
	var w []int32
	if id, ok := m.wholeWord(word); ok {
		w = []int32{id}
	} else {
		w = alive(m.merge(m.symbols(word)), nil)
	}
	// HF caches words shorter than 256 bytes only; long ones are rare and costly to keep.
	if len(word) < 256 {
		m.cache.put(word, w)
	}
	return append(ids, w...)
}

// wholeWord implements ignore_merges: a word that is in the vocab as a whole is one
// token, whatever the merges would make of it.
func (m *model) wholeWord(word string) (int32, bool) {
	if !m.ignoreMerges {
		return 0, false
	}
	buf := make([]byte, 0, 2*len(word))
	for i := 0; i < len(word); i++ {
		buf = utf8.AppendRune(buf, byteChar[word[i]])
	}
	id, ok := m.vocab[string(buf)]
	return id, ok
}

type symbol struct {
	id         int32
	start      int32 // offset in the word of its first byte
	prev, next int32 // neighbours still alive; -1 at the ends
	gone       bool  // merged into its left neighbour
}

// symbols are a word's symbols before merging: HF's BPE::merge_word, with the byte-level
// chars of the word's bytes as its chars. A char without a token becomes the <0xNN>
// tokens of its UTF-8 bytes under byte_fallback when the vocab has them all, else an unk
// symbol when unk_token is set (a run of them one symbol under fuse_unk), else nothing.
// HF holds an unk back until the next char with a token or unk, so byte_fallback tokens
// that come first are added before it; that order is kept here.
func (m *model) symbols(word string) []symbol {
	syms := make([]symbol, 0, len(word))
	unkAt := int32(-1) // where the unk held back starts
	for i := 0; i < len(word); i++ {
		b, at := word[i], int32(i)
		if id := m.byteIDs[b]; id >= 0 {
			if unkAt >= 0 {
				syms = append(syms, symbol{id: m.unk, start: unkAt})
				unkAt = -1
			}
			syms = append(syms, symbol{id: id, start: at})
			continue
		}
		if fb := m.fallback[b]; fb != nil {
			for _, id := range fb {
				syms = append(syms, symbol{id: id, start: at})
			}
			continue
		}
		if m.unk >= 0 {
			if unkAt >= 0 && !m.fuseUnk {
				syms = append(syms, symbol{id: m.unk, start: unkAt})
				unkAt = -1
			}
			if unkAt < 0 {
				unkAt = at
			}
		}
	}
	if unkAt >= 0 {
		syms = append(syms, symbol{id: m.unk, start: unkAt})
	}
	for i := range syms {
		syms[i].prev, syms[i].next = int32(i)-1, int32(i)+1
	}
	if len(syms) > 0 {
		syms[len(syms)-1].next = -1
	}
	return syms
}

// lacksByte reports whether some byte of word has no token, so that its tokens do not
// spell it.
func (m *model) lacksByte(word string) bool {
	if m.complete {
		return false
	}
	for i := 0; i < len(word); i++ {
		if m.byteIDs[word[i]] < 0 {
			return true
		}
	}
	return false
}

// encodeStarts is encode for a word that lacks a byte: it also returns where each token
// starts in the word, which the tokens' lengths no longer tell.
func (m *model) encodeStarts(word string) (ids, starts []int32) {
	if id, ok := m.wholeWord(word); ok {
		return []int32{id}, []int32{0}
	}
	syms := m.merge(m.symbols(word))
	for _, s := range syms {
		if !s.gone {
			// held-back unks may come after later byte_fallback tokens (symbols)
			starts = append(starts, max(s.start, last(starts)))
		}
	}
	return alive(syms, nil), starts
}

func last(s []int32) int32 {
	if len(s) == 0 {
		return 0
	}
	return s[len(s)-1]
}

// alive appends the ids of the symbols not merged away to ids.
func alive(syms []symbol, ids []int32) []int32 {
	if ids == nil {
		ids = make([]int32, 0, len(syms))
	}
	for _, s := range syms {
		if !s.gone {
			ids = append(ids, s.id)
		}
	}
	return ids
}

type candidate struct{ pos, rank, id int32 }

// merge is HF's Word::merge_all: repeatedly apply the best-ranked merge, the leftmost one
// on ties, using a heap of candidate pairs whose stale entries are skipped when popped.
func (m *model) merge(syms []symbol) []symbol {
	h := make(mergeHeap, 0, len(syms))
	for i := 0; i+1 < len(syms); i++ {
		m.pushPair(&h, syms, int32(i))
	}
	for len(h) > 0 {
		c := h.pop()
		cur := &syms[c.pos]
		if cur.gone || cur.next < 0 {
			continue
		}
		right := &syms[cur.next]
		// The pair may have changed since c was pushed; HF only checks the merged id.
		if v, ok := m.merges[pairKey(cur.id, right.id)]; !ok || int32(v) != c.id {
			continue
		}
		cur.id = c.id
		cur.next = right.next
		right.gone = true
		if cur.next >= 0 {
			syms[cur.next].prev = c.pos
			m.pushPair(&h, syms, c.pos)
		}
		if cur.prev >= 0 {
			m.pushPair(&h, syms, cur.prev)
		}
	}
	return syms
}

// pushPair queues the pair starting at symbol pos, if it has a merge.
func (m *model) pushPair(h *mergeHeap, syms []symbol, pos int32) {
	if v, ok := m.merges[pairKey(syms[pos].id, syms[syms[pos].next].id)]; ok {
		h.push(candidate{pos: pos, rank: int32(v >> 32), id: int32(v)})
	}
}

// mergeHeap is a min-heap on (rank, pos), like the BinaryHeap in HF's BPE.
type mergeHeap []candidate

func (h mergeHeap) less(i, j int) bool {
	if h[i].rank != h[j].rank {
		return h[i].rank < h[j].rank
	}
	return h[i].pos < h[j].pos
}

func (h *mergeHeap) push(c candidate) {
	*h = append(*h, c)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if !s.less(i, p) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *mergeHeap) pop() candidate {
	s := *h
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s = s[:n]
	for i := 0; ; {
		least, l, r := i, 2*i+1, 2*i+2
		if l < n && s.less(l, least) {
			least = l
		}
		if r < n && s.less(r, least) {
			least = r
		}
		if least == i {
			break
		}
		s[i], s[least] = s[least], s[i]
		i = least
	}
	*h = s
	return top
}

// wordCache maps words to their ids. It is sharded so that encoding goroutines rarely
// wait on the same lock, and bounded: a full shard drops a random entry.
type wordCache struct {
	seed   maphash.Seed
	shards [cacheShards]cacheShard
}

const (
	cacheShards   = 64
	cacheShardCap = 1024
)

type cacheShard struct {
	mu sync.RWMutex
	m  map[string][]int32
	_  [64]byte // keep shards on separate cache lines
}

func newWordCache() *wordCache {
	c := &wordCache{seed: maphash.MakeSeed()}
	for i := range c.shards {
		c.shards[i].m = make(map[string][]int32)
	}
	return c
}

func (c *wordCache) shard(word string) *cacheShard {
	return &c.shards[maphash.String(c.seed, word)%cacheShards]
}

func (c *wordCache) get(word string) ([]int32, bool) {
	s := c.shard(word)
	s.mu.RLock()
	ids, ok := s.m[word]
	s.mu.RUnlock()
	return ids, ok
}

func (c *wordCache) put(word string, ids []int32) {
	s := c.shard(word)
	s.mu.Lock()
	if len(s.m) >= cacheShardCap {
		for k := range s.m { // map order is random: this evicts a random word
			delete(s.m, k)
			break
		}
	}
	// Clone: word points into the caller's text, which must not be kept alive.
	s.m[strings.Clone(word)] = ids
	s.mu.Unlock()
}
