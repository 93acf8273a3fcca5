package bpe

import (
	"fmt"
	"math/bits"
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode/utf8"

	"github.com/dlclark/regexp2"
)

// gpt2Pattern is the regex of HF's ByteLevel pre-tokenizer when use_regex is true.
const gpt2Pattern = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`

// finder calls yield with the [start, end) byte range of each successive match in s,
// like the find_iter of the Oniguruma regex HF compiles a Split pattern into.
type finder interface {
	find(s string, yield func(start, end int))
}

// splitStep is one HF Split pre-tokenizer.
type splitStep struct {
	re      finder
	invert  bool // the pieces between matches are the "matches"
	removed bool // behavior Removed: drop the matches; otherwise Isolated: keep every piece
}

// split calls yield with the pieces of s that the step keeps, in order. Empty pieces are
// dropped, as HF does.
func (st *splitStep) split(s string, yield func(start, end int)) {
	last := 0
	keep := func(start, end int, isMatch bool) {
		if start < end && !(st.removed && isMatch != st.invert) {
			yield(start, end)
		}
	}
	st.re.find(s, func(start, end int) {
		keep(last, start, false)
		keep(start, end, true)
		last = end
	})
	keep(last, len(s), false)
}

// compileRegex compiles a Split regex: with Go's RE2 engine plus the look-ahead
// emulation where the pattern allows it (about twice as fast), else with regexp2, a
// backtracking engine whose \s, \p{L} and \p{N} agree with Oniguruma's.
func compileRegex(expr string) (finder, error) {
	if f, ok := newEmulated(expr); ok {
		return f, nil
	}
	re, err := regexp2.Compile(expr, regexp2.None)
	if err != nil {
		return nil, fmt.Errorf("split regex %q: %w", expr, err)
	}
	return backtracking{re}, nil
}

// backtracking runs a regexp2 regex.
type backtracking struct{ re *regexp2.Regexp }

func (b backtracking) find(s string, yield func(start, end int)) {
	// regexp2 works on runes; map its rune indexes back to bytes with a cursor that only
	// moves forward. Decoding s itself keeps invalid bytes at width 1, as []rune does.
	runes := []rune(s)
	ri, bi := 0, 0
	byteAt := func(r int) int {
		for ; ri < r; ri++ {
			_, n := utf8.DecodeRuneInString(s[bi:])
			bi += n
		}
		return bi
	}
	m, err := b.re.FindRunesMatch(runes)
	for m != nil && err == nil {
		start := byteAt(m.Index)
		yield(start, byteAt(m.Index+m.Length))
		m, err = b.re.FindNextMatch(m)
	}
}

// literal finds a Split String pattern.
type literal string

func (l literal) find(s string, yield func(start, end int)) {
	for pos := 0; ; {
		i := strings.Index(s[pos:], string(l))
		if i < 0 {
			return
		}
		pos += i + len(l)
		yield(pos-len(l), pos)
	}
}

// The look-ahead emulation. Every byte-level BPE split regex in use (GPT-2, Llama-3's
// cl100k style, Qwen2/3, o200k) ends in `\s+(?!\S)|\s+`: a whitespace run, less its last
// char when a non-space follows, so that " word" stays together. RE2 has no look-ahead,
// so the tail becomes a capture group `(\s+)`, and when that group matched a run of two
// or more chars that something follows, the match gives its last char back and the
// search goes on from there, which is just what the backtracking engine does. The rest
// of the pattern is searched as is: RE2's leftmost-first alternation picks the same
// alternative as Oniguruma's backtracking.

const lookaheadTail = `\s+(?!\S)|\s+`

// whiteSpace is Unicode White_Space, which Oniguruma's \s is; RE2's \s is ASCII only.
const whiteSpace = `\t\n\v\f\r \x{85}\p{Z}`

type emulated struct {
	re *regexp.Regexp
	// For windows (see find): the char-consuming instructions of the program, as bits.
	follows []uint64 // per instruction: those a path can take right after it
	bmp     []uint64 // per BMP rune: the instructions that accept it
	insts   []*syntax.Inst
}

// newEmulated reports false for patterns it cannot translate exactly.
func newEmulated(expr string) (*emulated, bool) {
	head, ok := strings.CutSuffix(expr, lookaheadTail)
	if ok && head != "" {
		// The tail must be a top-level alternative, not the end of a longer one.
		head, ok = strings.CutSuffix(head, "|")
		ok = ok && head != "" && topLevel(head)
	}
	if !ok {
		return nil, false
	}
	re2, ok := toRE2(head)
	if !ok {
		return nil, false
	}
	if head != "" {
		re2 += "|"
	}
	re2 += "([" + whiteSpace + "]+)"
	re, err := regexp.Compile(re2)
	// An empty match would stall the search loop; with anchors ruled out, a regex that
	// can match empty anywhere matches "".
	if err != nil || re.MatchString("") {
		return nil, false
	}
	e := &emulated{re: re}
	e.initWindows(re2)
	return e, true
}

// maxWindow bounds the search for a window end; beyond it the rest of the text is used.
const maxWindow = 1024

func (e *emulated) find(s string, yield func(start, end int)) {
	tail := 2 * e.re.NumSubexp() // index of the whitespace group in a submatch slice
	limit, recheck := 0, 0
	for pos := 0; pos < len(s); {
		if pos >= recheck {
			limit, recheck = e.window(s, pos)
		}
		loc := e.re.FindStringSubmatchIndex(s[pos:limit])
		if loc == nil {
			pos = limit // no match starts before the window end
			continue
		}
		start, end := pos+loc[0], pos+loc[1]
		if loc[tail] >= 0 && end < len(s) {
			if _, n := utf8.DecodeLastRuneInString(s[start:end]); end-start > n {
				end -= n
			}
		}
		yield(start, end)
		pos = end
	}
}

// Windows. Go's backtracking matcher clears a bitmap of (instructions x input length)
// on every call, so searching the rest of a long text once per match is quadratic. Each
// search therefore gets only the text up to the next window end: a char boundary that
// no path of the regex can cross, because no instruction that accepts the char before
// it can be followed by one that accepts the char after it ("ab" and " " for the usual
// patterns). Matches never span it, and every path sees the same chars as on the full
// text, so the matches found are the same.

// initWindows computes the instruction sets; windows stay off (each search gets the
// whole rest) for programs with zero-width assertions or too many instructions.
func (e *emulated) initWindows(expr string) {
	syn, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return
	}
	prog, err := syntax.Compile(syn.Simplify())
	if err != nil {
		return
	}
	bit := make(map[uint32]int) // instruction index -> bit
	for pc := range prog.Inst {
		switch prog.Inst[pc].Op {
		case syntax.InstRune, syntax.InstRune1, syntax.InstRuneAny, syntax.InstRuneAnyNotNL:
			bit[uint32(pc)] = len(e.insts)
			e.insts = append(e.insts, &prog.Inst[pc])
		case syntax.InstEmptyWidth:
			return
		}
	}
	if len(e.insts) > 64 {
		e.insts = nil
		return
	}
	// follow collects the char-consuming instructions reachable from pc without
	// consuming a char.
	var follow func(pc uint32, seen map[uint32]bool) uint64
	follow = func(pc uint32, seen map[uint32]bool) uint64 {
		if seen[pc] {
			return 0
		}
		seen[pc] = true
		switch in := prog.Inst[pc]; in.Op {
		case syntax.InstAlt, syntax.InstAltMatch:
			return follow(in.Out, seen) | follow(in.Arg, seen)
		case syntax.InstCapture, syntax.InstNop:
			return follow(in.Out, seen)
		case syntax.InstMatch, syntax.InstFail:
			return 0
		}
		return 1 << bit[pc]
	}
	for _, in := range e.insts {
		e.follows = append(e.follows, follow(in.Out, map[uint32]bool{}))
	}
	bmp := make([]uint64, 0x10000)
	for r := range bmp {
		bmp[r] = e.accepting(rune(r))
	}
	e.bmp = bmp
}

// accepting returns the instructions that accept r.
func (e *emulated) accepting(r rune) uint64 {
	if int(r) < len(e.bmp) {
		return e.bmp[r]
	}
	var set uint64
	for i, in := range e.insts {
		if in.MatchRune(r) {
			set |= 1 << i
		}
	}
	return set
}

// window returns the end of the window for a search at pos, and the position from which
// it must be recomputed: the window end, or, when there is none within maxWindow, the
// end of the text and pos+maxWindow.
func (e *emulated) window(s string, pos int) (limit, recheck int) {
	if e.insts == nil {
		return len(s), len(s)
	}
	r, n := utf8.DecodeRuneInString(s[pos:])
	set := e.accepting(r)
	for i := pos + n; i < len(s) && i-pos <= maxWindow; i += n {
		r, n = utf8.DecodeRuneInString(s[i:])
		next := e.accepting(r)
		var after uint64 // the instructions that can take the char at i
		for prev := set; prev != 0; prev &= prev - 1 {
			after |= e.follows[bits.TrailingZeros64(prev)]
		}
		if after&next == 0 {
			return i, i
		}
		set = next
	}
	return len(s), pos + maxWindow
}

// topLevel reports whether expr ends outside any group or class, so that a following
// `|` separates top-level alternatives.
func topLevel(expr string) bool {
	depth, inClass := 0, false
	for i := 0; i < len(expr); i++ {
		switch c := expr[i]; {
		case c == '\\':
			i++
		case inClass:
			inClass = c != ']'
		case c == '[':
			inClass = true
		case c == '(':
			depth++
		case c == ')':
			depth--
		}
	}
	return depth == 0 && !inClass
}

// toRE2 rewrites an Oniguruma pattern without look-arounds into RE2 syntax with the same
// matches: \s and \S become the Unicode White_Space set. It reports false for anything
// whose meaning differs between the engines or that it does not check: \d \w \b (ASCII
// in RE2), anchors (the search runs on suffixes of the text), group flags other than i,
// nested classes and && (set operations in Oniguruma, literals in RE2), and {,n}.
func toRE2(expr string) (string, bool) {
	var b strings.Builder
	inClass := false
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		rest := expr[i+1:]
		switch {
		case c == '\\':
			if rest == "" {
				return "", false
			}
			i++
			switch n := rest[0]; {
			case n == 's' && inClass:
				b.WriteString(whiteSpace)
			case n == 's':
				b.WriteString("[" + whiteSpace + "]")
			case n == 'S' && !inClass:
				b.WriteString("[^" + whiteSpace + "]")
			case strings.IndexByte("pPrntfvx", n) >= 0 || !isAlnum(n):
				b.WriteByte(c)
				b.WriteByte(n)
			default:
				return "", false
			}
			continue
		case inClass:
			if c == '[' || c == '&' && strings.HasPrefix(rest, "&") {
				return "", false
			}
			inClass = c != ']'
		case c == '[':
			if strings.HasPrefix(rest, "]") || strings.HasPrefix(rest, "^]") {
				return "", false // a leading ] is literal in RE2 only
			}
			inClass = true
		case c == '^' || c == '$':
			return "", false
		case c == '{' && strings.HasPrefix(rest, ","):
			return "", false
		case c == '(' && strings.HasPrefix(rest, "?"):
			flags := rest[1:]
			if !strings.HasPrefix(flags, ":") && !strings.HasPrefix(flags, "i:") && !strings.HasPrefix(flags, "i)") {
				return "", false
			}
		}
		b.WriteByte(c)
	}
	return b.String(), !inClass
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
