package chat

import (
	"testing"
	"time"
)

// renderSnippet renders a template that ignores the conversation.
func renderSnippet(t *testing.T, src string) string {
	t.Helper()
	tpl := templateConfig(t, src+"{% for m in messages %}{{ m.content }}{{ eos_token }}{% endfor %}")
	out, err := tpl.Render(nil, false, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestToJSON(t *testing.T) {
	// Expected values are Python's json.dumps with the same arguments.
	for src, want := range map[string]string{
		`{{ {'b': 1, 'a': [1, 2.5, 'x"y\n<&>é', none, true, 1e20, 1.0, 1e-5]} | tojson }}`: `{"b": 1, "a": [1, 2.5, "x\"y\n<&>é", null, true, 1e+20, 1.0, 1e-05]}`,
		`{{ {'b': 1, 'a': [1, {}], 'c': []} | tojson(indent=2) }}`:                         "{\n  \"b\": 1,\n  \"a\": [\n    1,\n    {}\n  ],\n  \"c\": []\n}",
		`{{ 'é😀\x01' | tojson(ensure_ascii=true) }}`:                                       `"\u00e9\ud83d\ude00\u0001"`,
		`{{ {'b': 1, 'a': 2} | tojson(sort_keys=true, separators=[',', ':']) }}`:           `{"a":2,"b":1}`,
		`{{ tools | tojson }}`: `null`,
	} {
		if got := renderSnippet(t, src); got != want {
			t.Errorf("%s:\n got %s\nwant %s", src, got, want)
		}
	}
}

func TestStrftime(t *testing.T) {
	got, err := strftime("%a %A %b %B %d %H %I %j %m %M %p %S %y %Y %%", time.Date(2024, 7, 5, 14, 3, 9, 0, time.UTC))
	if want := "Fri Friday Jul July 05 14 02 187 07 03 PM 09 24 2024 %"; err != nil || got != want {
		t.Errorf("got %q (%v), want %q", got, err, want)
	}
	if _, err := strftime("%Q", time.Now()); err == nil {
		t.Error("unsupported code accepted")
	}
	if got, want := renderSnippet(t, `{{ strftime_now("%Y") }}`), time.Now().Format("2006"); got != want {
		t.Errorf("strftime_now: got %q, want %q", got, want)
	}
}

func TestGenerationTag(t *testing.T) {
	// Rendered unchanged; like Jinja's call block behind it, it scopes assignments.
	if got := renderSnippet(t, `{% set x = 'out' %}{% generation %}{% set x = 'in' %}[{{ x }}]{% endgeneration %}{{ x }}`); got != "[in]out" {
		t.Errorf("got %q", got)
	}
}
