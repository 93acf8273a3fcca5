package evalmetrics

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/ytrain/ytrain/internal/corpus"
)

// A check decides an answer by a rule of its own record (meta.check) where
// no reference string can: instruction following ("answer in one word",
// "list three", JSON when asked) and conversation (a greeting gets a
// greeting). meta.check is one rule or a list of rules, all of which must
// hold; a rule is "NAME" or "NAME:ARG" (CheckRules lists them).
type Check struct {
	rules []checkRule
}

type checkRule struct {
	spec string
	ok   func(response string) bool
}

// CheckRules names every rule and its argument, for usage text and errors.
var CheckRules = []string{
	"mentions:A|B (names one of the phrases as whole words, case-folded)",
	"avoids:A|B (names none of them)",
	"starts-with:A|B (its first words are one of them)",
	"ends-with:A|B (its last words are one of them)",
	"words:N, max-words:N, min-words:N (words: letter or digit runs; don't and well-known are one)",
	"sentences:N, max-sentences:N (runs ended by . ! ? or the end; 3.5 ends none)",
	"list:N (N items: marked lines - * • 1. 1), else unmarked lines, else one line's items split at commas and and/or)",
	"uppercase, lowercase (has letters, all of that case)",
	"json (one JSON object or array, ``` fences allowed), json-keys:K1,K2 (an object with those keys), json-list:N (an array of N)",
	"greeting, thanks-reply, farewell (a greeting, you're welcome, a goodbye in the first sentence, at most its first 8 words)",
}

// Phrases the conversational rules look for, after Normalize.
var (
	greetings = []string{"hello", "hi", "hey", "greetings", "good morning", "good afternoon", "good evening", "welcome", "howdy", "nice to meet you"}
	thanks    = []string{"welcome", "my pleasure", "glad", "happy to help", "no problem", "anytime", "no worries"}
	farewells = []string{"goodbye", "bye", "see you", "take care", "farewell", "have a nice day", "have a good day", "have a great day", "until next time", "good night"}
)

// ParseCheck compiles rule specs; a rule it does not know, or a bad
// argument, is an error, so that no answer is silently judged by less than
// its record asks.
func ParseCheck(specs []string) (*Check, error) {
	if len(specs) == 0 {
		return nil, errors.New("meta.check names no rule")
	}
	c := &Check{}
	for _, s := range specs {
		ok, err := parseRule(s)
		if err != nil {
			return nil, fmt.Errorf("meta.check %q: %v", s, err)
		}
		c.rules = append(c.rules, checkRule{spec: s, ok: ok})
	}
	return c, nil
}

// Accepts says whether response passes every rule.
func (c *Check) Accepts(response string) bool {
	for _, r := range c.rules {
		if !r.ok(response) {
			return false
		}
	}
	return true
}

// Failed names the first rule response fails ("" when it passes all).
func (c *Check) Failed(response string) string {
	for _, r := range c.rules {
		if !r.ok(response) {
			return r.spec
		}
	}
	return ""
}

