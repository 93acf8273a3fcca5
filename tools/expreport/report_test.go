package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The synthetic grid: 2 data seeds × 2 init seeds; 2 facts of each domain
// kind and 4 general facts per data seed; arms sft, nlirg and nlirg-auto at
// three lrs. Validation questions: one per domain fact (n_val 6); an arm
// answers the first valCorrect[arm][lr] of them right, so the lr rule must
// pick: sft 1e-3 (5/6 ties 6/6 within 1/6: the smaller lr), nlirg 2e-3
// (3/6 does not tie 6/6), nlirg-auto 5e-4.
var (
	fixtureLRs = []string{"5e-4", "1e-3", "2e-3"}
	valCorrect = map[string][]int{"sft": {2, 5, 6}, "nlirg": {1, 3, 6}, "nlirg-auto": {6, 2, 2}}
	wantChosen = map[string]string{"sft": "1e-3", "nlirg": "2e-3", "nlirg-auto": "5e-4"}
	lossScale  = map[string]float64{"sft": 20, "nlirg": 10, "nlirg-auto": 40}
)

// truth is what the fixture wrote, to check the report against.
type truth struct {
	testAcc    map[string][]float64 // "noise/arm/lr" → per run
	lossChange map[string][]float64
	mc         map[string][]float64 // chance-corrected multiple choice
}

