package evalmetrics

import (
	"fmt"
	"regexp"
	"strings"

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
}

// NewMatcher checks mode: exact (equal), contains (the reference occurs in
// the response, the original smoke test's rule) or regex (the reference is
// an RE2 pattern found anywhere in the response; anchor it with ^…$ for a
// full match). normalize applies Normalize to both sides, or to the response
// only in regex mode.
func NewMatcher(mode string, normalize bool) (*Matcher, error) {
	switch mode {
	case "exact", "contains", "regex":
		return &Matcher{mode: mode, normalize: normalize, res: map[string]*regexp.Regexp{}}, nil
	}
	return nil, fmt.Errorf("--match %q: want exact, contains or regex", mode)
}

func (m *Matcher) Match(response, reference string) (bool, error) {
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

// FullMatch compiles an RE2 pattern that must match a whole response.
func FullMatch(pattern string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(`\A(?:` + pattern + `)\z`)
	if err != nil {
		return nil, fmt.Errorf("--format-regex: %v", err)
	}
	return re, nil
}
