package main

import (
	"math/rand/v2"
	"slices"
	"strings"
)

// grammar maps a symbol to its alternatives; an alternative may name other
// symbols as {symbol}. Only lookups are made, never map iteration, so the
// output depends on the random stream alone.
type grammar map[string][]string

// expander draws one expansion at a time. Until reset (a paragraph):
//   - a symbol written {$name} is drawn once and then repeated, so a
//     paragraph keeps its person, town or dish;
//   - a symbol written {!name} draws alternatives it has not drawn yet while
//     there are any, so a paragraph does not say the same thing twice.
type expander struct {
	g     grammar
	r     *rand.Rand
	bound map[string]string
	used  map[string][]bool
}

func newExpander(g grammar, r *rand.Rand) *expander {
	return &expander{g: g, r: r, bound: map[string]string{}, used: map[string][]bool{}}
}

func (e *expander) reset() {
	clear(e.bound)
	clear(e.used)
}

func (e *expander) expand(s string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		j := i + strings.IndexByte(s[i:], '}')
		b.WriteString(s[:i])
		b.WriteString(e.symbol(s[i+1 : j]))
		s = s[j+1:]
	}
}

func (e *expander) symbol(name string) string {
	if v, ok := e.bound[name]; ok {
		return v
	}
	// the grammars are fixed data, checked whole by the tests
	alts := e.g[strings.TrimLeft(name, "$!")]
	if name[0] != '!' {
		v := e.expand(alts[e.r.IntN(len(alts))])
		if name[0] == '$' {
			e.bound[name] = v
		}
		return v
	}
	used := e.used[name]
	if used == nil || !slices.Contains(used, false) {
		used = make([]bool, len(alts))
		e.used[name] = used
	}
	var fresh []int
	for i, u := range used {
		if !u {
			fresh = append(fresh, i)
		}
	}
	i := fresh[e.r.IntN(len(fresh))]
	used[i] = true
	return e.expand(alts[i])
}

// capitalize upper-cases the first letter of a sentence (all ASCII here).
func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
