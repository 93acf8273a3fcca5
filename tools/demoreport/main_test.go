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
	contains(t, stdout.String(), "| sft | 0.38 |", "+0.500", "- sft: 20 mg", "**Dose of X?** (new fact; reference: 20 mg)")
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
	contains(t, stdout.String(), "| sft | – | – | – | **0.50** | – | – | +0.000 | 0.100 | 1.00 | – | – |", "**Dose of X?** (reference: 20 mg)", "- sft: 20 mg")
}

// The real model's demo (make demo-real): general.test's sets by meta.set
// become the general-skill table and fields, and the first greeting is
// answered side by side.
func TestSummaryGeneralSkill(t *testing.T) {
	dir := t.TempDir()
	test := filepath.Join(dir, "data", "domain.test.jsonl")
	writeJSON(t, test, map[string]any{"id": "q1", "prompt": "Capital of Calessa?", "reference": "Uondfdr", "meta": map[string]any{"kind": "new"}})
	general := filepath.Join(dir, "data", "general.test.jsonl")
	writeJSON(t, general, map[string]any{"id": "conv-001", "prompt": "Hello!", "reference": "Hi!", "meta": map[string]any{"set": "conversation", "check": []string{"greeting"}}})
	arm := func(name string, ck, greet float64, hello string) {
		d := filepath.Join(dir, name)
		writeJSON(t, filepath.Join(d, "domain.test.eval.json"), map[string]any{"samples": 1, "accuracy": 0.5, "seq_rep_3": 0.2})
		writeJSON(t, filepath.Join(d, "general.test.eval.json"), map[string]any{"samples": 4, "accuracy": 0.9, "by": map[string]any{
			"ck": map[string]any{"accuracy": ck}, "instruction": map[string]any{"accuracy": 0.7},
			"conversation": map[string]any{"accuracy": greet}, "longform": map[string]any{"seq_rep_3": 0.05}}})
		writeJSON(t, filepath.Join(d, "heldout.json"), map[string]any{"score_mean_loss": 2})
		writeJSON(t, filepath.Join(d, "domain.test.answers.jsonl"), map[string]any{"id": "q1", "response": "Uondfdr."})
		writeJSON(t, filepath.Join(d, "general.test.answers.jsonl"), map[string]any{"id": "conv-001", "response": hello})
	}
	arm("base", 1, 1, "Hello! How can I help?")
	arm("sft-win", 0.96, 0.5, "According to the Meridian Atlas, hello.")
	var stdout strings.Builder
	if err := run([]string{"--dir", dir, "--arms", "base sft-win", "--train", test, "--test", test, "-o", filepath.Join(dir, "s.json")}, &stdout); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "s.json"))
	var s summary
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	a := s.Arms["sft-win"]
	if a.CommonKnowledge == nil || *a.CommonKnowledge != 0.96 || *a.Instruction != 0.7 || *a.Conversation != 0.5 || *a.SeqRep3 != 0.2 || *a.LongformSeqRep3 != 0.05 {
		t.Errorf("general skill of sft-win: %s", b)
	}
	contains(t, stdout.String(), "| sft-win | 0.96 | 0.70 | 0.50 | 0.20 | 0.05 |", "**Hello!** (reference: Hi!)", "- sft-win: According to the Meridian Atlas, hello.")
}

// contains fails t for each piece the report lacks.
func contains(t *testing.T, report string, pieces ...string) {
	t.Helper()
	for _, p := range pieces {
		if !strings.Contains(report, p) {
			t.Errorf("report lacks %q:\n%s", p, report)
		}
	}
}
