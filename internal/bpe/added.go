package bpe

// addedMatcher finds added tokens in text, leftmost-longest, like the aho-corasick
// automaton HF builds from them: the earliest start wins, then the longest token there.
type addedMatcher struct {
	starts [256]bool // first bytes of the tokens, to skip the trie at most positions
	nodes  []trieNode
}

type trieNode struct {
	edges []trieEdge
	id    int32 // the token ending here, or -1
}

type trieEdge struct {
	b  byte
	to int32
}

func newAddedMatcher() *addedMatcher {
	return &addedMatcher{nodes: []trieNode{{id: -1}}}
}

// add inserts a non-empty token; of two tokens with the same content the first is kept,
// as aho-corasick reports the lowest pattern.
func (m *addedMatcher) add(content string, id int32) {
	m.starts[content[0]] = true
	n := int32(0)
	for i := 0; i < len(content); i++ {
		next := m.child(n, content[i])
		if next < 0 {
			next = int32(len(m.nodes))
			m.nodes = append(m.nodes, trieNode{id: -1})
			m.nodes[n].edges = append(m.nodes[n].edges, trieEdge{content[i], next})
		}
		n = next
	}
	if m.nodes[n].id < 0 {
		m.nodes[n].id = id
	}
}

func (m *addedMatcher) child(n int32, b byte) int32 {
	for _, e := range m.nodes[n].edges {
		if e.b == b {
			return e.to
		}
	}
	return -1
}

// split cuts s at the tokens: it calls gap for each non-empty stretch between them and
// token for each token, in order.
func (m *addedMatcher) split(s string, gap func(start, end int), token func(id int32, start int)) {
	for from := 0; from < len(s); {
		start, end, id := m.find(s, from)
		if start < 0 {
			start, end = len(s), len(s)
		}
		if from < start {
			gap(from, start)
		}
		if start < end {
			token(id, start)
		}
		from = end
	}
}

// find returns the leftmost-longest token in s at or after from, or start -1.
func (m *addedMatcher) find(s string, from int) (start, end int, id int32) {
	if len(m.nodes) == 1 {
		return -1, 0, 0 // no tokens
	}
	for start = from; start < len(s); start++ {
		if !m.starts[s[start]] {
			continue
		}
		end = -1
		for n, i := int32(0), start; i < len(s); i++ {
			if n = m.child(n, s[i]); n < 0 {
				break
			}
			if m.nodes[n].id >= 0 {
				end, id = i+1, m.nodes[n].id
			}
		}
		if end >= 0 {
			return start, end, id
		}
	}
	return -1, 0, 0
}
