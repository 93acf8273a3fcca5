package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ytrain/ytrain/internal/chat"
	"github.com/ytrain/ytrain/internal/corpus"
)

func defaults() options {
	return options{worldSeed: 1, seed: 1, noise: 0.2, factsPerKind: 16, recordsPerFact: 8, generalTest: 60, generalKB: 20}
}

func files(t *testing.T, o options) map[string][]byte {
	t.Helper()
	fs, _, err := build(o)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string][]byte{}
	for _, f := range fs {
		m[f.name] = f.data
	}
	return m
}

func decode[T any](t *testing.T, data []byte) []T {
	t.Helper()
	var out []T
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		var v T
		if err := dec.Decode(&v); errors.Is(err, io.EOF) {
			return out
		} else if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
}

func TestDeterministic(t *testing.T) {
	a, b := files(t, defaults()), files(t, defaults())
	for name := range a {
		if !bytes.Equal(a[name], b[name]) {
			t.Errorf("%s differs between two runs", name)
		}
	}
}

// The base's world does not depend on the data seed: every data seed
// fine-tunes the same base.
func TestWorldIndependentOfDataSeed(t *testing.T) {
	o := defaults()
	a := files(t, o)
	o.seed, o.noise = 7, 0
	b := files(t, o)
	for _, name := range []string{"pretrain.jsonl", "general.heldout.txt", "general.test.jsonl"} {
		if !bytes.Equal(a[name], b[name]) {
			t.Errorf("%s depends on the data seed", name)
		}
	}
	if bytes.Equal(a["domain.train.jsonl"], b["domain.train.jsonl"]) {
		t.Error("another data seed made the same training set")
	}
}

// Each fact kind means what it says against the pre-training corpus: new
// subjects never appear in it, conflicting facts have another value there,
// consistent facts the same one; and no test prompt is in the training data
// or, for prior facts, in the corpus.
func TestKindsAgainstCorpus(t *testing.T) {
	m := files(t, defaults())
	pre := string(m["pretrain.jsonl"])
	train := decode[sftRecord](t, m["domain.train.jsonl"])
	w := newWorld(1)
	facts, err := domainFacts(w, 1, 16)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, f := range facts {
		count[f.kind]++
		switch f.kind {
		case "new":
			if strings.Contains(pre, f.entity) {
				t.Errorf("new fact %s: its drug is in the corpus", f.id())
			}
		case "conflicting", "consistent":
			stated := strings.Contains(pre, f.fill("{c}", f.value))
			if f.kind == "conflicting" && (stated || f.value == f.prior) {
				t.Errorf("conflicting fact %s: the corpus states %q", f.id(), f.value)
			}
			if f.kind == "consistent" && !stated {
				t.Errorf("consistent fact %s: the corpus does not state %q", f.id(), f.value)
			}
			for _, p := range f.test {
				if strings.Contains(pre, f.question(p)) {
					t.Errorf("%s: test prompt %q is in the corpus", f.id(), f.question(p))
				}
			}
		}
	}
	if count["new"] != 16 || count["conflicting"] != 16 || count["consistent"] != 16 {
		t.Errorf("kinds %v, want 16 each", count)
	}
	prompts := map[string]bool{}
	for _, r := range train {
		prompts[r.Instruction] = true
	}
	for _, name := range []string{"domain.test.jsonl", "domain.val.jsonl", "general.test.jsonl"} {
		qs := decode[question](t, m[name])
		if len(qs) == 0 {
			t.Fatalf("%s is empty", name)
		}
		for _, q := range qs {
			if prompts[q.Prompt] {
				t.Errorf("%s %s: %q is a training prompt", name, q.ID, q.Prompt)
			}
		}
	}
	for _, q := range decode[question](t, m["general.test.jsonl"]) {
		if strings.Contains(pre, q.Prompt) {
			t.Errorf("general test %s: %q is in the corpus", q.ID, q.Prompt)
		}
		if !strings.Contains(pre, q.Reference) {
			t.Errorf("general test %s: its answer %q is never in the corpus", q.ID, q.Reference)
		}
	}
}

