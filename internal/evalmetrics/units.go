// Package evalmetrics measures generated answers: repetition and diversity
// (seq-rep-n, distinct-n), length, truncation, format and JSON-schema
// compliance, accuracy against references, and the held-out loss of score
// records (the cheap forgetting measure). It also compares runs.
package evalmetrics

import (
	"strconv"
	"unicode"
)

// MaxN is the largest n-gram order measured (seq-rep-1 .. seq-rep-4).
const MaxN = 4

// Words splits text into word units: a word is a run of letters, digits and
// combining marks; each CJK ideograph, kana and hangul syllable is a unit
// alone (those scripts do not separate words with spaces); any other
// non-space character (punctuation, symbols, emoji) is its own unit.
func Words(s string) []string {
	var out []string
	start := -1 // byte offset of the current word, -1 outside one
	end := func(i int) {
		if start >= 0 {
			out = append(out, s[start:i])
			start = -1
		}
	}
	for i, r := range s {
		switch {
		case unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul):
			end(i)
			out = append(out, string(r))
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
			if start < 0 {
				start = i
			}
		case unicode.IsSpace(r):
			end(i)
		default:
			end(i)
			out = append(out, string(r))
		}
	}
	end(len(s))
	return out
}

// tokenUnits turns model token ids into units, so one n-gram code serves
// both --unit word and --unit token.
func tokenUnits(ids []int32) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = strconv.Itoa(int(id))
	}
	return out
}

// ngramKey joins n units into a map key, each unit ended by \x00: units are
// never empty and only the one-character unit "\x00" contains it, so keys of
// different n-grams differ.
func ngramKey(units []string) string {
	n := 0
	for _, u := range units {
		n += len(u) + 1
	}
	b := make([]byte, 0, n)
	for _, u := range units {
		b = append(b, u...)
		b = append(b, 0)
	}
	return string(b)
}

// SeqRep is 1 − unique n-grams / n-grams of one response, 0 when it has no
// n-gram (fewer than n units).
func SeqRep(units []string, n int) float64 {
	total := len(units) - n + 1
	if total <= 0 {
		return 0
	}
	seen := make(map[string]struct{}, total)
	for i := 0; i < total; i++ {
		seen[ngramKey(units[i:i+n])] = struct{}{}
	}
	return float64(total-len(seen)) / float64(total) // = 1 − unique/total, without its rounding
}

// distinct accumulates distinct-n over all responses: unique n-grams /
// n-grams, counted across the whole set.
type distinct struct {
	seen  map[string]struct{}
	total int
}

func (d *distinct) add(units []string, n int) {
	if d.seen == nil {
		d.seen = map[string]struct{}{}
	}
	for i := 0; i+n <= len(units); i++ {
		d.seen[ngramKey(units[i:i+n])] = struct{}{}
		d.total++
	}
}

func (d *distinct) value() float64 {
	if d.total == 0 {
		return 0
	}
	return float64(len(d.seen)) / float64(d.total)
}