func parseRule(spec string) (func(string) bool, error) {
	name, arg, hasArg := strings.Cut(spec, ":")
	needArg := func() error {
		if !hasArg || strings.TrimSpace(arg) == "" {
			return errors.New("wants an argument (NAME:ARG)")
		}
		return nil
	}
	noArg := func() error {
		if hasArg {
			return errors.New("takes no argument")
		}
		return nil
	}
	count := func() (int, error) {
		if err := needArg(); err != nil {
			return 0, err
		}
		n, err := strconv.Atoi(arg)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("want a count, got %q", arg)
		}
		return n, nil
	}
	switch name {
	case "mentions", "avoids", "starts-with", "ends-with":
		if err := needArg(); err != nil {
			return nil, err
		}
		alts := alternatives(arg)
		if len(alts) == 0 {
			return nil, errors.New("no phrase")
		}
		switch name {
		case "mentions":
			return func(r string) bool { return mentions(r, alts) }, nil
		case "avoids":
			return func(r string) bool { return !mentions(r, alts) }, nil
		case "starts-with":
			return func(r string) bool { return edgeWords(r, alts, true) }, nil
		default:
			return func(r string) bool { return edgeWords(r, alts, false) }, nil
		}
	case "words", "max-words", "min-words", "sentences", "max-sentences", "list", "json-list":
		n, err := count()
		if err != nil {
			return nil, err
		}
		switch name {
		case "words":
			return func(r string) bool { return len(checkWords(r)) == n }, nil
		case "max-words":
			return func(r string) bool { return len(checkWords(r)) <= n }, nil
		case "min-words":
			return func(r string) bool { return len(checkWords(r)) >= n }, nil
		case "sentences":
			return func(r string) bool { return sentences(r) == n }, nil
		case "max-sentences":
			return func(r string) bool { return sentences(r) <= n }, nil
		case "list":
			return func(r string) bool { return listItems(r) == n }, nil
		default:
			return func(r string) bool {
				v, ok := jsonAnswer(r)
				a, isArr := v.([]any)
				return ok && isArr && len(a) == n
			}, nil
		}
	case "json-keys":
		if err := needArg(); err != nil {
			return nil, err
		}
		var keys []string
		for _, k := range strings.Split(arg, ",") {
			if k = strings.TrimSpace(k); k != "" {
				keys = append(keys, k)
			}
		}
		return func(r string) bool {
			v, ok := jsonAnswer(r)
			obj, isObj := v.(map[string]any)
			if !ok || !isObj {
				return false
			}
			for _, k := range keys {
				if _, has := obj[k]; !has {
					return false
				}
			}
			return true
		}, nil
	case "json", "uppercase", "lowercase", "greeting", "thanks-reply", "farewell":
		if err := noArg(); err != nil {
			return nil, err
		}
		switch name {
		case "json":
			return func(r string) bool {
				v, ok := jsonAnswer(r)
				switch v.(type) {
				case map[string]any, []any:
					return ok
				}
				return false
			}, nil
		case "uppercase":
			return func(r string) bool { return oneCase(r, unicode.IsUpper, unicode.IsLower) }, nil
		case "lowercase":
			return func(r string) bool { return oneCase(r, unicode.IsLower, unicode.IsUpper) }, nil
		case "greeting":
			return opening(greetings), nil
		case "thanks-reply":
			return opening(thanks), nil
		default:
			return opening(farewells), nil
		}
	}
	return nil, fmt.Errorf("unknown rule %q (known: %s)", name, strings.Join(CheckRules, "; "))
}