func TestCountsAndNoise(t *testing.T) {
	m := files(t, defaults())
	train := decode[sftRecord](t, m["domain.train.jsonl"])
	noisy := decode[question](t, m["domain.noisy.jsonl"])
	if len(train) != 48*8 {
		t.Fatalf("%d training records, want %d", len(train), 48*8)
	}
	n, right := 0, map[string]int{}
	for _, r := range train {
		if r.Meta.Noisy {
			n++
			if strings.Contains(r.Output, " "+r.Meta.Label+".") == false || r.Meta.Label == factValue(t, train, r.Meta.Fact) {
				t.Errorf("%s: noisy record states %q", r.ID, r.Meta.Label)
			}
		} else {
			right[r.Meta.Fact]++
		}
	}
	if want := noisyCount(0.2, len(train)); n != want || len(noisy) != want {
		t.Errorf("%d noisy records, %d noisy questions, want %d", n, len(noisy), want)
	}
	if len(right) != 48 {
		t.Errorf("%d facts keep a correct record, want 48", len(right))
	}
	if got := len(decode[question](t, m["domain.test.jsonl"])); got != 48*testPerFact {
		t.Errorf("%d test questions, want %d", got, 48*testPerFact)
	}
}

// factValue is the value a fact's correct records state.
func factValue(t *testing.T, train []sftRecord, fact string) string {
	t.Helper()
	for _, r := range train {
		if r.Meta.Fact == fact && !r.Meta.Noisy {
			return r.Meta.Label
		}
	}
	t.Fatalf("fact %s has no correct record", fact)
	return ""
}

// evaluate --match value credits an answer holding the reference as whole
// words and no other value of the pool: no value may hold another.
func TestValuesDistinguishable(t *testing.T) {
	for _, a := range append(slices.Clone(drugAttrs), townAttrs...) {
		for _, v := range a.pool {
			for _, o := range a.pool {
				if v != o && regexp.MustCompile(`\b`+regexp.QuoteMeta(strings.ToLower(o))+`\b`).MatchString(strings.ToLower(v)) {
					t.Errorf("%s: %q holds %q", a.name, v, o)
				}
			}
		}
		if len(a.questions) != paraphrases || len(slices.Compact(slices.Sorted(slices.Values(a.questions)))) != paraphrases {
			t.Errorf("%s: want %d distinct questions", a.name, paraphrases)
		}
	}
}

func TestChoices(t *testing.T) {
	m := files(t, defaults())
	qs := decode[question](t, m["domain.test.jsonl"])
	cs := decode[choice](t, m["domain.test.choices.jsonl"])
	correct := map[string]int{}
	n := map[string]int{}
	for _, c := range cs {
		n[c.Meta.Question]++
		if c.Meta.Correct {
			correct[c.Meta.Question]++
		}
	}
	for _, q := range qs {
		if correct[q.ID] != 1 || n[q.ID] != len(q.Meta.Choices) {
			t.Errorf("%s: %d candidates, %d correct", q.ID, n[q.ID], correct[q.ID])
		}
	}
}

// The corpus's chat answers are exactly what tokenize renders for an SFT
// record with the base's ChatML template, so the base learns the format the
// fine-tuning data and generate use.
func TestChatMLMatchesTemplate(t *testing.T) {
	got, err := chat.ChatML().Render([]chat.Message{{Role: "user", Content: "Q?"}, {Role: "assistant", Content: "A."}}, false, chat.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := chatML("Q?", "A."); got != want {
		t.Errorf("template renders %q, world writes %q", got, want)
	}
}

// The files are read by the project's own reader, as tokenize and generate
// read them.
func TestProjectReaderReadsFiles(t *testing.T) {
	dir := t.TempDir()
	if err := run([]string{"-o", dir, "--general-kb", "20", "--noise", "0.2"}, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		objective corpus.Objective
	}{
		{"domain.train.jsonl", corpus.SFT}, {"domain.test.choices.jsonl", corpus.SFT},
		{"domain.test.jsonl", corpus.Prompt}, {"general.test.jsonl", corpus.Prompt}, {"domain.noisy.jsonl", corpus.Prompt},
		{"pretrain.jsonl", corpus.CPT}, {"general.heldout.txt", corpus.CPT},
	} {
		n := 0
		for ex, err := range corpus.Examples([]string{filepath.Join(dir, c.name)}, "auto", nil, c.objective) {
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if ex.Text == "" && len(ex.Messages) == 0 {
				t.Fatalf("%s: empty example %s", c.name, ex.ID)
			}
			n++
		}
		if n == 0 {
			t.Errorf("%s: no records", c.name)
		}
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--noise", "1"}, {"--noise", "-0.1"}, {"--facts-per-kind", "0"}, {"--facts-per-kind", "61"},
		{"--records-per-fact", "1"}, {"--general-kb", "0"},
	} {
		if err := run(append(args, "-o", t.TempDir()), io.Discard); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
	if err := run(nil, io.Discard); err == nil {
		t.Error("no -o: no error")
	}
}
