package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// A report made from --pack's archive is the report made from the runs
// folder (but for the name of RUNS it states); the archive holds only the
// files and fields the report reads, and the same rows pack to the same bytes.
func TestPackRoundTrip(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	runs := filepath.Join(dir, "runs")
	makeFixture(t, runs, []string{"0", "0.2"})
	// what a demo run holds besides: its data, answers, models, an arm's
	// curve (a checkpoint's own files), and rows with fields the report skips
	arm := filepath.Join(runs, "n0-d1-i1", "sft-lr1e-3")
	ck := filepath.Join(arm, "curve", "checkpoint-4")
	for _, d := range []string{filepath.Join(runs, "n0-d1-i1", "data"), filepath.Join(arm, "run", "merged"), ck} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, body := range map[string]string{
		filepath.Join(runs, "n0-d1-i1", "data", "domain.test.jsonl"): `{"prompt": "x"}`,
		filepath.Join(arm, "run", "merged", "model.safetensors"):     "weights",
		filepath.Join(arm, "domain.test.answers.jsonl"):              `{"answer": "x"}`,
		filepath.Join(ck, "heldout.json"):                            `{"score_mean_loss": 2.51, "score_ppl": 12.3}`,
	} {
		if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"domain.test.samples.jsonl", "general.test.samples.jsonl"} {
		b, _ := os.ReadFile(filepath.Join(arm, f))
		b = bytes.ReplaceAll(b, []byte(`"meta":{`), []byte(`"meta":{"choices":["a","b"],`))
		if err := os.WriteFile(filepath.Join(ck, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	archive, again := filepath.Join(dir, "rows.tar.gz"), filepath.Join(dir, "again.tar.gz")
	for _, a := range []string{archive, again} {
		if err := run([]string{"--pack", a, runs}, &bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
	}
	a1, _ := os.ReadFile(archive)
	a2, _ := os.ReadFile(again)
	if !bytes.Equal(a1, a2) {
		t.Error("the same runs packed to different bytes")
	}
	names, body := readTar(t, archive)
	for _, n := range names {
		if !strings.HasSuffix(n, ".samples.jsonl") && !strings.HasSuffix(n, "heldout.json") {
			t.Errorf("archive holds %s, which the report does not read", n)
		}
	}
	if c := body["n0-d1-i1/sft-lr1e-3/curve/checkpoint-4/domain.test.samples.jsonl"]; c == "" || strings.Contains(c, "choices") || strings.Contains(c, "length") {
		t.Errorf("checkpoint rows %q: want them, cut to the fields read", c)
	}
	if h := body["n0-d1-i1/sft-lr1e-3/curve/checkpoint-4/heldout.json"]; h != `{"score_mean_loss":2.51}`+"\n" {
		t.Errorf("heldout.json packed as %q", h)
	}

	for _, args := range [][]string{{"--resamples", "300"}, {"--resamples", "300", "--resample-seeds", "--final"}} {
		if args[len(args)-1] == "--final" { // one lr per arm
			matches, _ := filepath.Glob(filepath.Join(runs, "n*", "*-lr*"))
			for _, m := range matches {
				if !strings.HasSuffix(m, "-lr1e-3") {
					os.RemoveAll(m)
				}
			}
			if err := run([]string{"--pack", archive, runs}, &bytes.Buffer{}); err != nil {
				t.Fatal(err)
			}
		}
		fromDir, fromArchive := filepath.Join(dir, "dir"), filepath.Join(dir, "archive")
		if err := run(append(args, "-o", fromDir, runs), &bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
		if err := run(append(args, "-o", fromArchive, archive), &bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
		files, _ := os.ReadDir(fromDir)
		for _, f := range files {
			a, _ := os.ReadFile(filepath.Join(fromDir, f.Name()))
			b, err := os.ReadFile(filepath.Join(fromArchive, f.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a, bytes.ReplaceAll(b, []byte(archive), []byte(runs))) {
				t.Errorf("%v: %s from the archive differs from the folder's", args, f.Name())
			}
		}
	}
}

func readTar(t *testing.T, name string) ([]string, map[string]string) {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var names []string
	body := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		names = append(names, h.Name)
		body[h.Name] = string(b)
	}
	if !sort.StringsAreSorted(names) {
		t.Errorf("archive names out of order: %v", names)
	}
	return names, body
}

// Every committed report whose rows are committed (experiment/results/
// STAGE/runs.tar.gz, made by experiment/reports.sh save) is made again from
// them, with its expreport.flags, byte for byte; make experiment-reports
// does the same through the binary. -short skips it (a stage of 48 runs
// takes a minute or so on two cores).
func TestCommittedReports(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the committed reports are not made again")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	stages, _ := filepath.Glob(filepath.Join(root, "experiment", "results", "*", "runs"+archiveExt))
	if len(stages) == 0 {
		t.Skip("no committed rows")
	}
	t.Chdir(root) // the report names RUNS as given: experiment/results/STAGE/runs.tar.gz
	for _, archive := range stages {
		stage := filepath.Dir(archive)
		rel, _ := filepath.Rel(root, stage)
		t.Run(filepath.Base(stage), func(t *testing.T) {
			flags, err := os.ReadFile(filepath.Join(stage, "expreport.flags"))
			if err != nil {
				t.Fatal(err)
			}
			c, err := parseArgs(append(strings.Fields(string(flags)), filepath.ToSlash(filepath.Join(rel, "runs"+archiveExt))), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			files, err := build(c.o, func(string) {})
			if err != nil {
				t.Fatal(err)
			}
			made := map[string]bool{}
			for _, f := range files {
				made[f.name] = true
				b, err := os.ReadFile(filepath.Join(stage, f.name))
				if err != nil {
					t.Errorf("%s: made again, not committed: %v", f.name, err)
					continue
				}
				if !bytes.Equal(b, f.data) {
					t.Errorf("%s differs from the committed one (make experiment-reports leaves both to diff)", f.name)
				}
			}
			committed, _ := os.ReadDir(stage)
			for _, e := range committed {
				if n := e.Name(); !made[n] && n != "runs"+archiveExt && n != "expreport.flags" {
					t.Errorf("%s: committed, not made by the report", n)
				}
			}
		})
	}
}

// A choices row that gives its number of candidates only by meta.choices
// keeps them; an answer row's choice list is dropped, as are fields the
// report does not read; numbers stay as written.
func TestCutRows(t *testing.T) {
	in := `{"question": "q4", "correct": false, "pick": "c1", "meta": {"fact": "d/dose", "kind": "new", "choices": ["1", "2"]}}
{"question": "q5", "candidates": 3, "correct": true, "credit": 0.5, "meta": {"fact": "e/dose", "choices": ["1", "2"]}}
`
	got, err := cutRows([]byte(in), true)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"correct":false,"meta":{"choices":["1","2"],"fact":"d/dose","kind":"new"},"question":"q4"}
{"candidates":3,"correct":true,"credit":0.5,"meta":{"fact":"e/dose"},"question":"q5"}
`
	if string(got) != want {
		t.Errorf("choices rows cut to\n%s\nwant\n%s", got, want)
	}
	got, err = cutRows([]byte(`{"id": "a", "length": 5, "seq_rep_4": 0.10000000000000001, "correct": true, "meta": {"fact": "f", "kind": "new", "choices": ["x"]}}`), false)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"correct":true,"id":"a","meta":{"fact":"f","kind":"new"},"seq_rep_4":0.10000000000000001}` + "\n"; string(got) != want {
		t.Errorf("answer row cut to %s, want %s", got, want)
	}
}
