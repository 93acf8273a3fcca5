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
	"github.com/ytrain/ytrain/internal/weighting"
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
	table, js := runReport(t, dir, in)
	// "Velmorin" 0..7 copied, ": " 8, 9 and "." 15 and <|im_end|> 16 template, "20 mg" 10..14 value
	hasLines(t, string(table),
		"| class | tokens | mean loss | median | [0,0.1) | [0.1,0.5) | [0.5,1) | [1,2) | [2,4) | [4,8) | [8,∞) |",
		"| template | 4 | 12.000 | 12.000 | 0.000 | 0.000 | 0.000 | 0.000 | 0.000 | 0.000 | 1.000 |",
		"| copied | 8 | 3.500 | 3.500 | 0.125 | 0.000 | 0.000 | 0.125 | 0.250 | 0.500 | 0.000 |",
		"| value · kind new | 5 | 12.000 | 12.000 |",
		"| value · noisy true | 5 | 12.000 | 12.000 |",
		"| *NLIRG weight* | | | | *0.124* |",
	)
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
	if err := run([]string{"--tokenizer", in.tokenizer, "--data", in.data, "--tokens", in.tokens, "--scores", in.data, "-o", md2}); err == nil {
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

// noisyRec is a tools/realworld record of noise type noise.
func noisyRec(id, output, fact, kind, noise, label string) rec {
	r := sft(id, output, fact, kind, true, label)
	r.d.Meta.Noise = noise
	return r
}

// regionLoss are the losses TestRegions gives, each with its NLIRG weight
// (docs/nlirg.md §1.3, to 6 digits) and region: known ≤ 1.45 < learning <
// 6.6 ≤ hard < 15 ≤ cut.
var regionLoss = map[float32]struct {
	w      float64
	region int
}{
	0: {0.115067, 0}, 1: {0.415810, 0}, 2: {0.795760, 1}, 4: {0.900250, 1},
	5: {0.768525, 1}, 8: {0.141851, 2}, 10: {0.0218814, 2}, 20: {0, 3},
}

// TestRegions: with --regions, one token per byte, each target's rows
// follow from where its byte lies; the test tallies every row's tokens,
// regions and weights itself and compares.
func TestRegions(t *testing.T) {
	dir := t.TempDir()
	tok := tokenizer(t, dir, 259, "x")
	recs := []rec{
		sft("a", "The capital of Valdoria is Corvane. Corvane hosts the government of Valdoria.", "valdoria/capital", "new", false, "Corvane"),
		sft("b", "The capital of Peru is Quito. In short, the capital of Peru is Quito.", "peru/capital", "conflicting", false, "Quito"),
		sft("c", "The currency of Japan is the yen.", "japan/currency", "consistent", false, "yen"),
		noisyRec("m", "The capital of Chile is teapot. Teapot is where the government of Chile meets.", "chile/capital", "consistent", "mislabel", "teapot"),
		noisyRec("g", "Teh aitpacl fo Chile si Santiago.", "chile/capital", "consistent", "garbled", ""),
		noisyRec("o", "Knead the dough for ten minutes.", "peru/language", "new", "offtopic", ""),
		sft("u", "Lima is the capital of Peru.", "peru/capital", "new", false, "Lima"),
	}
	recs[6].tokenized = "Something else entirely."
	// rowsOf are the rows byte i of r's answer counts in, and its loss
	rowsOf := func(r rec, i int) ([]string, float32) {
		if r.tokenized != r.d.Output {
			return []string{unaligned}, 2
		}
		m, out := r.d.Meta, r.d.Output
		// at tells whether byte i lies in the first occurrence of sub, or a later one
		at := func(sub string, fold bool) (first, later bool) {
			if fold {
				out, sub = strings.ToLower(out), strings.ToLower(sub)
			}
			for n, j := 0, 0; sub != ""; n++ {
				k := strings.Index(out[j:], sub)
				if k < 0 {
					break
				}
				if j+k <= i && i < j+k+len(sub) {
					return n == 0, n > 0
				}
				j += k + len(sub)
			}
			return false, false
		}
		switch m.Noise {
		case "mislabel":
			switch first, later := at(m.Label, true); {
			case first:
				return []string{"noisy · mislabel", "noisy · mislabel · value"}, 20
			case later:
				return []string{"noisy · mislabel", "noisy · mislabel · value"}, 10
			}
			return []string{"noisy · mislabel"}, 1
		case "garbled":
			return []string{"noisy · garbled"}, float32(5 + 3*(i%2))
		case "offtopic":
			return []string{"noisy · offtopic"}, 4
		}
		first, later := at(m.Label, false)
		kind := "value · kind " + m.Kind
		switch {
		case first:
			return []string{value, valueFirst, kind}, map[string]float32{"new": 20, "conflicting": 8, "consistent": 1}[m.Kind]
		case later:
			return []string{value, valueLater, kind}, 2
		}
		if first, later := at(entityOf(m.Fact), true); first || later {
			return []string{copied}, 1
		}
		return []string{template}, 0
	}
	type tallied struct {
		n       int
		loss, w float64
		regions [4]int
	}
	want := map[string]*tallied{}
	var all tallied
	in := files(t, dir, tok, recs, func(r rec, n int) []float32 {
		l := make([]float32, n)
		for k := range l {
			var rows []string
			if k < len(r.tokenized) {
				rows, l[k] = rowsOf(r, k)
			} else { // <|im_end|>, at loss 0: template, or the noisy or unaligned record's row
				rows, _ = rowsOf(r, -1)
				rows = rows[:1]
			}
			g := regionLoss[l[k]]
			for _, row := range append(rows, "") { // "": all targets
				w := &all
				if row != "" {
					if want[row] == nil {
						want[row] = new(tallied)
					}
					w = want[row]
				}
				w.n++
				w.loss += float64(l[k])
				w.w += g.w
				w.regions[g.region]++
			}
		}
		return l
	})
	// by hand: first mentions Corvane, Quito, yen; later Corvane, Quito;
	// the mislabel's value teapot and Teapot; copied Valdoria ×2, Peru ×2, Japan;
	// every noisy answer and the unaligned one with <|im_end|>
	for row, n := range map[string]int{valueFirst: 15, valueLater: 12, "noisy · mislabel · value": 12, copied: 29,
		"noisy · mislabel": 79, "noisy · garbled": 34, "noisy · offtopic": 33, unaligned: 25} {
		if want[row] == nil || want[row].n != n {
			t.Fatalf("test's own count of %s is off: %+v", row, want[row])
		}
	}
	in.regions = true
	rep, err := in.report()
	if err != nil {
		t.Fatal(err)
	}
	if rep.Targets != all.n || rep.UnalignedRecs != 1 || rep.Bins != nil || !slices.Equal(rep.Regions, []string{"known", "learning", "hard", "cut"}) {
		t.Errorf("targets %d (want %d), unaligned %d, bins %v, regions %v", rep.Targets, all.n, rep.UnalignedRecs, rep.Bins, rep.Regions)
	}
	names := []string{template, copied, value, valueFirst, valueLater, "value · kind new", "value · kind conflicting", "value · kind consistent",
		"noisy · mislabel", "noisy · mislabel · value", "noisy · garbled", "noisy · offtopic", unaligned}
	var got []string
	for _, r := range rep.Rows {
		got = append(got, r.Name)
	}
	if !slices.Equal(got, names) {
		t.Fatalf("rows %q, want %q", got, names)
	}
	const tol = 1e-5 // the weights above have 6 digits
	for _, r := range rep.Rows {
		w := want[r.Name]
		if r.Tokens != w.n || !near(r.Mean, w.loss/float64(w.n)) || r.TokenShare == nil || !near(*r.TokenShare, float64(w.n)/float64(all.n)) {
			t.Errorf("%s: %d tokens, mean %g, token share %v; want %d, %g, %g", r.Name, r.Tokens, r.Mean, r.TokenShare, w.n, w.loss/float64(w.n), float64(w.n)/float64(all.n))
		}
		for g, c := range w.regions {
			if !near(r.Shares[g], float64(c)/float64(w.n)) {
				t.Errorf("%s: region shares %v, want counts %v of %d", r.Name, r.Shares, w.regions, w.n)
				break
			}
		}
		if r.MeanWeight == nil || math.Abs(*r.MeanWeight-w.w/float64(w.n)) > tol || r.WeightShare == nil || math.Abs(*r.WeightShare-w.w/all.w) > tol {
			t.Errorf("%s: mean weight %v, weight share %v; want %g, %g", r.Name, r.MeanWeight, r.WeightShare, w.w/float64(w.n), w.w/all.w)
		}
	}
	// the rows' own fields, and the classes that partition the targets
	byName := map[string]Row{}
	for _, r := range rep.Rows {
		byName[r.Name] = r
	}
	if r := byName[valueFirst]; r.Class != value || r.Mention != "first" {
		t.Errorf("%s: class %q, mention %q", r.Name, r.Class, r.Mention)
	}
	if r := byName["noisy · mislabel"]; r.Class != "noisy" || r.Noise != "mislabel" {
		t.Errorf("%s: class %q, noise %q", r.Name, r.Class, r.Noise)
	}
	if r := byName["noisy · mislabel · value"]; r.Class != value || r.Noise != "mislabel" || r.Shares[3] != 0.5 || r.Shares[2] != 0.5 {
		t.Errorf("%s: class %q, noise %q, shares %v", r.Name, r.Class, r.Noise, r.Shares)
	}
	tokens, share := 0, 0.0
	for _, name := range []string{template, copied, value, "noisy · mislabel", "noisy · garbled", "noisy · offtopic", unaligned} {
		tokens += byName[name].Tokens
		share += *byName[name].WeightShare
	}
	if tokens != rep.Targets || !near(share, 1) {
		t.Errorf("the classes hold %d of %d targets and %g of the weight", tokens, rep.Targets, share)
	}

	t.Run("noisy without a type", func(t *testing.T) {
		recs := []rec{sft("a", "Velmorin: 20 mg.", "velmorin/dose", "new", true, "20 mg")}
		in := files(t, t.TempDir(), tok, recs, func(r rec, n int) []float32 { return make([]float32, n) })
		in.tokenizer, in.regions = dir, true
		wantErr(t, in, `"a"`, "meta.noise")
		in.regions = false // tools/world's records, as before
		if _, err := in.report(); err != nil {
			t.Error(err)
		}
	})
}

// TestRegionOutputs runs the command with --regions: the table's columns
// and the JSON's fields, which a run without it leaves out.
func TestRegionOutputs(t *testing.T) {
	dir := t.TempDir()
	tok := tokenizer(t, dir, 259, "x")
	recs := []rec{sft("a", "Velmorin: 20 mg.", "velmorin/dose", "new", false, "20 mg"),
		noisyRec("o", "Knead it.", "velmorin/dose", "new", "offtopic", "")}
	in := files(t, dir, tok, recs, func(r rec, n int) []float32 {
		l := make([]float32, n)
		for k := range l {
			l[k] = 4 // W 0.900250
			if r.d.Meta.Noise != "" {
				l[k] = 20 // W 0
			}
		}
		return l
	})
	table, js := runReport(t, dir, in, "--regions")
	// 17 clean targets (template 4, copied 8, value 5, all first mention) and 10 off-topic ones, 27 in all
	hasLines(t, string(table),
		"| class | tokens | token share | mean loss | median | known | learning | hard | cut | mean weight | weight share |",
		"| template | 4 | 0.148 | 4.000 | 4.000 | 0.000 | 1.000 | 0.000 | 0.000 | 0.900 | 0.235 |",
		"| value · first mention | 5 | 0.185 | 4.000 | 4.000 | 0.000 | 1.000 | 0.000 | 0.000 | 0.900 | 0.294 |",
		"| noisy · offtopic | 10 | 0.370 | 20.000 | 20.000 | 0.000 | 0.000 | 0.000 | 1.000 | 0.000 | 0.000 |",
	)
	if strings.Contains(string(table), "later mentions") || strings.Contains(string(table), "NLIRG weight*") {
		t.Errorf("table has an empty later-mentions row or the bins' weights:\n%s", table)
	}
	var rep Report
	b, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	off := rep.Rows[len(rep.Rows)-1]
	if rep.Bins != nil || len(rep.Regions) != 4 || off.Name != "noisy · offtopic" || off.Noise != "offtopic" ||
		off.TokenShare == nil || !near(*off.TokenShare, 10/27.0) || off.WeightShare == nil || *off.WeightShare != 0 || off.Shares[3] != 1 {
		t.Errorf("JSON %s", b)
	}
	// without --regions, none of it
	runReport(t, dir, in)
	if b, err = os.ReadFile(js); err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{`"regions"`, `"token_share"`, `"mean_weight"`, `"weight_share"`, `"noise"`, `"mention"`} {
		if strings.Contains(string(b), field) {
			t.Errorf("JSON without --regions has %s", field)
		}
	}

	// an empty row, and targets that all weigh 0, have no mean weight or weight share
	tl := newRegionTally()
	tl.addRegion(template, "", "", 20)
	empty := &Report{Regions: weighting.RegionNames[:], Rows: tl.rows()}
	hasLines(t, empty.Markdown(), "| template | 1 | 1.000 | 20.000 | 20.000 | 0.000 | 0.000 | 0.000 | 1.000 | 0.000 | – |",
		"| value | 0 | 0.000 | – | – | 0.000 | 0.000 | 0.000 | 0.000 | – | – |")
	if b, err = empty.JSON(); err != nil || strings.Count(string(b), "mean_weight") != 1 || strings.Contains(string(b), "weight_share") {
		t.Errorf("JSON %s, %v", b, err)
	}
}

// runReport runs tokenclass on in with extra flags, writing into dir, and
// returns the markdown table and the JSON file's path.
func runReport(t *testing.T, dir string, in inputs, extra ...string) (table []byte, js string) {
	t.Helper()
	md := filepath.Join(dir, "out.md")
	js = filepath.Join(dir, "out.json")
	args := []string{"--tokenizer", in.tokenizer, "--data", in.data, "--tokens", in.tokens, "--scores", in.scores, "-o", md, "--json", js}
	if err := run(append(args, extra...)); err != nil {
		t.Fatal(err)
	}
	table, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	return table, js
}

// hasLines fails t for each line the markdown table lacks.
func hasLines(t *testing.T, table string, lines ...string) {
	t.Helper()
	for _, line := range lines {
		if !strings.Contains(table, line) {
			t.Errorf("table has no line %q:\n%s", line, table)
		}
	}
}
