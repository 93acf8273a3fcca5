package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// generate runs the command into a fresh folder and returns its files.
func generate(t *testing.T, args ...string) map[string][]byte {
	t.Helper()
	dir := t.TempDir()
	if err := run(append([]string{"-o", dir}, args...), io.Discard); err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, name := range []string{"general.train.txt", "general.heldout.txt", "domain.train.jsonl", "domain.test.jsonl"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		out[name] = b
	}
	return out
}

func textLines(t *testing.T, b []byte) []string {
	t.Helper()
	if len(b) == 0 || b[len(b)-1] != '\n' {
		t.Fatal("file does not end in a newline")
	}
	return strings.Split(string(b[:len(b)-1]), "\n")
}

// decode reads JSON Lines strictly: every field known, every line one record.
func decode[T any](t *testing.T, b []byte) []T {
	t.Helper()
	var out []T
	for i, line := range textLines(t, b) {
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		var rec T
		if err := dec.Decode(&rec); err != nil || dec.More() {
			t.Fatalf("line %d: %v: %s", i+1, err, line)
		}
		out = append(out, rec)
	}
	return out
}

func TestDeterministic(t *testing.T) {
	a, b := generate(t), generate(t)
	for name := range a {
		if !bytes.Equal(a[name], b[name]) {
			t.Errorf("%s differs between two runs", name)
		}
	}
	c := generate(t, "--seed", "2", "--general-kb", "50")
	for name := range a {
		if bytes.Equal(a[name], c[name]) {
			t.Errorf("%s is the same for seeds 1 and 2", name)
		}
	}
}

// Each part draws from its own stream: sizing one leaves the others alone.
func TestPartsIndependent(t *testing.T) {
	a := generate(t, "--general-kb", "50")
	b := generate(t, "--general-kb", "60", "--train", "300", "--noise", "0.1")
	if !bytes.Equal(a["domain.test.jsonl"], b["domain.test.jsonl"]) {
		t.Error("the test set depends on --train, --noise or --general-kb")
	}
	if !bytes.HasPrefix(b["general.train.txt"], a["general.train.txt"]) {
		t.Error("a larger --general-kb does not extend the smaller corpus")
	}
}

func TestCounts(t *testing.T) {
	files := generate(t, "--train", "250", "--test", "144", "--general-kb", "100")
	if n := len(decode[sftRecord](t, files["domain.train.jsonl"])); n != 250 {
		t.Errorf("%d training records, want 250", n)
	}
	if n := len(decode[testRecord](t, files["domain.test.jsonl"])); n != 144 {
		t.Errorf("%d test records, want 144", n)
	}
	train, held := textLines(t, files["general.train.txt"]), textLines(t, files["general.heldout.txt"])
	size := len(files["general.train.txt"]) + len(files["general.heldout.txt"])
	if size < 100*1024 || size > 100*1024+2000 {
		t.Errorf("general corpus is %d bytes, want about 100 KiB", size)
	}
	if n := len(train) + len(held); len(held) != n/10 {
		t.Errorf("%d of %d general lines held out, want every tenth", len(held), n)
	}
}

func TestNoiseShare(t *testing.T) {
	value := map[string]string{}
	for _, f := range buildFacts(1) {
		value[f.id()] = f.value
	}
	var prev []sftRecord
	for _, noise := range []string{"0", "0.1", "0.2", "0.333", "0.5", "0.92"} {
		recs := decode[sftRecord](t, generate(t, "--train", "601", "--noise", noise, "--general-kb", "1")["domain.train.jsonl"])
		want := map[string]int{"0": 0, "0.1": 60, "0.2": 120, "0.333": 200, "0.5": 301, "0.92": 553}[noise]
		got := 0
		for i, r := range recs {
			ref := value[r.Meta.Fact]
			switch {
			case ref == "":
				t.Fatalf("%s: unknown fact %q", r.ID, r.Meta.Fact)
			case r.Meta.Noisy == strings.Contains(r.Output, ref):
				t.Errorf("--noise %s: %s noisy=%v but its answer %q against reference %q", noise, r.ID, r.Meta.Noisy, r.Output, ref)
			case r.Meta.Noisy != (r.Meta.Noise != ""):
				t.Errorf("--noise %s: %s noisy=%v with noise kind %q", noise, r.ID, r.Meta.Noisy, r.Meta.Noise)
			}
			if r.Meta.Noisy {
				got++
			}
			// a higher share corrupts more answers of the same questions
			if prev != nil && (prev[i].Instruction != r.Instruction || prev[i].Meta.Noisy && !r.Meta.Noisy) {
				t.Fatalf("--noise %s: %s is not the lower share's record with more noise", noise, r.ID)
			}
		}
		if got != want {
			t.Errorf("--noise %s: %d noisy of 601, want %d", noise, got, want)
		}
		prev = recs
	}
}