func alternatives(arg string) []string {
	var out []string
	for _, a := range strings.Split(arg, "|") {
		if a = Normalize(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// mentions: some alternative occurs as a whole-word phrase (Phrases).
func mentions(response string, alts []string) bool {
	r := Normalize(response)
	for _, a := range alts {
		if len(Phrases(r, a)) > 0 {
			return true
		}
	}
	return false
}

// edgeWords: the answer's first (or last) words are one alternative's
// words, so quotes and punctuation around them do not matter.
func edgeWords(response string, alts []string, first bool) bool {
	got := checkWords(Normalize(response))
	for _, a := range alts {
		want := checkWords(a)
		if len(want) == 0 || len(want) > len(got) {
			continue
		}
		part := got[len(got)-len(want):]
		if first {
			part = got[:len(want)]
		}
		if strings.Join(part, " ") == strings.Join(want, " ") {
			return true
		}
	}
	return false
}

// opening: one of the phrases in the answer's first sentence (at most its
// first 8 words), so that a reply that only ends on a greeting after a
// domain fact does not pass.
func opening(phrases []string) func(string) bool {
	return func(r string) bool {
		first := r
		if i := strings.IndexAny(r, ".!?"); i >= 0 {
			first = r[:i]
		}
		ws := checkWords(Normalize(first))
		return mentions(strings.Join(ws[:min(8, len(ws))], " "), phrases)
	}
}

// checkWords splits text into words: runs of letters, digits and marks,
// joined across an apostrophe or hyphen between two of them (don't,
// well-known); everything else separates.
func checkWords(s string) []string {
	rs := []rune(s)
	word := func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) }
	var out []string
	var cur []rune
	for i, r := range rs {
		switch {
		case word(r):
			cur = append(cur, r)
		case (r == '\'' || r == '’' || r == '-') && len(cur) > 0 && i+1 < len(rs) && word(rs[i+1]):
			cur = append(cur, r)
		default:
			if len(cur) > 0 {
				out = append(out, string(cur))
				cur = nil
			}
		}
	}
	if len(cur) > 0 {
		out = append(out, string(cur))
	}
	return out
}

// sentences counts runs of text ended by . ! ? (or by the end); a point
// between digits (3.5) ends nothing.
func sentences(s string) int {
	rs := []rune(strings.TrimSpace(s))
	n, open := 0, false
	for i, r := range rs {
		end := r == '.' || r == '!' || r == '?'
		if end && r == '.' && i > 0 && i+1 < len(rs) && unicode.IsDigit(rs[i-1]) && unicode.IsDigit(rs[i+1]) {
			end = false
		}
		switch {
		case end && open:
			n++
			open = false
		case !end && !unicode.IsSpace(r):
			open = true
		}
	}
	if open {
		n++
	}
	return n
}

// listItems counts a list's items: marked lines (- * • 1. 1)) when there
// are any; else the lines, when there are several (a first line ending in
// ":" introduces them); else the items of one line, after its last colon,
// split at commas and at "and"/"or" ("red, blue and green": 3).
func listItems(s string) int {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	marked := 0
	for _, l := range lines {
		if listMarker(l) {
			marked++
		}
	}
	if marked > 0 {
		return marked
	}
	if len(lines) > 0 && strings.HasSuffix(lines[0], ":") {
		lines = lines[1:]
	}
	if len(lines) > 1 {
		return len(lines)
	}
	if len(lines) == 0 {
		return 0
	}
	l := lines[0]
	if i := strings.LastIndex(l, ":"); i >= 0 {
		l = l[i+1:]
	}
	l = strings.TrimRight(strings.TrimSpace(l), ".!?")
	n := 0
	for _, part := range strings.Split(l, ",") {
		part = " " + strings.TrimSpace(part) + " "
		part = strings.NewReplacer(" and ", ",", " or ", ",").Replace(part)
		for _, item := range strings.Split(part, ",") {
			if len(checkWords(item)) > 0 {
				n++
			}
		}
	}
	return n
}

func listMarker(l string) bool {
	if strings.HasPrefix(l, "- ") || strings.HasPrefix(l, "* ") || strings.HasPrefix(l, "• ") {
		return true
	}
	i := 0
	for i < len(l) && l[i] >= '0' && l[i] <= '9' {
		i++
	}
	return i > 0 && i < len(l) && (l[i] == '.' || l[i] == ')')
}

// jsonAnswer reads the answer as one JSON value, inside a ``` fence (with or
// without a language name) if it has one.
func jsonAnswer(r string) (any, bool) {
	t := strings.TrimSpace(r)
	if rest, ok := strings.CutPrefix(t, "```"); ok {
		if i := strings.IndexByte(rest, '\n'); i >= 0 {
			rest = rest[i+1:]
		}
		inner, _, closed := strings.Cut(rest, "```")
		if !closed {
			return nil, false
		}
		t = strings.TrimSpace(inner)
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(t)))
	var v any
	if dec.Decode(&v) != nil || len(bytes.TrimSpace([]byte(t)[dec.InputOffset():])) > 0 {
		return nil, false
	}
	return v, true
}

// oneCase: some letter is of case want and none of case not.
func oneCase(s string, want, not func(rune) bool) bool {
	seen := false
	for _, r := range s {
		if not(r) {
			return false
		}
		seen = seen || want(r)
	}
	return seen
}

// checkOf reads meta.check: one rule spec or a list of them.
func checkOf(meta json.RawMessage) ([]string, error) {
	if meta == nil {
		return nil, errors.New("no meta.check (--match check needs each question's rule)")
	}
	var m struct {
		Check json.RawMessage `json:"check"`
	}
	if json.Unmarshal(meta, &m) != nil {
		return nil, fmt.Errorf(`field "meta": want an object, got %s`, corpus.Clip(meta))
	}
	if m.Check == nil || string(m.Check) == "null" {
		return nil, errors.New("no meta.check (--match check needs each question's rule)")
	}
	var one string
	if json.Unmarshal(m.Check, &one) == nil {
		return []string{one}, nil
	}
	var list []string
	if json.Unmarshal(m.Check, &list) != nil {
		return nil, fmt.Errorf("meta.check: want a rule or a list of rules, got %s", corpus.Clip(m.Check))
	}
	return list, nil
}

// matchCheck judges response by its record's meta.check, compiling each
// distinct rule list once.
func (m *Matcher) matchCheck(response string, meta json.RawMessage) (bool, error) {
	specs, err := checkOf(meta)
	if err != nil {
		return false, err
	}
	key := strings.Join(specs, "\x00")
	c, ok := m.checks[key]
	if !ok {
		if c, err = ParseCheck(specs); err != nil {
			return false, err
		}
		m.checks[key] = c
	}
	return c.Accepts(response), nil
}
