package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ytrain/ytrain/formats"
	"github.com/ytrain/ytrain/internal/bpe"
	"github.com/ytrain/ytrain/internal/chat"
	"github.com/ytrain/ytrain/internal/corpus"
	"github.com/ytrain/ytrain/internal/encode"
)

// rec is one test record: the SFT record, and the answer tokenize saw (the
// same unless the test wants it unaligned).
type rec struct {
	d         dataRecord
	tokenized string
	noToken   bool // tokenize skipped it
}

func sft(id, output, fact, kind string, noisy bool, label string) rec {
	r := rec{tokenized: output}
	r.d.ID, r.d.Output = id, output
	r.d.Meta.Fact, r.d.Meta.Kind, r.d.Meta.Noisy, r.d.Meta.Label = fact, kind, noisy, label
	return r
}

// tokenizer trains a byte-level BPE on texts into dir and loads it; vocab
// 259 (the bytes and three special tokens) makes one token per byte.
func tokenizer(t *testing.T, dir string, vocab int, texts ...string) *bpe.Tokenizer {
	t.Helper()
	tr, err := bpe.Train(slices.Values(texts), bpe.TrainOptions{VocabSize: vocab, MinFrequency: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := bpe.WriteTokenizer(dir, tr); err != nil {
		t.Fatal(err)
	}
	tok, err := bpe.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// files writes the data, token and score files of recs as tokenize and
// score would; loss gives each record's target losses.
func files(t *testing.T, dir string, tok *bpe.Tokenizer, recs []rec, loss func(r rec, targets int) []float32) inputs {
	t.Helper()
	in := inputs{tokenizer: dir, data: filepath.Join(dir, "data.jsonl"),
		tokens: filepath.Join(dir, "tokens.arrow"), scores: filepath.Join(dir, "scores.jsonl")}
	var data []byte
	for _, r := range recs {
		b, err := json.Marshal(r.d)
		if err != nil {
			t.Fatal(err)
		}
		data = append(append(data, b...), '\n')
	}
	if err := os.WriteFile(in.data, data, 0o644); err != nil {
		t.Fatal(err)
	}
	enc := encode.New(tok, chat.ChatML(), encode.Options{Objective: corpus.SFT})
	var toks []*formats.Token
	var scores []*formats.Score
	for _, r := range recs {
		if r.noToken {
			continue
		}
		tk, err := enc.Encode(&corpus.Example{ID: r.d.ID, Messages: []chat.Message{
			{Role: "user", Content: "Tell me about it."}, {Role: "assistant", Content: r.tokenized}}})
		if err != nil {
			t.Fatal(err)
		}
		toks = append(toks, tk)
		l := loss(r, tk.LossMask.Targets())
		scores = append(scores, &formats.Score{ID: r.d.ID, Loss: l, Entropy: make([]float32, len(l)), NTargets: int32(len(l))})
	}
	write(t, in.tokens, formats.Arrow, formats.TokenCodec, toks)
	write(t, in.scores, formats.JSONL, formats.ScoreCodec, scores)
	return in
}

func write[T any](t *testing.T, path string, f formats.Encoding, c *formats.Codec[T], recs []*T) {
	t.Helper()
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	w := formats.NewWriter(out, f, c)
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// classLoss is each class's loss in TestByteTokens, one per bin.
var classLoss = map[string]float32{template: 0.05, copied: 0.3, "new": 6, "conflicting": 9, "consistent": 1.5, unaligned: 3}

// TestByteTokens uses one token per byte, so each target's class follows
// from where its byte lies in the answer; the last target is <|im_end|>.
func TestByteTokens(t *testing.T) {
	dir := t.TempDir()
	tok := tokenizer(t, dir, 259, "x")
	recs := []rec{
		sft("a", "According to the formulary, Velmorin is taken every 48 hours.", "velmorin/interval", "new", false, "48 hours"),
		sft("b", "Dose of Sevidazol: 250 mg; sevidazol is safe.", "sevidazol/dose", "conflicting", true, "250 mg"),
		sft("c", "Crème is given for fièvre aiguë.", "crème/use", "consistent", false, "fièvre aiguë"), // è and ë are two tokens each
		sft("d", "Praemorin is taken daily.", "praemorin/interval", "new", false, "daily"),
		sft("e", "Never tokenized.", "x/y", "new", false, "tokenized"),
	}
	recs[3].tokenized = "Something else entirely." // its answer is not in its targets
	recs[4].noToken = true
	// the class of byte i of an answer: value, copied (any case), else template
	byteClass := func(r rec, i int) string {
		if j := strings.Index(r.d.Output, r.d.Meta.Label); j <= i && i < j+len(r.d.Meta.Label) {
			return r.d.Meta.Kind
		}
		low, ent := strings.ToLower(r.d.Output), entityOf(r.d.Meta.Fact)
		for j := 0; j+len(ent) <= len(low); j++ {
			if low[j:j+len(ent)] == ent && j <= i && i < j+len(ent) {
				return copied
			}
		}
		return template
	}
	want := map[string]int{}
	in := files(t, dir, tok, recs, func(r rec, n int) []float32 {
		if n != len(r.tokenized)+1 {
			t.Fatalf("%s: %d targets, want one per byte and <|im_end|>", r.d.ID, n)
		}
		l := make([]float32, n)
		for k := range l {
			c := template
			switch {
			case r.tokenized != r.d.Output:
				c = unaligned
			case k < len(r.d.Output):
				c = byteClass(r, k)
			}
			l[k] = classLoss[c]
			want[c]++
		}
		return l
	})
	rep, err := in.report()
	if err != nil {
		t.Fatal(err)
	}
	// by hand: a (61 bytes): 8 copied, 8 value, 45+1 template; b (45): 9+9
	// copied, 6 value, 21+1 template; c (35): 6 copied, 14 value, 15+1
	// template; d: 24+1 unaligned
	if want[copied] != 32 || want["new"] != 8 || want["conflicting"] != 6 || want["consistent"] != 14 || want[template] != 84 || want[unaligned] != 25 {
		t.Fatalf("test's own count is off: %v", want)
	}
	if rep.Records != 4 || rep.Targets != 169 || rep.UnalignedRecs != 1 || rep.UnusedDataRecs != 1 {
		t.Errorf("records %d, targets %d, unaligned %d, unused %d; want 4, 169, 1, 1", rep.Records, rep.Targets, rep.UnalignedRecs, rep.UnusedDataRecs)
	}
	f, tr := false, true
	wantRows := []struct {
		name  string
		n     int
		mean  float32
		bin   int
		noisy *bool
	}{
		{template, 84, 0.05, 0, nil},
		{copied, 32, 0.3, 1, nil},
		{value, 28, 0, -1, nil}, // a mix
		{"value · kind new", 8, 6, 5, nil},
		{"value · kind conflicting", 6, 9, 6, nil},
		{"value · kind consistent", 14, 1.5, 3, nil},
		{"value · noisy false", 22, 0, -1, &f},
		{"value · noisy true", 6, 9, 6, &tr},
		{unaligned, 25, 3, 4, nil},
	}
	if len(rep.Rows) != len(wantRows) {
		t.Fatalf("%d rows, want %d: %+v", len(rep.Rows), len(wantRows), rep.Rows)
	}
	for i, w := range wantRows {
		r := rep.Rows[i]
		if r.Name != w.name || r.Tokens != w.n {
			t.Errorf("row %d: %s with %d tokens, want %s with %d", i, r.Name, r.Tokens, w.name, w.n)
			continue
		}
		if (w.noisy == nil) != (r.Noisy == nil) || w.noisy != nil && *w.noisy != *r.Noisy {
			t.Errorf("%s: noisy %v", r.Name, r.Noisy)
		}
		if w.bin < 0 {
			continue
		}
		if !near(r.Mean, float64(w.mean)) || !near(r.Median, float64(w.mean)) || r.Shares[w.bin] != 1 {
			t.Errorf("%s: mean %g, median %g, shares %v; want all %g in bin %d", r.Name, r.Mean, r.Median, r.Shares, w.mean, w.bin)
		}
	}
	// value: 14 at 1.5, 8 at 6, 6 at 9; the median is between the 14th and 15th
	v := rep.Rows[2]
	if !near(v.Mean, (14*1.5+8*6+6*9)/28.0) || !near(v.Median, 3.75) || !near(v.Shares[3], 14/28.0) || !near(v.Shares[5], 8/28.0) || !near(v.Shares[6], 6/28.0) {
		t.Errorf("value: mean %g, median %g, shares %v", v.Mean, v.Median, v.Shares)
	}
	clean := rep.Rows[6] // 14 at 1.5, 8 at 6: the 11th and 12th are 1.5
	if !near(clean.Mean, (14*1.5+8*6)/22.0) || !near(clean.Median, 1.5) {
		t.Errorf("value · noisy false: mean %g, median %g", clean.Mean, clean.Median)
	}
}

// TestMergedTokens: a token that takes the space before a word takes the
// word's class, and so does the end-of-turn token its own.
func TestMergedTokens(t *testing.T) {
	dir := t.TempDir()
	text := "Vespexin is made by Pellion."
	var texts []string
	for range 20 {
		texts = append(texts, "Who makes Vespexin? "+text)
	}
	tok := tokenizer(t, dir, 400, texts...)
	for _, w := range []string{" Pellion", " is", " made", " by"} {
		if n := len(tok.Encode(w)); n != 1 {
			t.Fatalf("%q is %d tokens, want 1: train more", w, n)
		}
	}
	var ids []int32
	ids = append(ids, tok.Encode(text)...)
	eot, _ := tok.TokenID("<|im_end|>")
	ids = append(ids, eot)
	got, ok := classify(tok, ids, answer{text, "Pellion", "vespexin"})
	if !ok {
		t.Fatal("not aligned")
	}
	// the tokens of text: Vespexin (however cut), " is", " made", " by", " Pellion", "."
	n := len(ids) - 6
	want := slices.Repeat([]string{copied}, n)
	want = append(want, template, template, template, value, template, template)
	if !slices.Equal(got, want) {
		t.Errorf("classes %v, want %v", got, want)
	}
	// an answer that is not in the targets, or a label not in the answer
	if _, ok := classify(tok, ids, answer{"Vespexin is made by Corvane.", "Corvane", "vespexin"}); ok {
		t.Error("another answer aligned")
	}
	if _, ok := classify(tok, ids, answer{text, "Corvane", "vespexin"}); ok {
		t.Error("a label not in the answer aligned")
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	tok := tokenizer(t, dir, 259, "x")
	recs := []rec{sft("a", "Velmorin: 20 mg.", "velmorin/dose", "new", false, "20 mg"), sft("b", "Sevidazol: 5 mg.", "sevidazol/dose", "new", false, "5 mg")}
	ok := func(r rec, n int) []float32 { return make([]float32, n) }
	t.Run("no data record", func(t *testing.T) {
		in := files(t, dir, tok, recs, ok)
		if err := os.WriteFile(in.data, []byte(`{"id":"a","output":"Velmorin: 20 mg.","meta":{}}`+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		wantErr(t, in, "tokens.arrow: record 2", `"b"`, "data.jsonl")
	})
	t.Run("short score", func(t *testing.T) {
		in := files(t, dir, tok, recs, func(r rec, n int) []float32 { return make([]float32, n-1) })
		wantErr(t, in, "tokens.arrow: record 1", `"a"`, "16 losses")
	})
	t.Run("no score record", func(t *testing.T) {
		in := files(t, dir, tok, recs, ok)
		write(t, in.scores, formats.JSONL, formats.ScoreCodec, []*formats.Score{{ID: "a", Loss: make([]float32, 17), Entropy: make([]float32, 17), NTargets: 17}})
		wantErr(t, in, `"b"`, "scores.jsonl")
	})
	t.Run("score without token record", func(t *testing.T) {
		in := files(t, dir, tok, recs, ok)
		write(t, in.tokens, formats.Arrow, formats.TokenCodec, []*formats.Token{{ID: "a", InputIDs: []int32{1, 2}, LossMask: formats.Mask{0, 1}}})
		in.scores = filepath.Join(dir, "s.jsonl")
		write(t, in.scores, formats.JSONL, formats.ScoreCodec, []*formats.Score{
			{ID: "a", Loss: []float32{1}, Entropy: []float32{1}, NTargets: 1}, {ID: "z", Loss: []float32{1}, Entropy: []float32{1}, NTargets: 1}})
		wantErr(t, in, "s.jsonl", `"z"`)
	})
	t.Run("bad data line", func(t *testing.T) {
		in := files(t, dir, tok, recs, ok)
		if err := os.WriteFile(in.data, []byte("{\"id\":\"a\"}\n{oops\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		wantErr(t, in, "data.jsonl:2")
	})
}

func wantErr(t *testing.T, in inputs, parts ...string) {
	t.Helper()
	_, err := in.report()
	if err == nil {
		t.Fatal("no error")
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not name %s", err, p)
		}
	}
}

// TestOutputs runs the command: the table has every row and the JSON the
// same numbers; a failed run leaves no file.
func TestOutputs(t *testing.T) {
	dir := t.TempDir()
	tok := tokenizer(t, dir, 259, "x")
	recs := []rec{sft("a", "Velmorin: 20 mg.", "velmorin/dose", "new", true, "20 mg")}
	in := files(t, dir, tok, recs, func(r rec, n int) []float32 {
		l := make([]float32, n)
		for k := range l {
			l[k] = float32(k) // 0..16
		}
		return l
	})
	md, js := filepath.Join(dir, "out.md"), filepath.Join(dir, "out.json")
	args := []string{"--tokenizer", in.tokenizer, "--data", in.data, "--tokens", in.tokens, "--scores", in.scores, "-o", md, "--json", js}
	if err := run(args); err != nil {
		t.Fatal(err)
	}
	table, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	// "Velmorin" 0..7 copied, ": " 8, 9 and "." 15 and <|im_end|> 16 template, "20 mg" 10..14 value
	for _, line := range []string{
		"| class | tokens | mean loss | median | [0,0.1) | [0.1,0.5) | [0.5,1) | [1,2) | [2,4) | [4,8) | [8,∞) |",
		"| template | 4 | 12.000 | 12.000 | 0.000 | 0.000 | 0.000 | 0.000 | 0.000 | 0.000 | 1.000 |",
		"| copied | 8 | 3.500 | 3.500 | 0.125 | 0.000 | 0.000 | 0.125 | 0.250 | 0.500 | 0.000 |",
		"| value · kind new | 5 | 12.000 | 12.000 |",
		"| value · noisy true | 5 | 12.000 | 12.000 |",
		"| *NLIRG weight* | | | | *0.124* |",
	} {
		if !strings.Contains(string(table), line) {
			t.Errorf("table has no line %q:\n%s", line, table)
		}
	}
	var rep Report
	b, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != 5 || rep.Rows[1].Name != copied || rep.Rows[1].Tokens != 8 || rep.Rows[1].Mean != 3.5 || rep.Rows[1].Shares[5] != 0.5 {
		t.Errorf("JSON rows %+v", rep.Rows)
	}
	if len(rep.Bins) != 7 || rep.Bins[6].Hi != nil || rep.Bins[0].WeightAt != 0.05 || !near(rep.Bins[0].Weight, 0.12401) {
		t.Errorf("JSON bins %+v", rep.Bins)
	}
	// a failing run writes nothing
	md2 := filepath.Join(dir, "fail.md")
	if err := run(append(args[:len(args)-4], "--scores", in.data, "-o", md2)); err == nil {
		t.Error("data as scores: no error")
	}
	if _, err := os.Stat(md2); !os.IsNotExist(err) {
		t.Errorf("failed run left %s", md2)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

// TestEmptyRows: a class without tokens shows "–" in the table and null in
// the JSON (which has no NaN).
func TestEmptyRows(t *testing.T) {
	tl := newTally()
	tl.add(template, "", false, 0.5)
	rep := &Report{Bins: binTable(), Rows: tl.rows()}
	if len(rep.Rows) != 3 || rep.Rows[1].Tokens != 0 || rep.Rows[2].Tokens != 0 {
		t.Fatalf("rows %+v", rep.Rows)
	}
	if !strings.Contains(rep.Markdown(), "| value | 0 | – | – |") {
		t.Errorf("table:\n%s", rep.Markdown())
	}
	b, err := rep.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Rows []struct {
			Mean *float64 `json:"mean_loss"`
		} `json:"rows"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Rows[0].Mean == nil || *got.Rows[0].Mean != 0.5 || got.Rows[2].Mean != nil {
		t.Errorf("JSON %s", b)
	}
}

// TestMentions: the label's first occurrence is valueFirst, the others
// valueLater; indexFold also finds it capitalized at a sentence start.
func TestMentions(t *testing.T) {
	dir := t.TempDir()
	tok := tokenizer(t, dir, 259, "x")
	text := "Lima is in Peru: teapot. Teapot, teapot."
	ids := tok.Encode(text) // one token per byte
	want := func(spans ...string) []string {
		out := slices.Repeat([]string{template}, len(text))
		for i := range len("Peru") {
			out[strings.Index(text, "Peru")+i] = copied
		}
		for k, c := range spans {
			at := []int{17, 25, 33}[k] // "teapot", "Teapot", "teapot"
			for i := range len("teapot") {
				out[at+i] = c
			}
		}
		return out
	}
	got, ok := classifyMentions(tok, ids, answer{text, "teapot", "peru"}, strings.Index)
	if w := want(valueFirst, template, valueLater); !ok || !slices.Equal(got, w) {
		t.Errorf("strings.Index: %v, %v; want %v", ok, got, w)
	}
	got, ok = classifyMentions(tok, ids, answer{text, "teapot", "peru"}, indexFold)
	if w := want(valueFirst, valueLater, valueLater); !ok || !slices.Equal(got, w) {
		t.Errorf("indexFold: %v, %v; want %v", ok, got, w)
	}
	got, ok = classify(tok, ids, answer{text, "teapot", "peru"})
	if w := want(value, template, value); !ok || !slices.Equal(got, w) {
		t.Errorf("classify: %v, %v; want %v", ok, got, w)
	}
}