func TestTestSetAgainstTraining(t *testing.T) {
	files := generate(t, "--general-kb", "1")
	train := decode[sftRecord](t, files["domain.train.jsonl"])
	test := decode[testRecord](t, files["domain.test.jsonl"])
	asked := map[string]bool{}
	for _, r := range train {
		asked[r.Instruction] = true
	}
	ids := map[string]bool{}
	for _, q := range test {
		if ids[q.ID] {
			t.Errorf("duplicate id %s", q.ID)
		}
		ids[q.ID] = true
		if q.Prompt == "" || q.Reference == "" || q.Meta.Fact == "" {
			t.Errorf("%s: empty field: %+v", q.ID, q)
		}
		if asked[q.Prompt] {
			t.Errorf("%s: prompt %q is also a training question", q.ID, q.Prompt)
		}
		taught := slices.ContainsFunc(train, func(r sftRecord) bool {
			return !r.Meta.Noisy && r.Meta.Fact == q.Meta.Fact && strings.Contains(r.Output, q.Reference)
		})
		if !taught {
			t.Errorf("%s: no correct training answer about %s contains %q", q.ID, q.Meta.Fact, q.Reference)
		}
	}
}

func TestGeneralHeldOut(t *testing.T) {
	files := generate(t, "--general-kb", "300")
	train := map[string]bool{}
	for _, l := range textLines(t, files["general.train.txt"]) {
		train[l] = true
	}
	for name, b := range files {
		if !strings.HasPrefix(name, "general.") {
			continue
		}
		for i, l := range textLines(t, b) {
			if name == "general.heldout.txt" && train[l] {
				t.Errorf("held-out line %d is also a training line: %s", i+1, l)
			}
			if n := strings.Count(l, ". ") + 1; n < 2 || n > 6 || !strings.HasSuffix(l, ".") {
				t.Errorf("%s:%d: %d sentences, want a paragraph of 2–6: %s", name, i+1, n, l)
			}
		}
	}
}

// "a" before a vowel would teach the tiny model bad English; the word lists
// avoid it, so any hit is a data bug.
func TestArticles(t *testing.T) {
	files := generate(t, "--general-kb", "300")
	bad := regexp.MustCompile(`\b[Aa] [aeiouAEIOU]`)
	for name, b := range files {
		if m := bad.Find(b); m != nil {
			i := bytes.Index(b, m)
			t.Errorf("%s: %q", name, b[max(0, i-40):min(len(b), i+40)])
		}
	}
}

func TestGrammarComplete(t *testing.T) {
	g := generalGrammar()
	for _, tp := range topics {
		if _, ok := words[tp]; ok {
			t.Errorf("topic %q is also a word list", tp)
		}
	}
	for sym, alts := range g {
		if len(alts) == 0 {
			t.Errorf("%s has no alternatives", sym)
		}
		for _, a := range alts {
			for _, ref := range references(a) {
				if _, ok := g[ref]; !ok {
					t.Errorf("%s: %q names undefined {%s}", sym, a, ref)
				}
			}
		}
	}
}

// references lists the symbols an alternative names, without '$' or '!'.
func references(s string) []string {
	var out []string
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			return out
		}
		j := i + strings.IndexByte(s[i:], '}')
		out = append(out, strings.TrimLeft(s[i+1:j], "$!"))
		s = s[j+1:]
	}
}

// Every question and answer any seed can produce stays short: questions of
// 10–20 words, answers of 15–30.
func TestLengths(t *testing.T) {
	words := func(s string) int { return len(strings.Fields(s)) }
	for i := range laws {
		for k := range numKinds {
			for _, s := range laws[i].subjects[k] {
				f := &fact{law: &laws[i], article: 40, kind: k, subject: s}
				for _, q := range questions[k] {
					if n := words(f.fill(q, "")); n < 10 || n > 20 {
						t.Errorf("%d words: %s", n, f.fill(q, ""))
					}
				}
				for _, v := range laws[i].values(k) {
					for _, a := range answers {
						if n := words(f.answer(a, v)); n < 15 || n > 30 {
							t.Errorf("%d words: %s", n, f.answer(a, v))
						}
					}
				}
			}
		}
	}
}

// evaluate --match contains must not credit a wrong value: no value of a
// kind may occur inside another.
func TestValuesDistinguishable(t *testing.T) {
	for i := range laws {
		for k := range numKinds {
			vals := laws[i].values(k)
			for _, a := range vals {
				for _, b := range vals {
					if a != b && strings.Contains(" "+b, " "+a) {
						t.Errorf("%s: %q occurs in %q", laws[i].name, a, b)
					}
				}
			}
		}
	}
}

func TestQuestionsDistinct(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range buildFacts(7) {
		for _, q := range questions[f.kind] {
			s := f.fill(q, "")
			if seen[s] {
				t.Errorf("two facts share the question %q", s)
			}
			seen[s] = true
		}
	}
}

func TestBadFlags(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{},
		{"-o", dir, "--train", "47"},
		{"-o", dir, "--train", "60", "--noise", "0.3"},
		{"-o", dir, "--test", "145"},
		{"-o", dir, "--noise", "-0.1"},
		{"-o", dir, "--general-kb", "0"},
	} {
		if err := run(args, io.Discard); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a failed run left %d files", len(entries))
	}
}

func TestSummary(t *testing.T) {
	var b bytes.Buffer
	if err := run([]string{"-o", t.TempDir(), "--general-kb", "1"}, &b); err != nil {
		t.Fatal(err)
	}
	if strings.Count(b.String(), "\n") != 1 || !strings.Contains(b.String(), "600 train records (120 noisy, 20.0%)") {
		t.Errorf("summary: %q", b.String())
	}
}
