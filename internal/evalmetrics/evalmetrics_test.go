package evalmetrics

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ytrain/ytrain/formats"
	"github.com/ytrain/ytrain/internal/corpus"
)

func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-9 {
		t.Errorf("%s = %.12g, want %.12g", what, got, want)
	}
}

func TestWords(t *testing.T) {
	for in, want := range map[string][]string{
		"Hello, world! 你好世界 123abc": {"Hello", ",", "world", "!", "你", "好", "世", "界", "123abc"},
		"こんにちは、世界":                  {"こ", "ん", "に", "ち", "は", "、", "世", "界"},
		"한국어 텍스트":                   {"한", "국", "어", "텍", "스", "트"},
		"don't  stop\n":             {"don", "'", "t", "stop"},
		"cafe\u0301 ok👍":            {"cafe\u0301", "ok", "👍"}, // a combining accent stays in its word
		"ＡＢＣ１２":                     {"ＡＢＣ１２"},                 // full-width letters are letters
		"mixed中文words":              {"mixed", "中", "文", "words"},
		"":                          nil,
		" \t\n":                     nil,
	} {
		if got := Words(in); !reflect.DeepEqual(got, want) {
			t.Errorf("Words(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSeqRep(t *testing.T) {
	u := Words("the cat the cat the")
	// 5 unigrams, 2 unique; 4 bigrams, 2 unique; 3 trigrams, 2 unique; 2 four-grams, both unique
	for n, want := range map[int]float64{1: 1 - 2.0/5, 2: 1 - 2.0/4, 3: 1 - 2.0/3, 4: 0} {
		near(t, "seq-rep-"+string(rune('0'+n)), SeqRep(u, n), want)
	}
	near(t, "seq-rep-2 of one word", SeqRep([]string{"x"}, 2), 0)
	near(t, "seq-rep-1 of nothing", SeqRep(nil, 1), 0)
	var d distinct
	d.add([]string{"a", "b", "a"}, 1)
	d.add([]string{"b", "c"}, 1)
	d.add(nil, 1)
	near(t, "distinct-1", d.value(), 3.0/5)
	near(t, "distinct of nothing", (&distinct{}).value(), 0)
}

func summarise(t *testing.T, opt Options, samples ...Sample) (*Responses, []Result) {
	t.Helper()
	if opt.Matcher == nil {
		opt.Matcher, _ = NewMatcher("exact", false)
	}
	e := NewEvaluator(opt)
	var rs []Result
	for _, s := range samples {
		r, err := e.Add(s)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	return e.Summary(), rs
}

func ref(s string) *string { return &s }

func TestEvaluate(t *testing.T) {
	re, _ := FullMatch(".*cat.*")
	m, _ := NewMatcher("contains", true)
	sum, rs := summarise(t, Options{FormatRegex: re, Matcher: m},
		Sample{ID: "a", Response: "the cat the cat the", Reference: ref("The  CAT")},
		// 你 好 世 界 ， 你 好 ！: 8 units; unigrams 6 unique; bigrams 6 of 7; trigrams and four-grams all unique
		Sample{ID: "b", Response: "你好世界，你好！", Reference: ref("世界"), FinishReason: "length"},
		Sample{ID: "c", Response: "", FinishReason: "stop"},
	)
	near(t, "mean_length", sum.MeanLength, 13.0/3)
	near(t, "seq_rep_1", sum.SeqRep1, (0.6+0.25+0)/3)
	near(t, "seq_rep_2", sum.SeqRep2, (0.5+1.0/7+0)/3)
	near(t, "seq_rep_3", sum.SeqRep3, (1.0/3+0+0)/3)
	near(t, "seq_rep_4", sum.SeqRep4, 0)
	// over all answers: unigrams 2+6 unique of 5+8; bigrams 2+6 of 4+7; trigrams 2+6 of 3+6; four-grams 2+5 of 2+5
	near(t, "distinct_1", sum.Distinct1, 8.0/13)
	near(t, "distinct_2", sum.Distinct2, 8.0/11)
	near(t, "distinct_3", sum.Distinct3, 8.0/9)
	near(t, "distinct_4", sum.Distinct4, 1)
	if sum.TruncatedKnown != 2 || *sum.TruncatedShare != 0.5 {
		t.Errorf("truncated %d known, share %v", sum.TruncatedKnown, *sum.TruncatedShare)
	}
	near(t, "format_share", *sum.FormatShare, 1.0/3)
	if sum.WithReference != 2 || *sum.Accuracy != 1 || sum.JSONValidShare != nil || sum.Unit != "word" {
		t.Errorf("summary %+v", sum)
	}
	b, _ := json.Marshal(rs[2])
	if want := `{"id":"c","length":0,"seq_rep_1":0,"seq_rep_2":0,"seq_rep_3":0,"seq_rep_4":0,"truncated":false,"format_match":false}`; string(b) != want {
		t.Errorf("empty answer: %s, want %s", b, want)
	}
	if rs[0].Truncated != nil || !*rs[0].Correct || *rs[1].Truncated != true {
		t.Errorf("results %+v", rs)
	}
}

func TestTruncationAndTokens(t *testing.T) {
	n := func(v int) *int { return &v }
	runes := func(s string) []int32 { // one id per character
		var ids []int32
		for _, r := range s {
			ids = append(ids, r)
		}
		return ids
	}
	sum, rs := summarise(t, Options{MaxNewTokens: 4, Encode: runes},
		Sample{ID: "finish stop wins", Response: "abcdef", FinishReason: "stop", NTokens: n(9)},
		Sample{ID: "n_tokens at the limit", Response: "ab", NTokens: n(4)},
		Sample{ID: "n_tokens below", Response: "ab", NTokens: n(3)},
		Sample{ID: "own token count", Response: "aaaa"},
		Sample{ID: "short", Response: "a"},
	)
	var got []bool
	for _, r := range rs {
		got = append(got, *r.Truncated)
	}
	if !reflect.DeepEqual(got, []bool{false, true, false, true, false}) {
		t.Errorf("truncated %v", got)
	}
	near(t, "truncated_share", *sum.TruncatedShare, 2.0/5)
	// token units: aaaa has 4 unigrams, 1 unique
	near(t, "seq_rep_1 of aaaa", rs[3].SeqRep1, 0.75)
	if sum.Unit != "token" || rs[0].Length != 6 {
		t.Errorf("unit %q, length %d", sum.Unit, rs[0].Length)
	}
	// without --max-new-tokens, only finish_reason tells
	sum, _ = summarise(t, Options{}, Sample{ID: "x", Response: "a", NTokens: n(100)})
	if sum.TruncatedKnown != 0 || sum.TruncatedShare != nil {
		t.Errorf("unknown truncation reported: %+v", sum)
	}
	if s := (&Evaluator{}).Summary(); s != nil {
		t.Errorf("no samples: %+v, want nil", s)
	}
}

func TestMatch(t *testing.T) {
	if got := Normalize("  ＨＥＬＬＯ\u3000 World\n ｶﾀｶﾅ"); got != "hello world カタカナ" {
		t.Errorf("Normalize = %q", got)
	}
	for _, c := range []struct {
		mode      string
		normalize bool
		resp, ref string
		want      bool
	}{
		{"exact", false, "Paris", "Paris", true},
		{"exact", false, "Paris.", "Paris", false},
		{"exact", false, "paris", "Paris", false},
		{"exact", true, " ＰＡＲＩＳ ", "paris", true},
		{"contains", false, "答案是：蕴含。", "蕴含", true},
		{"contains", false, "Entailment", "entailment", false},
		{"contains", true, "Entailment", "entailment", true},
		{"regex", false, "The answer is B.", `\b[B]\b`, true},
		{"regex", false, "The answer is B.", `^B$`, false},
		{"regex", true, "ＡＮＳＷＥＲ: b", `answer: [a-d]`, true},
	} {
		m, err := NewMatcher(c.mode, c.normalize)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := m.Match(c.resp, c.ref, nil); err != nil || got != c.want {
			t.Errorf("%s normalize=%v: Match(%q, %q) = %v %v, want %v", c.mode, c.normalize, c.resp, c.ref, got, err, c.want)
		}
	}
	m, _ := NewMatcher("regex", false)
	if _, err := m.Match("x", "(", nil); err == nil {
		t.Error("invalid reference regex accepted")
	}
	if _, err := NewMatcher("fuzzy", false); err == nil {
		t.Error("--match fuzzy accepted")
	}
	re, _ := FullMatch(`[A-D]|yes`)
	for s, want := range map[string]bool{"B": true, "yes": true, "B.": false, " B": false, "yes\n": false} {
		if re.MatchString(s) != want {
			t.Errorf("full match of %q: %v", s, !want)
		}
	}
	if _, err := FullMatch("("); err == nil {
		t.Error("invalid --format-regex accepted")
	}
}

func TestSchema(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.json")
	os.WriteFile(path, []byte(`{
		"$schema": "https://json-schema.org/draft/2020-12/schema",
		"title": "answer",
		"type": "object",
		"required": ["label", "score"],
		"properties": {
			"label": {"enum": ["entailment", "contradiction", "neutral"]},
			"score": {"type": "integer"},
			"spans": {"type": "array", "items": {"type": ["string", "null"]}},
			"level": {"enum": [1, 2]}
		},
		"additionalProperties": false
	}`), 0o644)
	s, err := LoadSchema(path)
	if err != nil {
		t.Fatal(err)
	}
	for text, want := range map[string]string{
		`{"label":"neutral","score":3}`:                               "",
		` {"label":"neutral","score":3.0,"spans":["a",null]} ` + "\n": "", // 3.0 is an integer
		`{"label":"neutral","score":2,"level":1.0}`:                   "", // enum compares numbers by value
		`{"label":"maybe","score":3}`:                                 "$.label: not one of the enum values",
		`{"label":"neutral"}`:                                         `$: missing required property "score"`,
		`{"label":"neutral","score":2.5}`:                             "$.score: want integer, got number",
		`{"label":"neutral","score":1,"spans":["a",1]}`:               "$.spans[1]: want string or null, got integer",
		`{"label":"neutral","score":1,"extra":true}`:                  "$.extra: not allowed",
		`["label"]`:                              "$: want object, got array",
		"The answer is {\"label\":\"neutral\"}":  "not JSON",
		`{"label":"neutral","score":1} and more`: "not JSON: text after the JSON value",
		``:                                       "not JSON",
	} {
		err := s.ValidateText(text)
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("%q: %v, want %q", text, err, want)
		}
	}
	os.WriteFile(path, []byte(`{"type":"object","minProperties":1}`), 0o644)
	if _, err := LoadSchema(path); err == nil || !strings.Contains(err.Error(), `keyword "minProperties" is not supported`) {
		t.Errorf("unsupported keyword: %v", err)
	}
	os.WriteFile(path, []byte(`{"properties":{"a":{"type":"text"}}}`), 0o644)
	if _, err := LoadSchema(path); err == nil || !strings.Contains(err.Error(), `#/properties/a/type: unknown type "text"`) {
		t.Errorf("unknown type: %v", err)
	}
}

func TestHeldOut(t *testing.T) {
	dir := t.TempDir()
	var buf bytes.Buffer
	w := formats.NewWriter(&buf, formats.JSONL, formats.ScoreCodec)
	w.Write(&formats.Score{ID: "a", Loss: []float32{1, 2}, Entropy: []float32{0.5, 0.5}, NTargets: 2})
	w.Write(&formats.Score{ID: "b", Loss: []float32{3}, Entropy: []float32{2}, NTargets: 1})
	w.Close()
	path := filepath.Join(dir, "s.jsonl")
	os.WriteFile(path, buf.Bytes(), 0o644)
	h, err := ReadHeldOut([]string{path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// over all 3 targets: loss (1+2+3)/3, entropy (0.5+0.5+2)/3
	if h.Documents != 2 || h.Targets != 3 {
		t.Errorf("%+v", h)
	}
	near(t, "mean loss", h.MeanLoss, 2)
	near(t, "ppl", h.PPL, math.Exp(2))
	near(t, "mean entropy", h.MeanEntropy, 1)
	os.WriteFile(path, []byte(`{"id":"a","loss":[],"entropy":[],"n_targets":0}`+"\n"), 0o644)
	if _, err := ReadHeldOut([]string{path}, nil); err == nil {
		t.Error("score records without targets accepted")
	}
}

func TestCompare(t *testing.T) {
	runs := []Run{
		{Name: "base", Values: map[string]any{"samples": 10.0, "unit": "word", "seq_rep_1": 0.25, "score_ppl": 8.0, "custom": 1.0}},
		{Name: "ft", Values: map[string]any{"samples": 10.0, "unit": "word", "seq_rep_1": 0.5, "accuracy": 0.9, "score_ppl": 9.5}},
	}
	var b strings.Builder
	if err := CompareTable(&b, runs); err != nil {
		t.Fatal(err)
	}
	want := `| metric | base | ft | Δ ft |
|---|--:|--:|--:|
| samples | 10 | 10 | 0 |
| unit | word | word |  |
| seq_rep_1 | 0.25 | 0.5 | +0.25 |
| accuracy | — | 0.9 |  |
| score_ppl | 8 | 9.5 | +1.5 |
| custom | 1 | — |  |
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	if runName("runs/ft/metrics.jsonl") != "ft" || runName("out/base.json") != "base" {
		t.Error("run names")
	}

	dir := t.TempDir()
	log := filepath.Join(dir, "ft", "metrics.jsonl")
	os.MkdirAll(filepath.Dir(log), 0o755)
	os.WriteFile(log, []byte(`{"step":1,"loss":2.5,"eval loss":3}`+"\n\n"+`{"step":2,"loss":2.0,"note":"x"}`+"\n"), 0o644)
	c, err := ReadCurve(log)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "ft" || !reflect.DeepEqual(c.Series["loss"], [][2]float64{{1, 2.5}, {2, 2}}) || len(c.Series) != 2 {
		t.Errorf("curve %+v", c)
	}
	files, err := Plot(filepath.Join(dir, "charts"), runs, []Curve{c})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
		b, _ := os.ReadFile(f)
		if !bytes.HasPrefix(b, []byte("\x89PNG")) {
			t.Errorf("%s is not a PNG", f)
		}
	}
	if want := []string{"seq_rep_1.png", "accuracy.png", "score_ppl.png", "custom.png", "curve_eval_loss.png", "curve_loss.png"}; !reflect.DeepEqual(names, want) {
		t.Errorf("charts %v, want %v", names, want)
	}
}

func TestMatchValue(t *testing.T) {
	choices := []string{"5 mg", "10 mg", "20 mg", "20 mg daily", "0.5 mg", "Ｎｏｒｔｈ"}
	for _, c := range []struct {
		resp, ref string
		want      bool
	}{
		{"The dose is 20 mg.", "20 mg", true},
		{"THE DOSE IS ２０  MG", "20 mg", true},     // folded as --normalize
		{"The dose is 120 mg.", "20 mg", false},   // not a whole word
		{"It is 20 mg or 10 mg.", "20 mg", false}, // a second candidate named
		{"It is 20 mgs", "20 mg", false},          // letters continue the word
		{"Take 0.5 mg twice.", "5 mg", false},     // a decimal continues the number
		{"Take 0.5 mg twice.", "0.5 mg", true},    // and 5 mg inside it is no other candidate
		{"Take 5 mg. Then rest.", "5 mg", true},   // a full stop after is a boundary
		{"20 mg daily", "20 mg daily", true},      // 20 mg inside the reference does not count
		{"20 mg daily", "20 mg", false},           // but the longer candidate is another value
		{"20 mg, not 20 mg daily", "20 mg daily", false},
		{"(20 mg)", "20 mg", true},
		{"north", "North", true}, // candidates are folded too
		{"Ｎｏｒｔｈ and 5 mg", "5 mg", false},
		{"", "20 mg", false},
	} {
		m, _ := NewMatcher("value", false)
		got, err := m.Match(c.resp, c.ref, choices)
		if err != nil || got != c.want {
			t.Errorf("Match(%q, %q) = %v %v, want %v", c.resp, c.ref, got, err, c.want)
		}
	}
	if got := Phrases("剂量是20毫克，20毫克", "20毫克"); !reflect.DeepEqual(got, [][2]int{{9, 17}, {20, 28}}) {
		t.Errorf("CJK phrases: %v", got) // CJK characters are words alone: no boundary needed
	}
	if got := Phrases("20,000 and 20", "20"); !reflect.DeepEqual(got, [][2]int{{11, 13}}) {
		t.Errorf("thousands: %v", got)
	}
	m, _ := NewMatcher("value", false)
	if _, err := m.Match("20 mg", "20 mg", nil); err == nil || !strings.Contains(err.Error(), "no meta.choices") {
		t.Errorf("missing choices: %v", err)
	}
}

func TestGroups(t *testing.T) {
	m, _ := NewMatcher("value", false)
	g := func(s string) *string { return &s }
	meta := json.RawMessage(`{"kind":"new","choices":["5 mg","20 mg"]}`)
	meta2 := json.RawMessage(`{"kind":"general","choices":["Paris","Rome"]}`)
	e := NewEvaluator(Options{Matcher: m})
	var rs []Result
	for _, s := range []Sample{
		{ID: "a", Response: "20 mg", Reference: ref("20 mg"), Meta: meta, Group: g("new"), FinishReason: "stop"},
		{ID: "b", Response: "5 mg or 20 mg", Reference: ref("20 mg"), Meta: meta, Group: g("new"), FinishReason: "length"},
		{ID: "c", Response: "Rome Rome", Reference: ref("Rome"), Meta: meta2, Group: g("general"), FinishReason: "stop"},
	} {
		r, err := e.Add(s)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	sum := e.Summary()
	near(t, "accuracy", *sum.Accuracy, 2.0/3)
	by := e.Groups()
	if len(by) != 2 || by["new"].Samples != 2 || by["general"].Samples != 1 {
		t.Fatalf("groups %+v", by)
	}
	near(t, "accuracy new", *by["new"].Accuracy, 0.5)
	near(t, "accuracy general", *by["general"].Accuracy, 1)
	near(t, "truncated new", *by["new"].TruncatedShare, 0.5)
	near(t, "truncated general", *by["general"].TruncatedShare, 0)
	near(t, "seq_rep_1 general", by["general"].SeqRep1, 0.5) // Rome Rome: 1 unique of 2
	near(t, "seq_rep_1 all", sum.SeqRep1, (0+0.2+0.5)/3)     // 5 mg or 20 mg: mg twice in 5
	near(t, "distinct_1 new", by["new"].Distinct1, 4.0/7)    // 20 mg 5 mg or 20 mg: 4 unique of 7
	b, _ := json.Marshal(rs[0])
	if want := `{"id":"a","length":2,"seq_rep_1":0,"seq_rep_2":0,"seq_rep_3":0,"seq_rep_4":0,"truncated":false,"correct":true,"group":"new","meta":{"kind":"new","choices":["5 mg","20 mg"]}}`; string(b) != want {
		t.Errorf("result %s, want %s", b, want)
	}
	if NewEvaluator(Options{Matcher: m}).Groups() != nil {
		t.Error("groups without --by")
	}
}

func TestLookup(t *testing.T) {
	f, err := corpus.ParseObject([]byte(`{"id":7,"meta":{"kind":"new","n":3,"ok":true,"deep":{"x":"y"},"list":[1],"none":null},"flat":"z"}`))
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{"meta.kind": "new", "meta.n": "3", "meta.ok": "true", "meta.deep.x": "y", "flat": "z", "id": "7"} {
		if got, ok, err := Lookup(f, path); got != want || !ok || err != nil {
			t.Errorf("%s = %q %v %v, want %q", path, got, ok, err, want)
		}
	}
	for _, path := range []string{"meta.absent", "meta.none", "absent.kind", "meta.none.x"} {
		if _, ok, err := Lookup(f, path); ok || err != nil {
			t.Errorf("%s: found %v, %v", path, ok, err)
		}
	}
	if _, _, err := Lookup(f, "meta.list"); err == nil || !strings.Contains(err.Error(), "want a string, number or boolean") {
		t.Errorf("list: %v", err)
	}
	if _, _, err := Lookup(f, "flat.x"); err == nil || !strings.Contains(err.Error(), "field flat: want an object") {
		t.Errorf("flat.x: %v", err)
	}
	if _, err := group(f, "meta.kin"); err == nil || !strings.Contains(err.Error(), "no meta.kin field to group by (--by)") {
		t.Errorf("group: %v", err)
	}
	for meta, want := range map[string]string{
		`{"choices":["a",2]}`:    "[a 2]",
		`{"kind":"x"}`:           "[]",
		`{"choices":[]}`:         "meta.choices is empty",
		`{"choices":[["a"]]}`:    "meta.choices[0]: want a string or number",
		`{"choices":["a",null]}`: "meta.choices[1]: want a string or number",
		`"x"`:                    `field "meta": want an object`,
	} {
		c, err := choicesOf(json.RawMessage(meta))
		got := fmt.Sprint(c)
		if err != nil {
			got = err.Error()
		}
		if !strings.Contains(got, want) {
			t.Errorf("choicesOf(%s) = %s, want %s", meta, got, want)
		}
	}
}

// choiceFiles writes a candidates file and a score file of one target loss
// list per id.
func choiceFiles(t *testing.T, choices string, losses map[string][]float32) (string, string) {
	t.Helper()
	dir := t.TempDir()
	var buf bytes.Buffer
	w := formats.NewWriter(&buf, formats.JSONL, formats.ScoreCodec)
	for _, id := range slices.Sorted(maps.Keys(losses)) {
		l := losses[id]
		w.Write(&formats.Score{ID: id, Loss: l, Entropy: make([]float32, len(l)), NTargets: int32(len(l))})
	}
	w.Close()
	c, s := filepath.Join(dir, "choices.jsonl"), filepath.Join(dir, "scores.jsonl")
	os.WriteFile(c, []byte(choices), 0o644)
	os.WriteFile(s, buf.Bytes(), 0o644)
	return c, s
}

func TestChoices(t *testing.T) {
	cand := func(id, q string, correct bool, kind string) string {
		return fmt.Sprintf(`{"id":%q,"meta":{"question":%q,"correct":%v,"kind":%q}}`+"\n", id, q, correct, kind)
	}
	choices := cand("q1/c1", "q1", true, "new") + cand("q1/c2", "q1", false, "new") + cand("q1/c3", "q1", false, "new") +
		cand("q2/c1", "q2", true, "new") + cand("q2/c2", "q2", false, "new") +
		cand("q3/c1", "q3", true, "conflicting") + cand("q3/c2", "q3", false, "conflicting") +
		cand("q3/c3", "q3", false, "conflicting") + cand("q3/c4", "q3", false, "conflicting")
	losses := map[string][]float32{
		"q1/c1": {1, 1}, "q1/c2": {3}, "q1/c3": {0.5, 0.5, 2}, // right by 1 nat
		"q2/c1": {2, 2}, "q2/c2": {1}, // wrong: the wrong answer is 3 nats likelier
		"q3/c1": {1}, "q3/c2": {1}, "q3/c3": {0.5, 0.5}, "q3/c4": {5}, // a three-way tie: credit 1/3
		"other": {9}, // scored for something else: ignored
	}
	c, s := choiceFiles(t, choices, losses)
	sum, rows, err := ScoreChoices([]string{c}, []string{s}, "meta.kind", nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Questions != 3 || sum.Candidates != 9 || len(sum.By) != 2 {
		t.Fatalf("summary %+v", sum)
	}
	near(t, "accuracy", sum.Accuracy, (1+0+1.0/3)/3)
	near(t, "chance", sum.Chance, (1.0/3+1.0/2+1.0/4)/3)
	near(t, "chance corrected", sum.ChanceCorrected, 3.0/23) // (16/36 − 13/36) / (23/36)
	near(t, "new accuracy", sum.By["new"].Accuracy, 0.5)
	near(t, "new chance corrected", sum.By["new"].ChanceCorrected, 1.0/7) // (1/2 − 5/12) / (7/12)
	near(t, "conflicting chance corrected", sum.By["conflicting"].ChanceCorrected, 1.0/9)
	kind := func(s string) *string { return &s }
	want := []ChoiceRow{
		{Question: "q1", Group: kind("new"), Candidates: 3, Pick: "q1/c1", Answer: "q1/c1", Correct: true, Credit: 1, AnswerLoss: 2, Margin: 1},
		{Question: "q2", Group: kind("new"), Candidates: 2, Pick: "q2/c2", Answer: "q2/c1", Correct: false, Credit: 0, AnswerLoss: 4, Margin: -3},
		{Question: "q3", Group: kind("conflicting"), Candidates: 4, Pick: "q3/c1", Answer: "q3/c1", Correct: false, Credit: 1.0 / 3, AnswerLoss: 1, Margin: 0},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("rows\n%+v\nwant\n%+v", rows, want)
	}
	if sum, _, _ := ScoreChoices([]string{c}, []string{s}, "", nil); sum.By != nil {
		t.Errorf("groups without --by: %+v", sum.By)
	}

	for _, bad := range []struct {
		choices string
		losses  map[string][]float32
		want    string
	}{
		{cand("a", "q", true, "new") + cand("b", "q", false, "new"), map[string][]float32{"a": {1}},
			`choices.jsonl:2: candidate "b" has no score record`},
		{cand("a", "q", true, "new") + cand("a", "q", false, "new"), map[string][]float32{"a": {1}},
			`choices.jsonl:2: duplicate id "a" (first at `},
		{cand("a", "q", true, "new") + cand("b", "q", false, "new") + cand("c", "r", true, "new"), map[string][]float32{"a": {1}, "b": {1}, "c": {1}},
			`choices.jsonl:3: question "r" has one candidate`},
		{cand("a", "q", false, "new") + cand("b", "q", false, "new"), map[string][]float32{"a": {1}, "b": {1}},
			`choices.jsonl:1: question "q" has no correct candidate`},
		{cand("a", "q", true, "new") + cand("b", "q", true, "new"), map[string][]float32{"a": {1}, "b": {1}},
			`choices.jsonl:2: question "q" has a second correct candidate "b" (first "a")`},
		{cand("a", "q", true, "new") + cand("b", "q", false, "general"), map[string][]float32{"a": {1}, "b": {1}},
			`choices.jsonl:2: candidate "b" is in group "general", another of question "q" in "new"`},
		{cand("a", "q", true, "new") + cand("b", "q", false, "new"), map[string][]float32{"a": {1}, "b": {}},
			`score record "b" has no targets`},
		{`{"id":"a","meta":{"correct":true}}` + "\n", nil, `choices.jsonl:1: no meta.question`},
		{`{"id":"a","meta":{"question":"q"}}` + "\n", nil, `choices.jsonl:1: no meta.correct`},
		{`{"id":"a","meta":{"question":"q","correct":"yes"}}` + "\n", nil, `choices.jsonl:1: meta.correct: want true or false, got "yes"`},
		{`{"id":"a","meta":{"question":"q","correct":true}}` + "\n", nil, `choices.jsonl:1: no meta.kind field to group by (--by)`},
	} {
		c, s := choiceFiles(t, bad.choices, bad.losses)
		if _, _, err := ScoreChoices([]string{c}, []string{s}, "meta.kind", nil); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: %v, want %q", bad.choices, err, bad.want)
		}
	}
	// a duplicate score record is named where it is
	c, s = choiceFiles(t, cand("a", "q", true, "x")+cand("b", "q", false, "x"), map[string][]float32{"a": {1}, "b": {2}})
	b, _ := os.ReadFile(s)
	os.WriteFile(s, append(b, b[:bytes.IndexByte(b, '\n')+1]...), 0o644)
	if _, _, err := ScoreChoices([]string{c}, []string{s}, "", nil); err == nil || !strings.Contains(err.Error(), `scores.jsonl:3: duplicate score record "a"`) {
		t.Errorf("duplicate score: %v", err)
	}
}

func TestReadRunGroups(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ft.json")
	os.WriteFile(path, []byte(`{"questions":3,"accuracy":0.5,"chance_corrected_accuracy":0.25,
		"by":{"new":{"accuracy":0.75,"chance_corrected_accuracy":0.5,"questions":2},"general":{"accuracy":1,"seq_rep_4":0.1},"odd":3}}`), 0o644)
	r, err := ReadRun(path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"questions": 3.0, "accuracy": 0.5, "chance_corrected_accuracy": 0.25,
		"accuracy[new]": 0.75, "chance_corrected_accuracy[new]": 0.5, "accuracy[general]": 1.0}
	if r.Name != "ft" || !reflect.DeepEqual(r.Values, want) {
		t.Errorf("run %+v, want %v", r, want)
	}
	if got := metricOrder([]Run{r}); !reflect.DeepEqual(got, []string{"accuracy", "questions", "chance_corrected_accuracy", "accuracy[general]", "accuracy[new]", "chance_corrected_accuracy[new]"}) {
		t.Errorf("order %q", got)
	}
	// a group value is no safe file name: the chart's name is cleaned
	r.Values = map[string]any{"accuracy[velmorin/dose]": 0.5}
	files, err := Plot(filepath.Join(filepath.Dir(path), "charts"), []Run{r}, nil)
	if err != nil || len(files) != 1 || filepath.Base(files[0]) != "accuracy_velmorin_dose.png" {
		t.Errorf("charts %v %v", files, err)
	}
}
