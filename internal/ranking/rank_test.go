package ranking

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ytrain/ytrain/formats"
	"github.com/ytrain/ytrain/internal/corpus"
)

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// scoreLine is a score record whose perplexity is e^meanLoss.
func scoreLine(id string, loss ...float32) string {
	s := formats.Score{ID: id, Loss: loss, Entropy: make([]float32, len(loss)), NTargets: int32(len(loss))}
	b, _ := json.Marshal(s)
	return string(b) + "\n"
}

// TestRecordIDs checks that rank names records without an id exactly as
// tokenize does (corpus), in every data encoding.
func TestRecordIDs(t *testing.T) {
	dir := t.TempDir()
	files := []string{
		write(t, dir, "a.jsonl", `{"text":"one","id":"x"}`+"\n\n"+`{"text":"two"}`+"\n"+`{"id":12.50,"text":"three"}`+"\n"+`{"text":"four","id":null}`+"\n"),
		write(t, dir, "b.json", "[\n  {\"text\": \"one\"},\n  {\n    \"id\": 3,\n    \"text\": \"two\"\n  }\n]\n"),
		write(t, dir, "c.csv", "id,text\n,one\nq,\"two\nlines\"\n"),
		write(t, dir, "d.txt", "one\n\n  two\n"),
	}
	for _, p := range files {
		rs, err := ReadRecords([]string{p}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for ex, err := range corpus.Examples([]string{p}, "auto", nil, corpus.CPT) {
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, ex.ID)
		}
		var got []string
		for _, r := range rs.List {
			got = append(got, r.ID)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: ids %q, tokenize names them %q", filepath.Base(p), got, want)
		}
	}
}

