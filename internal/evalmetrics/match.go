package evalmetrics

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/width"
)

// Normalize folds what should not decide a match: full-width and
// half-width forms to their usual width (ＡＢＣ１ → ABC1, ideographic space →
// space, ｶ → カ), letter case, and runs of white space to one space, trimmed.
func Normalize(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(width.Fold.String(s))), " ")
}

// Matcher decides whether a response answers its reference.
type Matcher struct {
	mode      string
	normalize bool
	res       map[string]*regexp.Regexp // regex mode: compiled references
	checks    map[string]*Check         // check mode: compiled meta.check rule lists
}

// NewMatcher checks mode: exact (equal), contains (the reference occurs in
// the response, Y-Trainer's smoke test's rule), regex (the reference is an
// RE2 pattern found anywhere in the response; anchor it with ^…$ for a full
// match) or value (MatchValue: the reference and no other candidate value,
// always normalized) or check (the record's own rules in meta.check decide,
// Check; the reference is an example answer). normalize applies Normalize
// to both sides, or to the response only in regex mode.
func NewMatcher(mode string, normalize bool) (*Matcher, error) {
	switch mode {
	case "exact", "contains", "regex", "value", "check":
		return &Matcher{mode: mode, normalize: normalize || mode == "value", res: map[string]*regexp.Regexp{},
			checks: map[string]*Check{}}, nil
	}
	return nil, fmt.Errorf("--match %q: want exact, contains, regex, value or check", mode)
}

// NeedsChoices says whether Match wants the candidate values (meta.choices).
func (m *Matcher) NeedsChoices() bool { return m.mode == "value" }

// MatchSample decides one answer with what its mode reads from the
// record's meta: the candidate values (value) or the rules (check).
func (m *Matcher) MatchSample(response, reference string, meta json.RawMessage) (bool, error) {
	if m.mode == "check" {
		return m.matchCheck(response, meta)
	}
	var choices []string
	if m.NeedsChoices() {
		var err error
		if choices, err = choicesOf(meta); err != nil {
			return false, err
		}
	}
	return m.Match(response, reference, choices)
}

// Match decides one answer; choices are the question's candidate values,
// used (and required) only in value mode.
func (m *Matcher) Match(response, reference string, choices []string) (bool, error) {
	if m.mode == "check" {
		return false, errors.New("--match check reads meta.check: use MatchSample")
	}
	if m.mode == "value" {
		if choices == nil {
			return false, errors.New(`no meta.choices (--match value needs the question's candidate values)`)
		}
		return MatchValue(Normalize(response), Normalize(reference), choices), nil
	}
	if m.normalize {
		response = Normalize(response)
	}
	if m.mode == "regex" {
		re, ok := m.res[reference]
		if !ok {
			var err error
			if re, err = regexp.Compile(reference); err != nil {
				return false, fmt.Errorf("reference is not a valid regex (--match regex): %v", err)
			}
			m.res[reference] = re
		}
		return re.MatchString(response), nil
	}
	if m.normalize {
		reference = Normalize(reference)
	}
	if m.mode == "exact" {
		return response == reference, nil
	}
	return strings.Contains(response, reference), nil
}

// MatchValue says whether response names reference and no other of the
// choices: reference occurs in it as a whole-word phrase (Phrases) and no
// other choice does, except inside an occurrence of reference ("20 mg
// daily" does not name "20 mg" when it is the reference). So "120 mg" is
// not "20 mg", and listing several candidates is wrong. Choices are
// normalized here; response and reference come normalized.
func MatchValue(response, reference string, choices []string) bool {
	refs := Phrases(response, reference)
	if len(refs) == 0 {
		return false
	}
	for _, c := range choices {
		c = Normalize(c)
		if c == reference {
			continue
		}
	next:
		for _, at := range Phrases(response, c) {
			for _, r := range refs {
				if at[0] >= r[0] && at[1] <= r[1] {
					continue next
				}
			}
			return false
		}
	}
	return true
}

// Phrases returns the byte spans [start, end) where phrase occurs in s as
// whole words: not preceded or followed by a word character (a letter,
// digit or mark outside the CJK scripts, which Words splits per character),
// nor by a decimal point or thousands separator that continues a number
// ("5 mg" is not in "0.5 mg", "20" not in "20,000").
func Phrases(s, phrase string) [][2]int {
	if phrase == "" {
		return nil
	}
	var out [][2]int
	for from := 0; from <= len(s)-len(phrase); {
		i := strings.Index(s[from:], phrase)
		if i < 0 {
			break
		}
		start, end := from+i, from+i+len(phrase)
		if boundaryBefore(s, start, phrase) && boundaryAfter(s, end, phrase) {
			out = append(out, [2]int{start, end})
		}
		_, size := utf8.DecodeRuneInString(s[start:])
		from = start + size
	}
	return out
}

func wordRune(r rune) bool {
	if unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul) {
		return false
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

func numberJoin(r rune) bool { return r == '.' || r == ',' }

func boundaryBefore(s string, start int, phrase string) bool {
	r, n := utf8.DecodeLastRuneInString(s[:start])
	if n == 0 {
		return true
	}
	first, _ := utf8.DecodeRuneInString(phrase)
	if wordRune(first) && wordRune(r) {
		return false
	}
	prev, _ := utf8.DecodeLastRuneInString(s[:start-n])
	return !(unicode.IsDigit(first) && numberJoin(r) && unicode.IsDigit(prev))
}

func boundaryAfter(s string, end int, phrase string) bool {
	r, n := utf8.DecodeRuneInString(s[end:])
	if n == 0 {
		return true
	}
	last, _ := utf8.DecodeLastRuneInString(phrase)
	if wordRune(last) && wordRune(r) {
		return false
	}
	next, _ := utf8.DecodeRuneInString(s[end+n:])
	return !(unicode.IsDigit(last) && numberJoin(r) && unicode.IsDigit(next))
}

// FullMatch compiles an RE2 pattern that must match a whole response.
func FullMatch(pattern string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(`\A(?:` + pattern + `)\z`)
	if err != nil {
		return nil, fmt.Errorf("--format-regex: %v", err)
	}
	return re, nil
}
