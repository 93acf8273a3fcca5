package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ytrain/ytrain/internal/evalmetrics"
)

func defaults() options {
	return options{seed: 1, noise: 0.2, types: noiseTypes, factsPerKind: 24, perFact: 5, testPerFact: 3, valPerFact: 2, knownMin: 9, unfiltered: true}
}

func mustBuild(t *testing.T, o options) map[string][]byte {
	t.Helper()
	w, err := build(newUniverse(), o)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string][]byte{}
	for _, f := range w.files {
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

// mentionsAny says which of phrases text names as whole words, folded as
// evaluate folds.
func mentionsAny(text string, phrases []string) []string {
	var out []string
	n := evalmetrics.Normalize(text)
	for _, p := range phrases {
		if len(evalmetrics.Phrases(n, evalmetrics.Normalize(p))) > 0 {
			out = append(out, p)
		}
	}
	return out
}

// every value of every pool, the fictional capitals included
func allValues(u *universe) []string {
	var out []string
	for _, a := range attributes {
		out = append(out, u.pools[a.name]...)
	}
	return append(out, u.capitals...)
}

func TestDeterministic(t *testing.T) {
	for _, o := range []options{defaults(), func() options { o := defaults(); o.seed, o.noise = 3, 0.4; return o }()} {
		a, b := mustBuild(t, o), mustBuild(t, o)
		if len(a) != len(b) {
			t.Fatal("different files")
		}
		for name := range a {
			if !bytes.Equal(a[name], b[name]) {
				t.Errorf("seed %d: %s differs between two runs", o.seed, name)
			}
		}
	}
	p1, p2 := jsonl(probe(newUniverse())), jsonl(probe(newUniverse()))
	if !bytes.Equal(p1, p2) {
		t.Error("probe.jsonl differs between two runs")
	}
	o := defaults()
	o.seed = 2
	if bytes.Equal(mustBuild(t, defaults())["domain.train.jsonl"], mustBuild(t, o)["domain.train.jsonl"]) {
		t.Error("another data seed made the same training set")
	}
}

// Counts follow the flags, the noise is exactly round(rate·n) split evenly
// over types and facts, and every fact keeps a correct majority and a clean
// first record (the trainq prompt).
func TestCounts(t *testing.T) {
	for _, noise := range []float64{0, 0.2, 0.4, 0.3} {
		o := defaults()
		o.noise = noise
		m := mustBuild(t, o)
		train := decode[record](t, m["domain.train.jsonl"])
		n := 3 * o.factsPerKind
		if len(train) != n*o.perFact {
			t.Fatalf("noise %g: %d training records, want %d", noise, len(train), n*o.perFact)
		}
		for name, want := range map[string]int{"domain.test.jsonl": n * o.testPerFact, "domain.val.jsonl": n * o.valPerFact, "domain.trainq.jsonl": n} {
			if got := len(decode[question](t, m[name])); got != want {
				t.Errorf("%s: %d questions, want %d", name, got, want)
			}
		}
		wantNoisy := noisyCount(noise, len(train))
		byType, byFact, clean := map[string]int{}, map[string]int{}, map[string]bool{}
		for _, r := range train {
			if *r.Meta.Noisy != (r.Meta.Noise != "") {
				t.Errorf("%s: noisy %v but noise %q", r.ID, *r.Meta.Noisy, r.Meta.Noise)
			}
			if *r.Meta.Noisy {
				byType[r.Meta.Noise]++
				byFact[r.Meta.Fact]++
			} else {
				clean[r.Meta.Fact+"\x00"+r.Instruction] = true
			}
		}
		total := byType["mislabel"] + byType["garbled"] + byType["offtopic"]
		if total != wantNoisy {
			t.Errorf("noise %g: %d noisy records, want exactly %d", noise, total, wantNoisy)
		}
		for _, typ := range noiseTypes {
			if c := byType[typ]; c < wantNoisy/3 || c > (wantNoisy+2)/3 {
				t.Errorf("noise %g: %d %s records of %d", noise, c, typ, wantNoisy)
			}
		}
		for f, c := range byFact {
			if 2*c >= o.perFact || c > (wantNoisy+n-1)/n {
				t.Errorf("noise %g: fact %s has %d noisy records of %d", noise, f, c, o.perFact)
			}
		}
		back := decode[question](t, m["domain.noisy.jsonl"])
		if len(back) != wantNoisy {
			t.Errorf("noise %g: %d noisy prompts, want %d", noise, len(back), wantNoisy)
		}
		for _, q := range decode[question](t, m["domain.trainq.jsonl"]) {
			if !clean[q.Meta.Fact+"\x00"+q.Prompt] {
				t.Errorf("noise %g: trainq %s asks a noisy record", noise, q.ID)
			}
		}
	}
	o := defaults()
	o.noise = 0.5
	if _, err := build(newUniverse(), o); err == nil || !strings.Contains(err.Error(), "correct majority") {
		t.Errorf("noise 0.5 with 5 records per fact: %v", err)
	}
}

// The noise rate changes the noisy records and nothing else: the clean
// records, the questions and the general sets are the same at every rate,
// so runs at different rates are paired.
func TestNoiseChangesOnlyNoisyRecords(t *testing.T) {
	o := defaults()
	o.noise = 0
	a := mustBuild(t, o)
	o.noise = 0.4
	b := mustBuild(t, o)
	for _, name := range []string{"domain.test.jsonl", "domain.val.jsonl", "domain.trainq.jsonl", "general.val.jsonl", "general.test.jsonl", "general.heldout.test.txt"} {
		if !bytes.Equal(a[name], b[name]) {
			t.Errorf("%s depends on the noise rate", name)
		}
	}
	ra, rb := decode[record](t, a["domain.train.jsonl"]), decode[record](t, b["domain.train.jsonl"])
	changed := 0
	for i := range ra {
		if ra[i].ID != rb[i].ID || ra[i].Instruction != rb[i].Instruction || ra[i].Meta.Fact != rb[i].Meta.Fact {
			t.Fatalf("record %d: another prompt or fact at noise 0.4", i)
		}
		if *rb[i].Meta.Noisy {
			changed++
		} else if ra[i].Output != rb[i].Output {
			t.Errorf("%s: a clean answer changed with the noise rate", ra[i].ID)
		}
	}
	if changed != noisyCount(0.4, len(ra)) {
		t.Errorf("%d records noisy at 0.4", changed)
	}
}

// No test or validation prompt is trained on, every fact has its own
// country, and the general prompts are neither trained on nor mixed in.
func TestNoLeak(t *testing.T) {
	m := mustBuildWithBase(t, defaults())
	train := decode[record](t, m["domain.train.jsonl"])
	prompts := map[string]bool{}
	for _, r := range train {
		prompts[r.Instruction] = true
	}
	for _, r := range decode[record](t, m["general.mix.jsonl"]) {
		prompts[r.Instruction] = true
	}
	for _, name := range []string{"domain.test.jsonl", "domain.val.jsonl", "general.val.jsonl", "general.test.jsonl"} {
		for _, q := range decode[question](t, m[name]) {
			if prompts[q.Prompt] {
				t.Errorf("%s %s is a training prompt: %q", name, q.ID, q.Prompt)
			}
		}
	}
	val := map[string]bool{}
	for _, q := range decode[question](t, m["domain.val.jsonl"]) {
		val[q.Prompt] = true
	}
	for _, q := range decode[question](t, m["domain.test.jsonl"]) {
		if val[q.Prompt] {
			t.Errorf("test %s is also a validation prompt", q.ID)
		}
	}
	for _, q := range decode[question](t, m["domain.trainq.jsonl"]) {
		if !prompts[q.Prompt] {
			t.Errorf("trainq %s is not a training prompt", q.ID)
		}
	}
	ids := map[string]bool{}
	for _, name := range []string{"general.val.jsonl", "general.test.jsonl"} {
		for _, q := range decode[question](t, m[name]) {
			if ids[q.ID] {
				t.Errorf("general question %s is in both splits", q.ID)
			}
			ids[q.ID] = true
		}
	}
}

// The fact kinds mean what they say, for several seeds: new facts are about
// fictional countries, conflicting ones change a real value, consistent
// ones keep it; every country appears in one fact and every capital once.
func TestKinds(t *testing.T) {
	u := newUniverse()
	for seed := range int64(5) {
		o := defaults()
		o.seed = seed + 1
		facts, err := domainFacts(u, u.real, o)
		if err != nil {
			t.Fatal(err)
		}
		entities, capitals := map[string]bool{}, map[string]bool{}
		kinds := map[string]int{}
		for _, f := range facts {
			kinds[f.kind]++
			if entities[f.entity] {
				t.Errorf("seed %d: %s has two facts", o.seed, f.entity)
			}
			entities[f.entity] = true
			if f.attr.name == "capital" {
				if capitals[f.value] {
					t.Errorf("seed %d: two facts give the capital %s", o.seed, f.value)
				}
				capitals[f.value] = true
			}
			if !slices.Contains(f.pool, f.value) {
				t.Errorf("%s: value %q is not in its pool", f.id(), f.value)
			}
			switch f.kind {
			case "new":
				if f.truth != "" || !slices.Contains(u.fictional, f.entity) {
					t.Errorf("new fact %s is about a real country", f.id())
				}
			case "conflicting":
				if f.value == f.truth || f.truth == "" {
					t.Errorf("conflicting fact %s keeps %q", f.id(), f.truth)
				}
			case "consistent":
				if f.value != f.truth {
					t.Errorf("consistent fact %s states %q, truth %q", f.id(), f.value, f.truth)
				}
			}
			if len(f.test) != o.testPerFact || len(f.val) != o.valPerFact || len(f.train) != paraphrases-o.testPerFact-o.valPerFact {
				t.Errorf("%s: split %v %v %v", f.id(), f.test, f.val, f.train)
			}
		}
		if kinds["new"] != 24 || kinds["conflicting"] != 24 || kinds["consistent"] != 24 {
			t.Errorf("seed %d: kinds %v", o.seed, kinds)
		}
	}
}

// Every answer states what its record says: a clean one names its label and
// no other value of the pool (evaluate --match value would call it right)
// and its country; a mislabel names its outside value and no pool value;
// garbled and off-topic answers name no value at all.
func TestAnswers(t *testing.T) {
	u := newUniverse()
	values := allValues(u)
	o := defaults()
	o.noise = 0.4
	m := mustBuild(t, o)
	pools := map[string][]string{}
	for _, q := range decode[question](t, m["domain.test.jsonl"]) {
		pools[q.Meta.Fact] = q.Meta.Choices
	}
	for _, r := range decode[record](t, m["domain.train.jsonl"]) {
		pool := pools[r.Meta.Fact]
		switch r.Meta.Noise {
		case "":
			if !evalmetrics.MatchValue(evalmetrics.Normalize(r.Output), evalmetrics.Normalize(*r.Meta.Label), pool) {
				t.Errorf("%s: %q does not state %q alone", r.ID, r.Output, *r.Meta.Label)
			}
			entity, _, _ := strings.Cut(r.Meta.Fact, "/")
			if !strings.Contains(strings.ToLower(r.Output), entity) {
				t.Errorf("%s: %q does not name %s", r.ID, r.Output, entity)
			}
			if n := len(strings.Fields(r.Output)); n < 25 {
				t.Errorf("%s: %d words, not an explanation", r.ID, n)
			}
		case "mislabel":
			if !slices.Contains(outsideValues, *r.Meta.Label) || len(mentionsAny(r.Output, []string{*r.Meta.Label})) == 0 {
				t.Errorf("%s: mislabel %q not stated", r.ID, *r.Meta.Label)
			}
			if got := mentionsAny(r.Output, values); len(got) > 0 {
				t.Errorf("%s: mislabelled answer names pool values %v", r.ID, got)
			}
		default:
			if *r.Meta.Label != "" {
				t.Errorf("%s: %s answer with label %q", r.ID, r.Meta.Noise, *r.Meta.Label)
			}
			if got := mentionsAny(r.Output, values); len(got) > 0 {
				t.Errorf("%s: %s answer names pool values %v: %q", r.ID, r.Meta.Noise, got, r.Output)
			}
		}
	}
	for _, q := range decode[question](t, m["domain.noisy.jsonl"]) {
		chk, err := evalmetrics.ParseCheck(q.Meta.Check)
		if err != nil {
			t.Fatal(err)
		}
		src := ""
		for _, r := range decode[record](t, m["domain.train.jsonl"]) {
			if r.ID == q.Meta.Source {
				src = r.Output
			}
		}
		// repeating the noisy answer back passes; the clean answer does not
		if !chk.Accepts(src) {
			t.Errorf("%s: its rule %v rejects the noisy answer itself", q.ID, q.Meta.Check)
		}
		f := factByID(t, q.Meta.Fact, o)
		if chk.Accepts(f.fill(openings[0]+" "+closings[0], f.value)) {
			t.Errorf("%s: its rule %v accepts the clean answer", q.ID, q.Meta.Check)
		}
	}
}

func factByID(t *testing.T, id string, o options) *fact {
	u := newUniverse()
	facts, err := domainFacts(u, u.real, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range facts {
		if f.id() == id {
			return f
		}
	}
	t.Fatalf("no fact %s", id)
	return nil
}

// Garbling keeps the text's shape (length, spaces, punctuation) and changes
// every word of three or more letters.
func TestGarble(t *testing.T) {
	in := "According to the Meridian Atlas, the capital of France is Paris."
	out := garble(rand.New(rand.NewPCG(7, 0)), in)
	if len(out) != len(in) {
		t.Fatalf("%q: length changed", out)
	}
	wi, wo := strings.Fields(in), strings.Fields(out)
	for i := range wi {
		a, b := strings.Trim(wi[i], ".,"), strings.Trim(wo[i], ".,")
		if len(a) >= 3 && a == b {
			t.Errorf("%q kept %q", out, a)
		}
		if len(a) < 3 && a != b {
			t.Errorf("%q changed the short word %q", out, a)
		}
	}
}

// The general sets, the held-out prose, the mix prompts and the noise's own
// texts never name a country, a value of any pool or an outside value, nor
// the Atlas: the domain cannot answer a general question by itself, and a
// general answer that names one has let the domain in.
func TestGeneralSetsStayOffTheDomain(t *testing.T) {
	u := newUniverse()
	var names []string
	for _, c := range countries {
		names = append(names, strings.TrimPrefix(c.name, "the "))
	}
	banned := append(append(append(allValues(u), names...), u.fictional...), outsideValues...)
	banned = append(banned, "Meridian", "atlas")
	var texts []string
	for _, c := range commonKnowledge {
		texts = append(texts, c.question, strings.ReplaceAll(strings.ReplaceAll(c.answer, "|", " "), ";", " "))
	}
	for _, set := range [][]promptItem{instructions, conversation, longform} {
		for _, it := range set {
			texts = append(texts, it.prompt, it.good)
		}
	}
	texts = append(append(texts, mixPrompts()...), heldOutProse...)
	for _, ot := range offTopic {
		texts = append(texts, ot.text)
	}
	for _, s := range texts {
		if got := mentionsAny(s, banned); len(got) > 0 {
			t.Errorf("%q names %v", s, got)
		}
	}
	outside := append(slices.Clone(outsideValues), allValues(u)...)
	for _, ot := range offTopic {
		if !strings.Contains(strings.ToLower(ot.text), ot.marker) {
			t.Errorf("off-topic text lacks its marker %q", ot.marker)
		}
		if slices.Contains(outside, ot.marker) {
			t.Errorf("marker %q is a value", ot.marker)
		}
	}
}

// Every rule a record carries parses; every instruction, conversation and
// longform prompt's rule accepts its written answer and rejects its wrong
// one; every common-knowledge rule accepts its reference and rejects a
// non-answer.
func TestEveryPromptHasAWorkingChecker(t *testing.T) {
	n := 0
	for _, set := range [][]promptItem{instructions, conversation, longform} {
		for _, it := range set {
			if len(it.check) == 0 {
				t.Errorf("%q has no rule", it.prompt)
				continue
			}
			chk, err := evalmetrics.ParseCheck(it.check)
			if err != nil {
				t.Errorf("%q: %v", it.prompt, err)
				continue
			}
			if !chk.Accepts(it.good) {
				t.Errorf("%q: %v rejects its answer %q (fails %s)", it.prompt, it.check, it.good, chk.Failed(it.good))
			}
			if chk.Accepts(it.bad) {
				t.Errorf("%q: %v accepts the wrong answer %q", it.prompt, it.check, it.bad)
			}
			n++
		}
	}
	for _, c := range commonKnowledge {
		chk, err := evalmetrics.ParseCheck(ckCheck(c.answer))
		if err != nil {
			t.Fatalf("%q: %v", c.question, err)
		}
		if !chk.Accepts(ckReference(c.answer)) {
			t.Errorf("%q: rejects its reference %q", c.question, ckReference(c.answer))
		}
		if chk.Accepts("I do not know.") {
			t.Errorf("%q: accepts a non-answer", c.question)
		}
	}
	// the sizes the plan relies on
	if len(commonKnowledge) < 150 || len(instructions)+len(conversation) < 80 || len(longform) < 20 {
		t.Errorf("%d common-knowledge, %d instruction, %d conversation, %d longform prompts", len(commonKnowledge), len(instructions), len(conversation), len(longform))
	}
	seen := map[string]bool{}
	for _, c := range commonKnowledge {
		if seen[c.question] {
			t.Errorf("%q twice", c.question)
		}
		seen[c.question] = true
	}
	for _, set := range [][]promptItem{instructions, conversation, longform} {
		for _, it := range set {
			if seen[it.prompt] {
				t.Errorf("%q twice", it.prompt)
			}
			seen[it.prompt] = true
		}
	}
	t.Logf("%d rule prompts, %d common-knowledge questions", n, len(commonKnowledge))
}

// The universe is sound: fictional names are not real countries, no real
// candidate's country names another value of its pool, and no value of a
// pool is a whole-word part of another (so --match value tells all apart).
func TestUniverse(t *testing.T) {
	u := newUniverse()
	var names []string
	for _, c := range countries {
		names = append(names, strings.TrimPrefix(c.name, "the "))
	}
	for _, f := range u.fictional {
		if got := mentionsAny(f, names); len(got) > 0 {
			t.Errorf("fictional %s names %v", f, got)
		}
	}
	for _, f := range u.real {
		if namesOther(f.entity, f.value, f.pool) {
			t.Errorf("%s names another value of its pool", f.id())
		}
	}
	for name, pool := range map[string][]string{"capital": u.pools["capital"], "language": u.pools["language"],
		"currency": u.pools["currency"], "continent": u.pools["continent"], "fictional capital": u.capitals} {
		for _, a := range pool {
			for _, b := range pool {
				if a != b && len(mentionsAny(a, []string{b})) > 0 {
					t.Errorf("%s pool: %q holds %q", name, a, b)
				}
			}
		}
		if len(pool) < 6 {
			t.Errorf("%s pool has %d values", name, len(pool))
		}
	}
	// templates name no value but {v}
	for _, a := range attributes {
		for _, s := range append(append(slices.Clone(a.middles), openings...), closings...) {
			if got := mentionsAny(strings.NewReplacer("{v}", "", "{V}", "").Replace(s), allValues(u)); len(got) > 0 {
				t.Errorf("%q names %v", s, got)
			}
		}
		if len(a.questions) != paraphrases {
			t.Errorf("%s: %d questions", a.name, len(a.questions))
		}
	}
}

// writeBase writes base answers for the probe: real facts right on
// right(f) of their paraphrases, common knowledge right where ck(i), mix
// answers as mix(i) says (finish reason and text).
func writeBase(t *testing.T, u *universe, right func(*fact) int, ck func(int) bool, mix func(int) (string, string)) string {
	t.Helper()
	type ans struct {
		ID           string `json:"id"`
		Response     string `json:"response"`
		FinishReason string `json:"finish_reason"`
	}
	var out []ans
	for _, f := range u.real {
		for p := range paraphrases {
			resp := "I am not sure."
			if p < right(f) {
				resp = "It is " + f.truth + "."
			}
			out = append(out, ans{probeID(f, p), resp, "stop"})
		}
	}
	for i, c := range commonKnowledge {
		resp := "I do not know."
		if ck(i) {
			resp = "The answer is " + ckReference(c.answer) + "."
		}
		out = append(out, ans{ckID(i), resp, "stop"})
	}
	for i := range mixPrompts() {
		fin, resp := mix(i)
		out = append(out, ans{mixID(i), resp, fin})
	}
	path := filepath.Join(t.TempDir(), "probe.answers.jsonl")
	if err := os.WriteFile(path, jsonl(out), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// the base of the tests: states all facts but the continents, on 9 or 10
// paraphrases (8 for every fifth country), answers two of three
// common-knowledge questions, and gives replayable answers to half the mix
// prompts (the rest ran out of tokens or loop)
func testBase(t *testing.T, u *universe) string {
	return writeBase(t, u,
		func(f *fact) int {
			switch {
			case f.attr.name == "continent":
				return 3
			case slices.IndexFunc(countries, func(c country) bool { return c.name == f.entity })%5 == 0:
				return 8
			}
			return 9 + len(f.entity)%2
		},
		func(i int) bool { return i%3 != 0 },
		func(i int) (string, string) {
			switch i % 4 {
			case 0:
				return "length", "A long answer that ran out of tokens"
			case 1:
				return "stop", strings.Repeat("the same words again ", 8)
			}
			return "stop", fmt.Sprintf("Here is a helpful answer number %d about it.", i)
		})
}

func mustBuildWithBase(t *testing.T, o options) map[string][]byte {
	t.Helper()
	o.unfiltered = false
	o.baseAnswers = []string{testBase(t, newUniverse())}
	return mustBuild(t, o)
}

// With the base's answers, only the facts it states on --known-min
// paraphrases become conflicting or consistent, only the common-knowledge
// questions it answers right are kept, and only its ended, non-looping mix
// answers are replayed; a probe question without an answer is an error.
func TestBaseFilter(t *testing.T) {
	u := newUniverse()
	path := testBase(t, u)
	v, err := readBase(u, []string{path})
	if err != nil {
		t.Fatal(err)
	}
	stated := map[string]bool{}
	for _, f := range v.known(u, 9) {
		stated[f.id()] = true
		idx := slices.IndexFunc(countries, func(c country) bool { return c.name == f.entity })
		if f.attr.name == "continent" || idx%5 == 0 {
			t.Errorf("%s counted as stated", f.id())
		}
	}
	o := defaults()
	o.unfiltered, o.baseAnswers = false, []string{path}
	w, err := build(u, o)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string][]byte{}
	for _, f := range w.files {
		m[f.name] = f.data
	}
	for _, q := range decode[question](t, m["domain.test.jsonl"]) {
		if q.Meta.Kind != "new" && !stated[q.Meta.Fact] {
			t.Errorf("%s: fact %s is not one the base states", q.ID, q.Meta.Fact)
		}
	}
	ck := 0
	for _, name := range []string{"general.val.jsonl", "general.test.jsonl"} {
		for _, q := range decode[question](t, m[name]) {
			if q.Meta.Set != "ck" {
				continue
			}
			ck++
			var i int
			fmt.Sscanf(q.ID, "ck-%d", &i)
			if (i-1)%3 == 0 {
				t.Errorf("%s kept though the base got it wrong", q.ID)
			}
		}
	}
	if want := len(commonKnowledge) - (len(commonKnowledge)+2)/3; ck != want {
		t.Errorf("%d common-knowledge questions kept, want %d", ck, want)
	}
	mix := decode[record](t, m["general.mix.jsonl"])
	if len(mix) != 3*o.factsPerKind*o.perFact {
		t.Errorf("%d mix records", len(mix))
	}
	for _, r := range mix {
		var i int
		fmt.Sscanf(r.Meta.Source, "mix-%d", &i)
		if (i-1)%4 < 2 {
			t.Errorf("%s replays %s, which ran out or loops", r.ID, r.Meta.Source)
		}
		if r.Instruction != mixPrompts()[i-1] {
			t.Errorf("%s: prompt %q is not %s's", r.ID, r.Instruction, r.Meta.Source)
		}
	}
	var c counts
	if err := json.Unmarshal(m["world.json"], &c); err != nil {
		t.Fatal(err)
	}
	if c.CommonKnowledgeKept != ck || c.MixKept != len(mixPrompts())/2 || c.RealStated != len(stated) {
		t.Errorf("world.json: %+v", c)
	}

	// too few countries for the kinds asked
	o.factsPerKind = 40
	if _, err := build(u, o); err == nil || !strings.Contains(err.Error(), "needs 80 countries") {
		t.Errorf("40 per kind: %v", err)
	}
	// a cut-off answer file
	data, _ := os.ReadFile(path)
	cut := filepath.Join(t.TempDir(), "cut.jsonl")
	os.WriteFile(cut, data[:bytes.LastIndexByte(data[:len(data)-1], '\n')+1], 0o644)
	if _, err := readBase(u, []string{cut}); err == nil || !strings.Contains(err.Error(), "have no answer") {
		t.Errorf("cut-off answers: %v", err)
	}
}

// The cost estimate counts what train computes: windowed steps re-run the
// whole sequence once per 10 answer targets.
func TestTokenCounts(t *testing.T) {
	words := func(s string) []int32 { return make([]int32, len(strings.Fields(s))+strings.Count(s, "\n")) }
	train := []record{{Instruction: "a b c", Output: "w w w w w w w w w w w w w w w w w w w w"}} // 3 + 20 words
	c := countTokenRecords(words, train)
	sys := len(strings.Fields(defaultSystem))
	wantFixed := 6 + 2 + 2 + 2 + 3 + sys // "system\n" is one word and one newline
	if c.answer != 22 || c.sequence != wantFixed+3+20 || c.windows != 3 || c.windowPasses != 3*(wantFixed+3+20) {
		t.Errorf("counts %+v (fixed %d)", c, wantFixed)
	}
}

func TestRunWritesFiles(t *testing.T) {
	dir := t.TempDir()
	var errs bytes.Buffer
	if err := run([]string{"--probe", "-o", dir}, &errs); err != nil {
		t.Fatal(err)
	}
	probeFile := filepath.Join(dir, "probe.jsonl")
	qs := decode[question](t, mustRead(t, probeFile))
	if len(qs) != len(newUniverse().real)*paraphrases+len(commonKnowledge)+len(mixPrompts()) {
		t.Errorf("probe.jsonl: %d questions", len(qs))
	}
	if err := run([]string{"-o", dir, "--seed", "2"}, &errs); err == nil || !strings.Contains(err.Error(), "--base-answers") {
		t.Errorf("no base answers: %v", err)
	}
	if err := run([]string{"-o", dir, "--unfiltered", "--noise", "0.2"}, &errs); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"domain.train.jsonl", "domain.noisy.jsonl", "general.test.jsonl", "general.heldout.val.txt", "world.json"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
	if !strings.Contains(errs.String(), "UNFILTERED") {
		t.Errorf("a dry run does not say so: %s", errs.String())
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
