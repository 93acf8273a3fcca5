package bpe

import (
	"hash/maphash"
	"strings"
	"sync"
	"unicode/utf8"
)

// model is the BPE model, working on raw bytes: a word's initial symbols are the vocab
// ids of its bytes' byte-level chars, so text never has to be mapped to those chars.
type model struct {
	byteIDs      [256]int32
	merges       map[uint64]uint64 // left<<32 | right -> rank<<32 | merged id
	ignoreMerges bool
	vocab        map[string]int32 // keyed by byte-level chars, as in the file
	cache        *wordCache
}

func pairKey(left, right int32) uint64 { return uint64(uint32(left))<<32 | uint64(uint32(right)) }

// encode appends the ids of one pre-tokenized word (raw bytes) to ids.
func (m *model) encode(word string, ids []int32) []int32 {
	if len(word) == 1 {
		return append(ids, m.byteIDs[word[0]])
	}
	if w, ok := m.cache.get(word); ok {
		return append(ids, w...)
	}
	var w []int32
	if id, ok := m.wholeWord(word); ok {
		w = []int32{id}
	} else {
		w = m.merge(word)
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
	prev, next int32 // neighbours still alive; -1 at the ends
	gone       bool  // merged into its left neighbour
}

type candidate struct{ pos, rank, id int32 }

// merge is HF's Word::merge_all: repeatedly apply the best-ranked merge, the leftmost one
// on ties, using a heap of candidate pairs whose stale entries are skipped when popped.
func (m *model) merge(word string) []int32 {
	syms := make([]symbol, len(word))
	for i := range syms {
		syms[i] = symbol{id: m.byteIDs[word[i]], prev: int32(i) - 1, next: int32(i) + 1}
	}
	syms[len(syms)-1].next = -1
	h := make(mergeHeap, 0, len(word))
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
	out := make([]int32, 0, len(syms))
	for _, s := range syms {
		if !s.gone {
			out = append(out, s.id)
		}
	}
	return out
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
