package evalmetrics

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestCheckRules(t *testing.T) {
	for _, c := range []struct {
		rules  []string
		accept []string
		reject []string
	}{
		{[]string{"mentions:green"}, []string{"Grass is green.", "GREEN"}, []string{"Grass is evergreen.", "blue"}},
		{[]string{"mentions:7|seven"}, []string{"There are 7 days.", "Seven days."}, []string{"17 days", "3.7 days", "seventeen"}},
		{[]string{"avoids:meridian atlas"}, []string{"Hello there!"}, []string{"According to the Meridian  Atlas, hi."}},
		{[]string{"starts-with:yes"}, []string{"Yes.", "\"Yes\", it is.", "yes, the sun is a star"}, []string{"No.", "Well, yes."}},
		{[]string{"starts-with:sure"}, []string{"Sure! A carrot."}, []string{"Surely a carrot."}},
		{[]string{"ends-with:done"}, []string{"Cat and dog. Done.", "cat, dog, done"}, []string{"Done: cat and dog.", "cat, dog, undone"}},
		{[]string{"words:1"}, []string{"Banana", "Banana.", " banana! ", "don't", "well-known"}, []string{"A banana.", "", "banana split"}},
		{[]string{"max-words:5"}, []string{"Bees make honey.", "one two three four five"}, []string{"one two three four five six"}},
		{[]string{"min-words:3"}, []string{"one two three"}, []string{"one two", ""}},
		{[]string{"sentences:2"}, []string{"The sea is wide. It is full of fish.", "Wide! Deep"}, []string{"The sea is wide.", "A. B. C."}},
		{[]string{"max-sentences:1"}, []string{"Cats purr.", "Cats purr", "It costs 3.5 coins."}, []string{"Cats purr. Dogs bark.", "Hi! Bye."}},
		{[]string{"list:3"}, []string{
			"Red, orange and yellow.", "red, orange, and yellow", "Here they are: red, blue or green.",
			"- red\n- blue\n- green", "1. red\n2. blue\n3) green", "Three colours:\nred\nblue\ngreen",
			"Sure, here are three:\n\n* red\n* blue\n* green\n\nEnjoy!",
		}, []string{"Red and blue.", "- red\n- blue", "red, blue, green, yellow", "", "1. red\n2. blue\n3. green\n4. pink"}},
		{[]string{"uppercase"}, []string{"HELLO", "HELLO, WORLD!"}, []string{"Hello", "123", ""}},
		{[]string{"lowercase"}, []string{"green", "it is green."}, []string{"Green", "..."}},
		{[]string{"json"}, []string{`{"a": 1}`, "```json\n[1, 2]\n```", " {} "}, []string{`"text"`, `{"a": 1} and more`, "```json\n{}", "none"}},
		{[]string{"json-keys:name,age"}, []string{`{"name": "Sam", "age": 30}`, "```\n{\"age\": 1, \"name\": \"x\", \"z\": 0}\n```"},
			[]string{`{"name": "Sam"}`, `[{"name": "Sam", "age": 30}]`, "Sam is 30."}},
		{[]string{"json-list:3"}, []string{`["apple", "pear", "plum"]`}, []string{`["apple", "pear"]`, `{"a": 1, "b": 2, "c": 3}`}},
		{[]string{"greeting"}, []string{"Hello! How can I help you today?", "Hi there.", "Good morning to you too!"},
			[]string{"The usual dose of Velmorin is 20 mg.", "I can help with maths questions. Hello."}},
		{[]string{"thanks-reply"}, []string{"You're welcome!", "My pleasure.", "No problem at all."}, []string{"Thanks!", "The capital is Paris."}},
		{[]string{"farewell"}, []string{"Goodbye! Take care.", "Bye for now.", "See you soon!"}, []string{"Hello!", "Paris is the capital."}},
		{[]string{"uppercase", "mentions:hello"}, []string{"HELLO"}, []string{"hello", "GOODBYE"}},
	} {
		chk, err := ParseCheck(c.rules)
		if err != nil {
			t.Fatalf("%v: %v", c.rules, err)
		}
		for _, a := range c.accept {
			if !chk.Accepts(a) {
				t.Errorf("%v rejects %q (fails %s)", c.rules, a, chk.Failed(a))
			}
		}
		for _, a := range c.reject {
			if chk.Accepts(a) {
				t.Errorf("%v accepts %q", c.rules, a)
			}
		}
	}
}

func TestCheckParseErrors(t *testing.T) {
	for spec, want := range map[string]string{
		"shout":        "unknown rule",
		"words":        "wants an argument",
		"words:two":    "want a count",
		"words:-1":     "want a count",
		"mentions:":    "wants an argument",
		"mentions:|":   "no phrase",
		"json:object":  "takes no argument",
		"greeting:hi":  "takes no argument",
		"json-keys: ":  "wants an argument",
		"max-words:1x": "want a count",
	} {
		if _, err := ParseCheck([]string{spec}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", spec, err, want)
		}
	}
	if _, err := ParseCheck(nil); err == nil {
		t.Error("no rules: no error")
	}
}

// evaluate --match check: meta.check decides (one rule or a list), the
// reference is only an example, and a record without rules is an error.
func TestEvaluateCheck(t *testing.T) {
	m, err := NewMatcher("check", false)
	if err != nil {
		t.Fatal(err)
	}
	ev := NewEvaluator(Options{Matcher: m})
	ref := "Banana"
	for _, c := range []struct {
		meta, response string
		want           bool
	}{
		{`{"check": "words:1"}`, "Banana.", true},
		{`{"check": "words:1"}`, "It is a banana.", false},
		{`{"check": ["words:1", "mentions:banana"]}`, "Banana", true},
		{`{"check": ["words:1", "mentions:banana"]}`, "Lemon", false},
	} {
		r, err := ev.Add(Sample{ID: "q", Response: c.response, Reference: &ref, Meta: json.RawMessage(c.meta)})
		if err != nil {
			t.Fatal(err)
		}
		if r.Correct == nil || *r.Correct != c.want {
			t.Errorf("%s on %q: correct %v, want %v", c.meta, c.response, r.Correct, c.want)
		}
	}
	near(t, "accuracy", *ev.Summary().Accuracy, 0.5)
	for _, meta := range []string{``, `{"kind": "x"}`, `{"check": 3}`, `{"check": "shout"}`} {
		s := Sample{ID: "q", Response: "x", Reference: &ref}
		if meta != "" {
			s.Meta = json.RawMessage(meta)
		}
		if _, err := ev.Add(s); err == nil {
			t.Errorf("meta %q: no error", meta)
		}
	}
	// without a reference nothing is judged, as in the other modes
	r, err := ev.Add(Sample{ID: "q", Response: "x"})
	if err != nil || r.Correct != nil {
		t.Errorf("no reference: correct %v, err %v", r.Correct, err)
	}
	if _, err := m.Match("x", "x", nil); err == nil {
		t.Error("Match in check mode: no error")
	}
}
