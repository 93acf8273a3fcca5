package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(v)
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Two arms' evaluate summaries become the table and summary.json, with the
// changes against the base computed from them.
func TestSummary(t *testing.T) {
	dir := t.TempDir()
	arm := func(name string, acc, gen, loss float64, answer string) {
		d := filepath.Join(dir, name)
		writeJSON(t, filepath.Join(d, "domain.test.eval.json"), map[string]any{"samples": 2, "accuracy": acc, "seq_rep_4": 0.1, "truncated_share": 0.5,
			"by": map[string]any{"new": map[string]any{"accuracy": acc / 2}}})
		writeJSON(t, filepath.Join(d, "general.test.eval.json"), map[string]any{"samples": 2, "accuracy": gen, "truncated_share": 0})
		writeJSON(t, filepath.Join(d, "domain.trainq.eval.json"), map[string]any{"samples": 1, "accuracy": 1})
		writeJSON(t, filepath.Join(d, "heldout.json"), map[string]any{"score_mean_loss": loss})
		writeJSON(t, filepath.Join(d, "domain.test.choices.json"), map[string]any{"chance_corrected_accuracy": 0.3})
		writeJSON(t, filepath.Join(d, "domain.test.answers.jsonl"), map[string]any{"id": "q1", "response": answer})
	}
	arm("base", 0.25, 0.8, 1.0, "no idea")
	arm("sft", 0.75, 0.6, 1.5, "20 mg")
	test := filepath.Join(dir, "test.jsonl")
	writeJSON(t, test, map[string]any{"id": "q1", "prompt": "Dose of X?", "reference": "20 mg", "meta": map[string]any{"kind": "new"}})
	out := filepath.Join(dir, "summary.json")
	var stdout strings.Builder
	if err := run([]string{"--dir", dir, "--root", dir, "--arms", "base sft", "--train", test, "--test", test, "-o", out}, &stdout); err != nil {
		t.Fatal(err)
	}
	var s summary
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	sft := s.Arms["sft"]
	if s.Test != "test.jsonl" || sft.Answers != filepath.Join("sft", "domain.test.answers.jsonl") {
		t.Errorf("paths not relative to --root: %q, %q", s.Test, sft.Answers)
	}
	if sft.DomainAccuracy != 0.75 || sft.DomainAccuracyByKind["new"] != 0.375 || sft.GeneralLossChange != 0.5 ||
		sft.GeneralKept == nil || math.Abs(*sft.GeneralKept-0.75) > 1e-12 || sft.NoStop != 0.25 || sft.NoiseReproduced != nil {
		t.Errorf("sft arm %+v", sft)
	}
	for _, want := range []string{"| sft | 0.38 |", "+0.500", "- sft: 20 mg", "**Dose of X?** (new fact; reference: 20 mg)"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, stdout.String())
		}
	}
}

// On your own data (demo/Makefile's TRAIN=…) an arm has only the domain test
// and the held-out loss, the questions may have no id nor kind: the other
// measures are "–" in the table and absent from summary.json, and the
// example answers are found by the ids the tools give (FILE:N).
func TestSummaryOwnData(t *testing.T) {
	dir := t.TempDir()
	test := filepath.Join(dir, "test.jsonl")
	writeJSON(t, test, map[string]any{"prompt": "Dose of X?", "reference": "20 mg"})
	for name, answer := range map[string]string{"base": "no idea", "sft": "20 mg"} {
		d := filepath.Join(dir, name)
		writeJSON(t, filepath.Join(d, "domain.test.eval.json"), map[string]any{"samples": 1, "accuracy": 0.5, "seq_rep_4": 0.1, "truncated_share": 1})
		writeJSON(t, filepath.Join(d, "heldout.json"), map[string]any{"score_mean_loss": 2})
		writeJSON(t, filepath.Join(d, "domain.test.answers.jsonl"), map[string]any{"id": "test.jsonl:1", "response": answer})
	}
	out := filepath.Join(dir, "summary.json")
	var stdout strings.Builder
	if err := run([]string{"--dir", dir, "--arms", "base sft", "--train", test, "--test", test, "-o", out}, &stdout); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, absent := range []string{"general_accuracy", "choice_accuracy", "train_paraphrase", "by_kind"} {
		if strings.Contains(string(b), absent) {
			t.Errorf("summary.json has %s without its question set:\n%s", absent, b)
		}
	}
	for _, want := range []string{"| sft | – | – | – | **0.50** | – | – | +0.000 | 0.100 | 1.00 | – | – |", "**Dose of X?** (reference: 20 mg)", "- sft: 20 mg"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, stdout.String())
		}
	}
}