func rankAndWrite(t *testing.T, opt Options, encodingFlag string) (string, *Ranking) {
	t.Helper()
	rk, err := Rank(opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	encoding, err := rk.Records.OutputEncoding(encodingFlag, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := rk.Records.Write(&buf, encoding, rk.Results, rk.Order); err != nil {
		t.Fatal(err)
	}
	return buf.String(), rk
}

func TestRankDataFile(t *testing.T) {
	dir := t.TempDir()
	// A pretty-printed JSON array: comes back as an array, one compact
	// record per line, every field in its order, an old "score" replaced
	// and each record carrying its own score (Y-Trainer's bug).
	data := write(t, dir, "data.json", `[
  {"instruction": "a <b>", "output": "x", "score": 99},
  {"id": "k", "instruction": "b", "output": "y", "extra": {"n": [1, 2]}},
  {"instruction": "c", "output": "z"}
]`)
	scores := write(t, dir, "s.jsonl", scoreLine("data.json:3", 2)+scoreLine("data.json:1", 1)+scoreLine("k", 3))
	out, rk := rankAndWrite(t, Options{Scores: []string{scores}, Records: []string{data}, Mode: ModeOptions{Mode: PPL}, Plan: Plan{Desc: true}}, "")
	want := `[
{"id":"k","instruction":"b","output":"y","extra":{"n":[1,2]},"score":20.08554,"rank_reason":"ppl 20.09 (mean loss 3.000 over 1 target)"},
{"instruction":"c","output":"z","score":7.389056,"rank_reason":"ppl 7.389 (mean loss 2.000 over 1 target)"},
{"instruction":"a <b>","output":"x","score":2.718282,"rank_reason":"ppl 2.718 (mean loss 1.000 over 1 target)"}
]
`
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
	var rep strings.Builder
	if err := rk.Report(&rep, ModeOptions{Mode: PPL}, Plan{Desc: true}, 2); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		"- records: 3 scored; wrote 3, desc (highest first)",
		"- score: min 2.718282, median 7.389056, max 20.08554",
		"| 1 | k | 20.08554 | 100 | 1 | ppl 20.09 (mean loss 3.000 over 1 target) |",
		"| 2 | data.json:3 | 7.389056 | 67 | 2 |",
	} {
		if !strings.Contains(rep.String(), s) {
			t.Errorf("report lacks %q:\n%s", s, rep.String())
		}
	}
	if strings.Contains(rep.String(), "| 3 |") {
		t.Errorf("report lists more than --worst 2:\n%s", rep.String())
	}

	// The same as JSON Lines, ascending, the worst dropped: the report
	// still lists it, as dropped.
	out, rk = rankAndWrite(t, Options{Scores: []string{scores}, Records: []string{data}, Mode: ModeOptions{Mode: PPL}, Plan: Plan{DropWorst: 0.34}}, "jsonl")
	if n := strings.Count(out, "\n"); n != 2 || !strings.HasPrefix(out, `{"instruction":"a <b>"`) {
		t.Errorf("asc, worst dropped:\n%s", out)
	}
	rep.Reset()
	rk.Report(&rep, ModeOptions{Mode: PPL}, Plan{DropWorst: 0.34}, 1)
	for _, s := range []string{"dropped 1 (--drop-above 0, --drop-worst 1, --keep-band 0)", "written: 2.718282 to 7.389056", "| 1 | k | 20.08554 | 100 | dropped |"} {
		if !strings.Contains(rep.String(), s) {
			t.Errorf("report lacks %q:\n%s", s, rep.String())
		}
	}
}

func TestRankTokenRecords(t *testing.T) {
	dir := t.TempDir()
	tokens := write(t, dir, "tok.jsonl", `{"id":"a","input_ids":[1,2],"loss_mask":[0,1],"meta":{"src":"faq","rank_score":5}}
{"id":"b","input_ids":[1,3],"loss_mask":[0,1]}
`)
	scores := write(t, dir, "s.jsonl", scoreLine("a", 1)+scoreLine("b", 2))
	opt := Options{Scores: []string{scores}, Records: []string{tokens}, Mode: ModeOptions{Mode: Divergence, SmoothWindow: 3, ZThreshold: 1.96}, Plan: Plan{Desc: true}}
	out, _ := rankAndWrite(t, opt, "jsonl")
	want := `{"id":"a","input_ids":[1,2],"loss_mask":[0,1],"meta":{"src":"faq","rank_score":0,"rank_reason":"anomaly 0.000 over 1 target","rank_spans":[]}}
{"id":"b","input_ids":[1,3],"loss_mask":[0,1],"meta":{"rank_score":0,"rank_reason":"anomaly 0.000 over 1 target","rank_spans":[]}}
`
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}

	// Arrow in, Arrow out (the default for a pipe), token records throughout.
	var arrow bytes.Buffer
	w := formats.NewWriter(&arrow, formats.Arrow, formats.TokenCodec)
	w.Write(&formats.Token{ID: "a", InputIDs: []int32{1, 2}, LossMask: formats.Mask{0, 1}})
	w.Write(&formats.Token{ID: "b", InputIDs: []int32{1, 3}, LossMask: formats.Mask{0, 1}, Meta: json.RawMessage(`"note"`)})
	w.Close()
	tokArrow := write(t, dir, "tok.arrow", arrow.String())
	rk, err := Rank(Options{Scores: []string{scores}, Records: []string{tokArrow}, Mode: ModeOptions{Mode: PPL}, Plan: Plan{Desc: true}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if encoding, err := rk.Records.OutputEncoding("", "", nil); err != nil || encoding != "arrow" {
		t.Errorf("token output encoding %q %v, want arrow", encoding, err)
	}
	if _, err := rk.Records.OutputEncoding("json", "", nil); err == nil {
		t.Error("token records as a JSON array accepted")
	}
	err = rk.Records.Write(io.Discard, "arrow", rk.Results, rk.Order)
	if err == nil || !strings.Contains(err.Error(), `meta is "note", not a JSON object`) {
		t.Errorf("string meta: %v", err)
	}
	var buf bytes.Buffer
	rk.Records.List[1].token.Meta = nil
	if err := rk.Records.Write(&buf, "arrow", rk.Results, rk.Order); err != nil {
		t.Fatal(err)
	}
	rd, err := formats.NewReader(&buf, "out", formats.TokenCodec)
	if err != nil {
		t.Fatal(err)
	}
	first, err := rd.Next()
	if err != nil || first.ID != "b" || string(first.Meta) != `{"rank_score":7.389056,"rank_reason":"ppl 7.389 (mean loss 2.000 over 1 target)"}` {
		t.Errorf("first arrow record %+v %v", first, err)
	}
}

func TestRankErrors(t *testing.T) {
	dir := t.TempDir()
	data := write(t, dir, "d.jsonl", `{"id":"a","text":"x"}`+"\n"+`{"id":"b","text":"y"}`+"\n")
	ab := write(t, dir, "ab.jsonl", scoreLine("a", 1)+scoreLine("b", 1))
	ppl := ModeOptions{Mode: PPL}
	for _, c := range []struct {
		name    string
		opt     Options
		wantErr string
	}{
		{"unscored", Options{Scores: []string{write(t, dir, "a.jsonl", scoreLine("a", 1))}, Records: []string{data}},
			`d.jsonl:2: record "b" has no score`},
		{"stray score", Options{Scores: []string{write(t, dir, "abc.jsonl", scoreLine("a", 1)+scoreLine("b", 1)+scoreLine("c", 1))}, Records: []string{data}},
			`abc.jsonl:3: 1 score records match no record, e.g. "c"`},
		{"duplicate score", Options{Scores: []string{write(t, dir, "aa.jsonl", scoreLine("a", 1)+scoreLine("a", 2))}, Records: []string{data}},
			`aa.jsonl:2: duplicate score for id "a" (first at`},
		{"duplicate record", Options{Scores: []string{ab}, Records: []string{data, data}},
			`d.jsonl:1: duplicate id "a" (first at`},
		{"token and data records mixed", Options{Scores: []string{ab}, Records: []string{data, write(t, dir, "t.jsonl", `{"id":"c","input_ids":[1],"loss_mask":[0]}`+"\n")}},
			"token records and data records cannot be ranked together"},
		{"bad token record", Options{Scores: []string{ab}, Records: []string{write(t, dir, "bad.jsonl", `{"id":"c","input_ids":[1,2],"loss_mask":[0]}`+"\n")}},
			`bad.jsonl:1: record "c": 2 input_ids but 1 loss_mask values`},
		{"bad id", Options{Scores: []string{ab}, Records: []string{write(t, dir, "id.jsonl", `{"id":[1],"text":"x"}`+"\n")}},
			`id.jsonl:1: field "id": want a string or number`},
		{"not an object", Options{Scores: []string{ab}, Records: []string{write(t, dir, "arr.json", `[{"id":"a"}, 3]`)}},
			"arr.json:1: want a JSON object"},
		{"empty", Options{Scores: []string{ab}, Records: []string{write(t, dir, "e.json", `[]`)}},
			"e.json: empty input (no records)"},
		{"ifd without prompt-free", Options{Scores: []string{ab}, Records: []string{data}, Mode: ModeOptions{Mode: IFD}},
			"ab.jsonl:1: score record \"a\" has no prompt-free loss: --mode ifd needs the output of score --prompt-free"},
		{"two stdins", Options{Scores: []string{"-"}, Records: []string{"-"}}, `stdin ("-") can be read once`},
		{"no records", Options{Scores: []string{ab}}, "no records given"},
	} {
		if c.opt.Mode.Mode == "" {
			c.opt.Mode = ppl
		}
		_, err := Rank(c.opt, strings.NewReader(""))
		if err == nil || !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.wantErr)
		}
	}

	rk, err := Rank(Options{Scores: []string{write(t, dir, "b.jsonl", scoreLine("b", 1))}, Records: []string{data}, Mode: ppl, SkipUnscored: true}, nil)
	if err != nil || rk.Unscored != 1 || len(rk.Order) != 1 || rk.Records.List[rk.Order[0]].ID != "b" {
		t.Errorf("--skip-unscored: %+v %v", rk, err)
	}
}