func writeJSONL(t *testing.T, path string, rows []map[string]any) {
	t.Helper()
	var b bytes.Buffer
	for _, r := range rows {
		j, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(append(j, '\n'))
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func answer(id, fact, kind string, correct bool, rep float64, trunc bool) map[string]any {
	return map[string]any{"id": id, "correct": correct, "seq_rep_4": rep, "truncated": trunc, "length": 12,
		"meta": map[string]any{"fact": fact, "kind": kind}}
}

// makeFixture writes the grid for the noise levels given under dir.
func makeFixture(t *testing.T, dir string, noises []string) truth {
	t.Helper()
	tr := truth{testAcc: map[string][]float64{}, lossChange: map[string][]float64{}, mc: map[string][]float64{}}
	domainKinds := []string{"new", "new", "conflicting", "conflicting", "consistent", "consistent"}
	for ni, noise := range noises {
		for d := 1; d <= 2; d++ {
			for init := 1; init <= 2; init++ {
				folder := filepath.Join(dir, fmt.Sprintf("n%s-d%d-i%d", noise, d, init))
				arms := []string{"base"}
				for _, m := range []string{"sft", "nlirg", "nlirg-auto"} {
					for _, lr := range fixtureLRs {
						arms = append(arms, m+"-lr"+lr)
					}
				}
				for _, armName := range arms {
					method, lr, lrVal, _ := parseArm(armName)
					li := -1
					for i, l := range fixtureLRs {
						if l == lr {
							li = i
						}
					}
					a := filepath.Join(folder, armName)
					if err := os.MkdirAll(a, 0o755); err != nil {
						t.Fatal(err)
					}
					good := 0 // domain facts the arm knows (the first good of them)
					if method != "base" {
						good = valCorrect[method][li] - ni // noise costs one fact
					}
					rep := 0.1 + lrVal*50
					var test, val, trainq, noisy, choices []map[string]any
					correct, mc := 0, 0.0
					for f, kind := range domainKinds {
						fact := fmt.Sprintf("d%d-drug%d/dose", d, f)
						for q := range 2 {
							// test: vary with the question and init seed so intervals are not points
							ok := (f+q+init)%6 < good
							if ok {
								correct++
							}
							test = append(test, answer(fmt.Sprintf("domain-%d-%d", f, q), fact, kind, ok, rep, q == 1 && f == 0))
						}
						val = append(val, answer(fact, fact, kind, f < good, rep, false))
						trainq = append(trainq, answer(fact, fact, kind, f <= good, rep, false))
						if noise != "0" && f < 3 {
							noisy = append(noisy, answer(fact, fact, kind, f < good/3, rep, false))
						}
						// evaluate choices -o rows: no fact or kind, the test
						// answer of the same id has them; the last fact ties
						// two ways when not known (credit 1/2)
						for q := range 2 {
							credit := map[bool]float64{true: 1, false: 0}[f < good]
							if f == 5 && f >= good {
								credit = 0.5
							}
							choices = append(choices, map[string]any{"question": fmt.Sprintf("domain-%d-%d", f, q), "candidates": 4,
								"pick": "x", "answer": "y", "correct": f < good, "credit": credit, "answer_loss": 3.5, "margin": 0.1})
							mc += (credit - 0.25) / 0.75 / 12
						}
					}
					var general []map[string]any
					for f := range 4 {
						fact := fmt.Sprintf("town%d/river", f)
						for range 2 {
							// the largest lr forgets one general fact: 75 % of the base's
							general = append(general, answer(fact, fact, "general", !(li == 2 && f == 0), 0.05, false))
						}
					}
					writeJSONL(t, filepath.Join(a, "domain.test.samples.jsonl"), test)
					writeJSONL(t, filepath.Join(a, "domain.val.samples.jsonl"), val)
					writeJSONL(t, filepath.Join(a, "domain.trainq.samples.jsonl"), trainq)
					writeJSONL(t, filepath.Join(a, "domain.noisy.samples.jsonl"), noisy)
					writeJSONL(t, filepath.Join(a, "domain.test.choices.samples.jsonl"), choices)
					writeJSONL(t, filepath.Join(a, "general.test.samples.jsonl"), general)
					change := 0.0
					if method != "base" {
						change = lrVal * lossScale[method] * float64(init)
					}
					if err := os.WriteFile(filepath.Join(a, "heldout.json"), fmt.Appendf(nil, `{"score_mean_loss": %v, "score_documents": 3}`, 2.5+change), 0o644); err != nil {
						t.Fatal(err)
					}
					key := noise + "/" + method + "/" + lr
					tr.testAcc[key] = append(tr.testAcc[key], float64(correct)/12)
					tr.lossChange[key] = append(tr.lossChange[key], change)
					tr.mc[key] = append(tr.mc[key], mc)
				}
			}
		}
	}
	return tr
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func readResults(t *testing.T, dir string) results {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r results
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// EXPREPORT_KEEP=DIR keeps the fixture and the report there to look at.
func TestReport(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if keep := os.Getenv("EXPREPORT_KEEP"); keep != "" {
		dir = keep
	}
	runs, out := filepath.Join(dir, "runs"), filepath.Join(dir, "out")
	tr := makeFixture(t, runs, []string{"0", "0.2"})
	var stderr bytes.Buffer
	if err := run([]string{"-o", out, "--lr-rule", "val", runs}, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	res := readResults(t, out)

	// the lr rule, in results.json and in report.md's table
	chosen := map[string]string{}
	for _, s := range res.Selection {
		if s.NVal != 6 {
			t.Errorf("%s noise %s: n_val %d, want 6", s.Arm, s.Noise, s.NVal)
		}
		if s.Noise == "0" {
			chosen[s.Arm] = s.ChosenLR
		}
	}
	for arm, want := range wantChosen {
		if chosen[arm] != want {
			t.Errorf("%s: chose lr %q, want %q", arm, chosen[arm], want)
		}
	}
	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	report := string(md)
	for _, want := range []string{
		"| sft | 0 | 6 | 0.333 | **0.833** | 1.000 † | 1e-3 |",
		"| nlirg | 0 | 6 | 0.167 | 0.500 | **1.000 †** | 2e-3 |",
		"| nlirg-auto | 0 | 6 | **1.000** | 0.333 † | 0.333 † | 5e-4 |",
		"## Noise 0.2", "## Hypotheses", "![noise 0](pareto-n0.png)", "## Deviations",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}

	// cells: the means are the fixture's
	for _, c := range res.Cells {
		key := c.Noise + "/" + c.Arm + "/" + c.LR
		acc := c.Metrics["domain_accuracy"]
		if want := mean(tr.testAcc[key]); acc.Mean == nil || math.Abs(*acc.Mean-want) > 1e-12 {
			t.Errorf("%s: domain accuracy %v, want %v", key, acc.Mean, want)
		} else if *acc.Lo > want+1e-12 || *acc.Hi < want-1e-12 {
			t.Errorf("%s: interval [%v, %v] misses the mean %v", key, *acc.Lo, *acc.Hi, want)
		}
		if mc, want := c.Metrics["choice_accuracy_cc"], mean(tr.mc[key]); math.Abs(*mc.Mean-want) > 1e-12 {
			t.Errorf("%s: chance-corrected MC %v, want %v", key, *mc.Mean, want)
		}
		lc := c.Metrics["general_loss_change"]
		if want := mean(tr.lossChange[key]); math.Abs(*lc.Mean-want) > 1e-9 || lc.Lo != nil || lc.Min == nil {
			t.Errorf("%s: loss change %+v, want mean %v with min–max", key, lc, want)
		}
		kept := c.Metrics["general_kept"]
		if want := map[string]float64{"": 1, "5e-4": 1, "1e-3": 1, "2e-3": 0.75}[c.LR]; math.Abs(*kept.Mean-want) > 1e-12 {
			t.Errorf("%s: general kept %v, want %v", key, *kept.Mean, want)
		}
		if nr := c.Metrics["noise_reproduced"]; (c.Noise == "0") != (nr.Mean == nil) {
			t.Errorf("%s: noise reproduced %+v, want a value only with noise", key, nr)
		}
	}

	// the budget: 2e-3 keeps 75 % of general-QA, out; nlirg-auto's 1e-3
	// loses 0.04–0.08 nats (mean 0.06), out
	for _, b := range res.Budget {
		want := map[string]string{"sft": "1e-3", "nlirg": "1e-3", "nlirg-auto": "5e-4"}[b.Arm]
		if b.LR != want {
			t.Errorf("noise %s %s: budget lr %q, want %q", b.Noise, b.Arm, b.LR, want)
		}
		if b.Noise == "0" {
			if w := mean(tr.testAcc["0/"+b.Arm+"/"+want]); math.Abs(*b.Accuracy-w) > 1e-12 {
				t.Errorf("%s: budget accuracy %v, want %v", b.Arm, *b.Accuracy, w)
			}
		}
	}

	// hypotheses: all four run, Holm's p at least the raw one
	if len(res.Hypotheses) != 4 {
		t.Fatalf("%d hypotheses", len(res.Hypotheses))
	}
	for _, h := range res.Hypotheses {
		if h.Verdict != "holds" && h.Verdict != "not shown" {
			t.Errorf("%s: verdict %q", h.ID, h.Verdict)
		}
		if h.P == nil || h.PHolm == nil || *h.PHolm < *h.P {
			t.Errorf("%s: p %v, Holm p %v", h.ID, h.P, h.PHolm)
		}
	}
	// H3: sft and nlirg both lose one fact's questions to noise at their
	// chosen lrs, so their drops are near each other; H1 at noise 0 is
	// nlirg − sft at 1e-3: 3/6 against 5/6 facts
	// H2: nlirg's chosen 2e-3 repeats more than sft's 1e-3 in every answer
	if h2 := res.Hypotheses[1]; h2.Verdict != "not shown" || !h2.Opposite || math.Abs(*h2.Estimate-0.05) > 1e-12 {
		t.Errorf("H2: %q opposite %v estimate %v, want not shown the other way at +0.05", h2.Verdict, h2.Opposite, *h2.Estimate)
	}
	h1 := res.Hypotheses[0]
	w1 := mean(tr.testAcc["0/nlirg/1e-3"]) - mean(tr.testAcc["0/sft/1e-3"])
	if got := h1.PerNoise["0"]; math.Abs(got-w1) > 1e-12 {
		t.Errorf("H1 at noise 0: %v, want %v", got, w1)
	}
	// every arm's paired difference to sft at the budget; H1's is nlirg's
	for _, b := range res.Budget {
		if (b.Arm == "sft") != (b.VsSFT == nil) {
			t.Errorf("noise %s %s: vs sft %v", b.Noise, b.Arm, b.VsSFT)
		}
		if b.Arm == "nlirg" && math.Abs(*b.VsSFT.Mean-h1.PerNoise[b.Noise]) > 1e-12 {
			t.Errorf("noise %s: nlirg − sft %v, H1 there %v", b.Noise, *b.VsSFT.Mean, h1.PerNoise[b.Noise])
		}
	}

	for _, p := range res.Plots {
		b, err := os.ReadFile(filepath.Join(out, p))
		if err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
			t.Errorf("%s: not a PNG (%v)", p, err)
		}
	}
	if len(res.Plots) != 8 {
		t.Errorf("plots %v, want 4 per noise level", res.Plots)
	}

}

// With one noise level H3 cannot be tested: it says so, and Holm is over
// the three others.
func TestReportOneNoiseLevel(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	runs, out := filepath.Join(dir, "runs"), filepath.Join(dir, "out")
	makeFixture(t, runs, []string{"0"})
	// and without nlirg-auto H4 is not run either
	for d := 1; d <= 2; d++ {
		for i := 1; i <= 2; i++ {
			for _, lr := range fixtureLRs {
				os.RemoveAll(filepath.Join(runs, fmt.Sprintf("n0-d%d-i%d", d, i), "nlirg-auto-lr"+lr))
			}
		}
	}
	if err := run([]string{"-o", out, "--resamples", "500", runs}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	res := readResults(t, out)
	verdicts := map[string]string{}
	for _, h := range res.Hypotheses {
		verdicts[h.ID] = h.Verdict
	}
	if verdicts["H3"] != "not run" || verdicts["H4"] != "not run" || verdicts["H1"] == "not run" {
		t.Errorf("verdicts %v", verdicts)
	}
	md, _ := os.ReadFile(filepath.Join(out, "report.md"))
	if !strings.Contains(string(md), "not run (needs two noise levels)") {
		t.Error("report.md does not say H3 was not run")
	}
	// the same input gives the same bytes
	out2 := filepath.Join(dir, "out2")
	if err := run([]string{"-o", out2, "--resamples", "500", runs}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"results.json", "report.md"} {
		a, _ := os.ReadFile(filepath.Join(out, f))
		b, _ := os.ReadFile(filepath.Join(out2, f))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two runs", f)
		}
	}
	// --resample-seeds: the loss change, which differs between init seeds,
	// gets an interval around its mean, and the report says it is not the plan's
	out3 := filepath.Join(dir, "out3")
	if err := run([]string{"-o", out3, "--resamples", "500", "--resample-seeds", runs}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	for _, c := range readResults(t, out3).Cells {
		if lc := c.Metrics["general_loss_change"]; c.Arm == "sft" && c.LR == "1e-3" &&
			(lc.Lo == nil || lc.Min != nil || !(*lc.Lo < *lc.Mean && *lc.Mean < *lc.Hi)) {
			t.Errorf("sft 1e-3 loss change with seeds resampled: %+v", lc)
		}
	}
	if md, _ := os.ReadFile(filepath.Join(out3, "report.md")); !strings.Contains(string(md), "Not PLAN.md's intervals") {
		t.Error("report.md made with --resample-seeds does not say so")
	}
	// Holm over two: H1 and H2
	for _, h := range res.Hypotheses[:2] {
		if want := math.Min(1, 2**h.P); *h.PHolm < *h.P || *h.PHolm > want+1e-12 {
			t.Errorf("%s: Holm p %v for p %v in a family of 2", h.ID, *h.PHolm, *h.P)
		}
	}
}

// Bad input names the file and line, and writes nothing.
func TestReportBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	runs, out := filepath.Join(dir, "runs"), filepath.Join(dir, "out")
	makeFixture(t, runs, []string{"0"})
	bad := filepath.Join(runs, "n0-d2-i1", "sft-lr1e-3", "domain.val.samples.jsonl")
	b, _ := os.ReadFile(bad)
	lines := strings.SplitAfter(string(b), "\n")
	lines[2] = `{"id": "x", "correct": true, "meta": {"kind": "new"}}` + "\n"
	os.WriteFile(bad, []byte(strings.Join(lines, "")), 0o644)
	err := run([]string{"-o", out, runs}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), bad+":3:") {
		t.Fatalf("error %v, want one naming %s:3", err, bad)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("output folder made on failure: %v", err)
	}

	// a missing required file: an error, or skipped with --skip-incomplete
	os.WriteFile(bad, b, 0o644)
	gone := filepath.Join(runs, "n0-d1-i2", "nlirg-lr2e-3", "general.test.samples.jsonl")
	os.Remove(gone)
	if err := run([]string{"-o", out, runs}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), gone) {
		t.Fatalf("error %v, want one naming %s", err, gone)
	}
	var stderr bytes.Buffer
	if err := run([]string{"-o", out, "--skip-incomplete", "--resamples", "200", runs}, &stderr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "skipping") {
		t.Errorf("no warning: %s", stderr.String())
	}
	res := readResults(t, out)
	for _, c := range res.Cells {
		if c.Arm == "nlirg" && c.LR == "2e-3" && c.Runs != 3 {
			t.Errorf("nlirg 2e-3: %d runs, want 3", c.Runs)
		}
	}
}

// Rule 2 picks within the forgetting budget: the fixture's 2e-3 forgets a
// general fact (75 % kept) and sft's and nlirg-auto's larger lrs move the
// general loss past 0.05 nats (means over the init seeds: lr × scale × 1.5).
func TestReportRule2(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	runs, out := filepath.Join(dir, "runs"), filepath.Join(dir, "out")
	makeFixture(t, runs, []string{"0"})
	if err := run([]string{"-o", out, "--resamples", "200", runs}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	res := readResults(t, out)
	want := map[string]string{"sft": "1e-3", "nlirg": "1e-3", "nlirg-auto": "5e-4"}
	for _, s := range res.Selection {
		if s.ChosenLR != want[s.Arm] {
			t.Errorf("%s: rule 2 chose %s, want %s", s.Arm, s.ChosenLR, want[s.Arm])
		}
		for _, sc := range s.Scores {
			if wantIn := !(sc.LR == "2e-3" || (s.Arm == "nlirg-auto" && sc.LR == "1e-3")); sc.Within != wantIn {
				t.Errorf("%s %s: within budget %v, want %v", s.Arm, sc.LR, sc.Within, wantIn)
			}
		}
	}
	md, _ := os.ReadFile(filepath.Join(out, "report.md"))
	for _, want := range []string{"PLAN.md's rule 2", "| sft | 0 | 6 | 0.333 | **0.833** | 1.000 † | 1e-3 |"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
}

// The final comparison: one lr per arm, each run with two earlier epoch
// ends in curve/; H1 and H4 compare test accuracy at that lr, the curves
// end at the final model, and H1's loss comparison stands beside it.
func TestReportFinalWithCurves(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	runs, out := filepath.Join(dir, "runs"), filepath.Join(dir, "out")
	tr := makeFixture(t, runs, []string{"0", "0.2"})
	keep := map[string]string{"sft": "1e-3", "nlirg": "1e-3", "nlirg-auto": "5e-4"}
	folders, _ := filepath.Glob(filepath.Join(runs, "n*"))
	for _, f := range folders {
		arms, _ := os.ReadDir(f)
		for _, a := range arms {
			method, lr, _, _ := parseArm(a.Name())
			if method == "base" {
				continue
			}
			dir := filepath.Join(f, a.Name())
			if keep[method] != lr {
				os.RemoveAll(dir)
				continue
			}
			// epoch 1 knows nothing and forgets nothing; epoch 2 is the final model
			for step, copyAll := range map[int]bool{4: false, 8: true} {
				c := filepath.Join(dir, "curve", fmt.Sprintf("checkpoint-%d", step))
				os.MkdirAll(c, 0o755)
				for _, name := range []string{"domain.test.samples.jsonl", "general.test.samples.jsonl", "heldout.json"} {
					b, _ := os.ReadFile(filepath.Join(dir, name))
					if !copyAll && name == "domain.test.samples.jsonl" {
						b = bytes.ReplaceAll(b, []byte(`"correct":true`), []byte(`"correct":false`))
					}
					if !copyAll && name == "heldout.json" {
						b = []byte(`{"score_mean_loss": 2.5}`)
					}
					os.WriteFile(filepath.Join(c, name), b, 0o644)
				}
			}
		}
	}
	if err := run([]string{"-o", out, "--resamples", "200", "--resample-seeds", "--final", runs}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	res := readResults(t, out)
	if !res.Final || len(res.Curves) != 6 {
		t.Fatalf("final %v, %d curves, want 6 (3 arms × 2 noise levels)", res.Final, len(res.Curves))
	}
	for _, c := range res.Curves {
		key := c.Noise + "/" + c.Arm + "/" + c.LR
		if len(c.Epochs) != 3 {
			t.Fatalf("%s: %d epochs, want 3", key, len(c.Epochs))
		}
		first, second, last := c.Epochs[0], c.Epochs[1], c.Epochs[2]
		if *first.DomainAccuracy.Mean != 0 || *first.GeneralLossChange.Mean != 0 {
			t.Errorf("%s epoch 1: %+v", key, first)
		}
		for _, ep := range []epochOut{second, last} {
			if math.Abs(*ep.DomainAccuracy.Mean-mean(tr.testAcc[key])) > 1e-12 || math.Abs(*ep.GeneralLossChange.Mean-mean(tr.lossChange[key])) > 1e-12 {
				t.Errorf("%s epoch %d: accuracy %v, loss change %v; want %v, %v", key, ep.Epoch, *ep.DomainAccuracy.Mean,
					*ep.GeneralLossChange.Mean, mean(tr.testAcc[key]), mean(tr.lossChange[key]))
			}
		}
	}
	h1 := res.Hypotheses[0]
	want := (mean(tr.testAcc["0/nlirg/1e-3"]) - mean(tr.testAcc["0/sft/1e-3"]) + mean(tr.testAcc["0.2/nlirg/1e-3"]) - mean(tr.testAcc["0.2/sft/1e-3"])) / 2
	if !strings.Contains(h1.Statistic, "final lrs") || math.Abs(*h1.Estimate-want) > 1e-12 {
		t.Errorf("H1: %q estimate %v, want test accuracy at the final lrs %v", h1.Statistic, *h1.Estimate, want)
	}
	if h1.Prediction != "the other way (nlirg lower)" {
		t.Errorf("H1 predicted %q, want revision 2's prediction", h1.Prediction)
	}
	wantLoss := (mean(tr.lossChange["0/nlirg/1e-3"]) - mean(tr.lossChange["0/sft/1e-3"]) + mean(tr.lossChange["0.2/nlirg/1e-3"]) - mean(tr.lossChange["0.2/sft/1e-3"])) / 2
	if len(res.Beside) != 3 || res.Beside[0].ID != "H1" || math.Abs(*res.Beside[0].Estimate.Mean-wantLoss) > 1e-12 || res.Beside[0].Estimate.Lo == nil {
		t.Fatalf("beside H1: %+v, want loss change %v with an interval, then nlirg-auto's accuracy and loss against sft", res.Beside, wantLoss)
	}
	// every other arm against sft, exploratory: nlirg-auto ran at 5e-4
	wantAuto := (mean(tr.testAcc["0/nlirg-auto/5e-4"]) - mean(tr.testAcc["0/sft/1e-3"]) + mean(tr.testAcc["0.2/nlirg-auto/5e-4"]) - mean(tr.testAcc["0.2/sft/1e-3"])) / 2
	if x := res.Beside[1]; x.ID != "" || !strings.Contains(x.Statistic, "accuracy") || !strings.Contains(x.Statistic, "nlirg-auto − sft") ||
		math.Abs(*x.Estimate.Mean-wantAuto) > 1e-12 || x.P == nil {
		t.Errorf("exploratory: %+v, want nlirg-auto − sft accuracy %v with a p", x, wantAuto)
	}
	md, _ := os.ReadFile(filepath.Join(out, "report.md"))
	for _, want := range []string{"### Curves over training", "(curve-n0.2.png)", "| sft | 1e-3 | 1 | 0.000", "Beside H1", "Exploratory (outside Holm's family): test domain accuracy at the final lrs, nlirg-auto − sft"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	if strings.Contains(string(md), "Accuracy at the forgetting budget") {
		t.Error("the final report has a budget table over an lr sweep it did not run")
	}
	if _, err := os.Stat(filepath.Join(out, "curve-n0.png")); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(filepath.Join(out, "pareto-n0.png")); err == nil {
		t.Error("the final report wrote lr-sweep plots")
	}
}
