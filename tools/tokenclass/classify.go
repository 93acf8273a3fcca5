package main

import (
	"strings"
	"unicode/utf8"

	"github.com/ytrain/ytrain/internal/bpe"
)

// Token classes of an answer's targets.
const (
	template = "template" // the answer's wording and the end-of-turn token
	copied   = "copied"   // the entity, copied from the question
	value    = "value"    // the fact's value (meta.label)
	// --regions splits value by mention: the label's first occurrence in
	// the answer, which the model cannot copy from its own answer yet, and
	// the later ones, which it can.
	valueFirst = "value · first mention"
	valueLater = "value · later mentions"
)

// answer is what classify needs of a data record.
type answer struct {
	output, label, entity string
}

// entityOf is the part of a fact id ("velmorin/dose") before the slash.
func entityOf(fact string) string {
	e, _, _ := strings.Cut(fact, "/")
	return e
}

// classify returns the class of every target token (ids, in target order),
// or ok false when the decoded targets do not hold the answer text (or the
// label is not in it), so the tokens cannot be placed.
func classify(tok *bpe.Tokenizer, ids []int32, a answer) (classes []string, ok bool) {
	classes, ok = classifyMentions(tok, ids, a, strings.Index)
	for k, c := range classes {
		if c == valueFirst || c == valueLater {
			classes[k] = value
		}
	}
	return classes, ok
}

// classifyMentions is classify with value split into valueFirst and
// valueLater; index finds the label in the answer (indexFold where it may
// start a sentence capitalized).
func classifyMentions(tok *bpe.Tokenizer, ids []int32, a answer, index func(s, sub string) int) (classes []string, ok bool) {
	full := tok.Decode(ids)
	out := a.output
	off := strings.Index(full, out)
	if off < 0 { // templates that strip the answer
		out = strings.TrimSpace(out)
		off = strings.Index(full, out)
	}
	if off < 0 || out == "" {
		return nil, false
	}
	values := occurrences(out, a.label, index)
	if a.label != "" && len(values) == 0 {
		return nil, false
	}
	copies := occurrences(out, a.entity, indexFold)
	classes = make([]string, len(ids))
	start := 0
	for k := range ids {
		down, end := prefixEnd(full, tok.Decode(ids[:k+1]))
		// the token's span in the answer; overlap with [s, e) below
		s, e := start-off, end-off
		switch {
		case overlaps(s, e, values[:min(1, len(values))]):
			classes[k] = valueFirst
		case overlaps(s, e, values):
			classes[k] = valueLater
		case overlaps(s, e, copies):
			classes[k] = copied
		default:
			classes[k] = template
		}
		start = down
	}
	return classes, true
}

// prefixEnd is where the decoding of the first tokens ends in the decoding
// of all of them: down == up, unless the prefix cuts a multi-byte char (it
// decodes as U+FFFD). Then down is that char's start, where the next token
// begins, and up its end, where this one ends: every token holding a byte of
// the char overlaps it.
func prefixEnd(full, prefix string) (down, up int) {
	n := 0
	for n < len(full) && n < len(prefix) && full[n] == prefix[n] {
		n++
	}
	if n == len(prefix) {
		return n, n
	}
	for n > 0 && n < len(full) && !utf8.RuneStart(full[n]) { // back to the char's first byte
		n--
	}
	up = n
	if n < len(full) {
		_, size := utf8.DecodeRuneInString(full[n:])
		up += size
	}
	return n, up
}

// span is a byte range [s, e) of the answer.
type span struct{ s, e int }

// occurrences are the non-overlapping spans of sub in s found by index.
func occurrences(s, sub string, index func(s, sub string) int) []span {
	var out []span
	if sub == "" {
		return nil
	}
	for from := 0; from < len(s); {
		i := index(s[from:], sub)
		if i < 0 {
			break
		}
		out = append(out, span{from + i, from + i + len(sub)})
		from += i + len(sub)
	}
	return out
}

// indexFold is strings.Index ignoring case.
func indexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}

// overlaps tells whether [s, e) shares a byte with one of spans.
func overlaps(s, e int, spans []span) bool {
	for _, p := range spans {
		if s < p.e && p.s < e {
			return true
		}
	}
	return false
}