func TestOutputEncoding(t *testing.T) {
	data := &Records{Encoding: "csv"}
	for _, c := range []struct{ flag, out, want string }{
		{"", "", "jsonl"}, {"", "x.json", "json"}, {"", "x.ndjson", "jsonl"}, {"json", "x.jsonl", "json"},
	} {
		if got, err := data.OutputEncoding(c.flag, c.out, nil); err != nil || got != c.want {
			t.Errorf("--encoding %q -o %q: %q %v, want %q", c.flag, c.out, got, err, c.want)
		}
	}
	if got, _ := (&Records{Encoding: "json"}).OutputEncoding("", "", nil); got != "json" {
		t.Errorf("JSON array input: %q, want json", got)
	}
	for _, c := range []struct{ flag, out string }{{"arrow", ""}, {"", "x.arrow"}, {"csv", ""}} {
		if _, err := data.OutputEncoding(c.flag, c.out, nil); err == nil {
			t.Errorf("data records with --encoding %q -o %q accepted", c.flag, c.out)
		}
	}
}

func TestNum(t *testing.T) {
	for v, want := range map[float64]string{0.5348089123: "0.5348089", 20.085536923: "20.08554", 1e-9: "1e-09", 3: "3"} {
		if got := Num(v); got != want {
			t.Errorf("Num(%v) = %q, want %q", v, got, want)
		}
	}
	negZero := 0.0
	negZero = -negZero
	if Num(negZero) != "0" {
		t.Errorf("Num(-0) = %q", Num(negZero))
	}
}

// A score that overflows float64 (ppl of a mean loss above ~709) or is NaN
// still makes valid JSON.
func TestNonFiniteScoresWriteJSON(t *testing.T) {
	if Num(math.Inf(1)) != "1.797693e+308" || Num(math.Inf(-1)) != "-1.797693e+308" || Num(math.NaN()) != "null" {
		t.Fatalf("Num: %s %s %s", Num(math.Inf(1)), Num(math.Inf(-1)), Num(math.NaN()))
	}
	dir := t.TempDir()
	data := write(t, dir, "d.jsonl", `{"id":"a","text":"x"}`+"\n"+`{"id":"b","text":"y"}`+"\n")
	scores := write(t, dir, "s.jsonl", scoreLine("a", 800)+scoreLine("b", 1))
	for _, enc := range []string{"jsonl", "json"} {
		out, _ := rankAndWrite(t, Options{Scores: []string{scores}, Records: []string{data}, Mode: ModeOptions{Mode: PPL}}, enc)
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if enc == "jsonl" && !json.Valid([]byte(line)) {
				t.Fatalf("invalid JSON line %s", line)
			}
		}
		if enc == "json" && !json.Valid([]byte(out)) {
			t.Fatalf("invalid JSON %s", out)
		}
		if !strings.Contains(out, `"score":1.797693e+308`) {
			t.Fatalf("%s: %s", enc, out)
		}
	}
}
