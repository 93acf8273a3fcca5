// Package demo_test runs demo/Makefile as README's "on your own model and
// data" line does, on a tiny model: the tools built from this tree (BIN=),
// one epoch, short answers.
package demo_test

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ytrain/ytrain/internal/testenv"
)

// make -C demo demo BASE= TRAIN= TEST= GENERAL= runs every arm but sft-mix,
// saying why sft-mix is skipped, and writes the summary with the measures
// own data has; with GENERAL_MIX= the sft-mix arm runs too.
func TestOwnData(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the tools and trains four arms")
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	bin := testenv.Tools(t, "tokenize", "score", "rank", "train", "generate", "evaluate", "tinymodel")
	work := t.TempDir()
	base := filepath.Join(work, "base")
	// a tiny model on the committed demo base's tokenizer (its chat template and eos)
	tiny := exec.Command(filepath.Join(bin, "tinymodel"), "--tokenizer", "base", "--hidden", "32", "--layers", "1",
		"--heads", "2", "--kv-heads", "1", "--intermediate", "64", "--tied", "--seed", "1", "-o", base)
	if out, err := tiny.CombinedOutput(); err != nil {
		t.Fatalf("tinymodel: %v\n%s", err, out)
	}

	// your own data: SFT records and questions without ids or meta, prose
	var train, test, mix, general strings.Builder
	towns := []string{"Ashford", "Brill", "Corran", "Dunmore", "Eskdale", "Fenwick", "Garth", "Holm"}
	for i, town := range towns {
		code := fmt.Sprintf("K%d", 10+i)
		fmt.Fprintf(&train, `{"instruction":"What is the code of %s?","output":"The code of %s is %s."}`+"\n", town, town, code)
		fmt.Fprintf(&train, `{"instruction":"Which code does %s use?","output":"%s uses the code %s."}`+"\n", town, town, code)
		fmt.Fprintf(&mix, `{"instruction":"Where is %s?","output":"%s is by the river."}`+"\n", town, town)
		fmt.Fprintf(&general, "The mill at %s turned all winter, and the baker sold bread at dawn.\n", town)
		if i < 4 {
			fmt.Fprintf(&test, `{"prompt":"Tell me the code of %s.","reference":"%s"}`+"\n", town, code)
		}
	}
	files := map[string]string{"train.jsonl": train.String(), "test.jsonl": test.String(), "mix.jsonl": mix.String(), "general.txt": general.String()}
	for name, s := range files {
		if err := os.WriteFile(filepath.Join(work, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(work, "out")
	demo := func(extra ...string) string {
		t.Helper()
		args := append([]string{"-C", ".", "--no-print-directory", "demo", "BIN=" + bin, "OUT=" + out, "BASE=" + base,
			"TRAIN=" + filepath.Join(work, "train.jsonl"), "TEST=" + filepath.Join(work, "test.jsonl"),
			"GENERAL=" + filepath.Join(work, "general.txt"), "EPOCHS=1", "MAXNEW=16", "THREADS=1"}, extra...)
		cmd := exec.Command("make", args...)
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("make %s: %v\n%s", strings.Join(args, " "), err, b)
		}
		return string(b)
	}
	type summary struct {
		Order []string
		Arms  map[string]map[string]any
	}
	read := func() summary {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(out, "summary.json"))
		if err != nil {
			t.Fatal(err)
		}
		var s summary
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatal(err)
		}
		return s
	}

	log := demo()
	if !strings.Contains(log, "demo: skipping sft-mix") || !strings.Contains(log, "GENERAL_MIX=") {
		t.Errorf("no line says why sft-mix is skipped:\n%s", log)
	}
	s := read()
	if want := []string{"base", "sft", "nlirg", "nlirg-auto"}; !slices.Equal(s.Order, want) {
		t.Fatalf("arms %v, want %v", s.Order, want)
	}
	for _, name := range s.Order {
		a := s.Arms[name]
		loss, _ := a["general_loss"].(float64)
		change, _ := a["general_loss_change"].(float64)
		if _, ok := a["domain_accuracy"].(float64); !ok || loss <= 0 || math.IsInf(loss, 0) {
			t.Errorf("%s: %v", name, a)
		}
		if _, ok := a["general_accuracy"]; ok {
			t.Errorf("%s: a general QA accuracy without general questions: %v", name, a)
		}
		if name != "base" && change == 0 {
			t.Errorf("%s: the held-out loss is the base's: nothing was trained", name)
		}
	}

	demo("GENERAL_MIX="+filepath.Join(work, "mix.jsonl"), "ARMS=sft-mix")
	if s := read(); !slices.Equal(s.Order, []string{"base", "sft-mix"}) || s.Arms["sft-mix"]["general_loss_change"] == 0.0 {
		t.Errorf("with GENERAL_MIX: arms %v, sft-mix %v", s.Order, s.Arms["sft-mix"])
	}
	// sft-mix trained on the domain records and the general ones
	b, err := os.ReadFile(filepath.Join(out, "sft-mix", "run", "final", "README.md"))
	if err != nil || !strings.Contains(string(b), "general.mix.tokens.arrow") {
		t.Errorf("sft-mix's model card does not name the general records (%v):\n%s", err, b)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.Cleanup()
	os.Exit(code)
}
