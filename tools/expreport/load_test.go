package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Choices rows name fact and kind at the top level, in meta, or not at all
// (evaluate choices -o): then the test answer of the same id gives them.
func TestReadChoices(t *testing.T) {
	dir := t.TempDir()
	g := newRegistry()
	test := filepath.Join(dir, "test.jsonl")
	os.WriteFile(test, []byte(`{"id": "q1", "correct": true, "meta": {"fact": "a/dose", "kind": "new"}}
{"id": "q2", "correct": false, "meta": {"fact": "b/dose", "kind": "conflicting"}}
`), 0o644)
	runs, err := openRuns(dir)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := readSamples(runs, "test.jsonl", 1, false, nil, g)
	if err != nil {
		t.Fatal(err)
	}
	ch := filepath.Join(dir, "choices.jsonl")
	os.WriteFile(ch, []byte(`{"question": "q1", "candidates": 5, "correct": true, "credit": 1}
{"question": "q2", "candidates": 5, "correct": false, "credit": 0.5}
{"question": "q3", "k": 2, "correct": true, "fact": "c/dose", "kind": "consistent"}
{"question": "q4", "correct": false, "meta": {"fact": "d/dose", "kind": "new", "choices": ["1", "2", "3", "4"]}}
`), 0o644)
	s, err := readSamples(runs, "choices.jsonl", 1, true, ts.ids, g)
	if err != nil {
		t.Fatal(err)
	}
	// per question (credit − 1/k)/(1 − 1/k): 1, (0.5 − 0.2)/0.8, 1, −1/3
	want := map[string]float64{"a/dose": 1, "b/dose": 0.375, "c/dose": 1, "d/dose": -1.0 / 3}
	for _, r := range s.rows {
		f := g.facts[r.fact]
		if math.Abs(r.correct-want[f]) > 1e-12 || r.n != 1 {
			t.Errorf("%s: score %v over %v, want %v", f, r.correct, r.n, want[f])
		}
	}
	if g.kinds[g.index[factKey{1, "b/dose"}]] != "conflicting" || len(s.byKind["new"]) != 2 {
		t.Errorf("kinds %v, by kind %v", g.kinds, s.byKind)
	}

	os.WriteFile(ch, []byte(`{"question": "q1", "candidates": 5, "correct": true}
{"question": "q9", "candidates": 5, "correct": true}
`), 0o644)
	if _, err := readSamples(runs, "choices.jsonl", 1, true, ts.ids, g); err == nil || !strings.Contains(err.Error(), ch+`:2: question "q9"`) {
		t.Errorf("error %v, want one naming line 2 and q9", err)
	}
	os.WriteFile(ch, []byte(`{"question": "q1", "candidates": 1, "correct": true}`), 0o644)
	if _, err := readSamples(runs, "choices.jsonl", 1, true, ts.ids, g); err == nil || !strings.Contains(err.Error(), "k ≥ 2") {
		t.Errorf("one candidate: %v", err)
	}
}
