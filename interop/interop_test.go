// Package interop_test checks ytrain against the libraries its users load its
// outputs with, run from build/venv (make venv): transformers, peft,
// TensorBoard and pyarrow are the judges (hf.py). The tools run as built
// binaries, so `make test` runs these tests on the libtorch of the
// LD_LIBRARY_PATH it sets (pip's 2.11, the same as the venv's torch).
// Without the venv the tests are skipped, under CI=true they fail.
package interop_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/ytrain/ytrain/formats"
	"github.com/ytrain/ytrain/internal/testenv"
)

// tool returns the path of a ytrain tool, built by testenv.Tools.
func tool(t *testing.T, name string) string {
	t.Helper()
	return filepath.Join(testenv.Tools(t, name), name)
}

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.Cleanup()
	if modelsDir != "" {
		os.RemoveAll(modelsDir)
	}
	os.Exit(code)
}

// run runs a ytrain tool in dir and fails the test on a non-zero exit.
func run(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(tool(t, name), args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return string(out) + stderr.String()
}

// hf runs interop/hf.py COMMAND ARGS in dir with the venv's Python and
// decodes its JSON answer into v.
func hf(t *testing.T, dir string, v any, args ...string) {
	t.Helper()
	py := testenv.Python(t)
	script, err := filepath.Abs("hf.py")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, append([]string{script}, args...)...)
	cmd.Dir = dir
	// the tools' libtorch choice is not Python's business
	cmd.Env = append(os.Environ(), "LD_LIBRARY_PATH=", "OMP_NUM_THREADS=1", "TRANSFORMERS_VERBOSITY=error",
		"HF_HUB_OFFLINE=1", "TOKENIZERS_PARALLELISM=false")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("hf.py %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("hf.py %s: %v\n%s", args[0], err, out)
	}
}

var (
	modelsOnce sync.Once
	modelsDir  string
	modelNames []string
)

// models makes transformers' random checkpoints once per test binary: each
// architecture in f32 and bf16 (hf.py make-models).
func models(t *testing.T) (string, []string) {
	t.Helper()
	testenv.Python(t)
	modelsOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ytrain-interop-models")
		if err != nil {
			t.Fatal(err)
		}
		var res struct{ Models []string }
		hf(t, dir, &res, "make-models", dir)
		modelsDir, modelNames = dir, res.Models
	})
	if modelsDir == "" {
		t.Fatal("hf.py make-models failed in an earlier test")
	}
	return modelsDir, modelNames
}

// writeTokens writes token records of random ids below vocab: documents of
// several lengths (so score batches and pads them), targets after a prompt.
func writeTokens(t *testing.T, path string, vocab, docs int, seed int64) {
	t.Helper()
	rng := rand.New(rand.NewSource(seed))
	var b bytes.Buffer
	for d := 0; d < docs; d++ {
		n := 6 + rng.Intn(40)
		ids, mask := make([]int, n), make([]int, n)
		prompt := rng.Intn(n / 2)
		for i := range ids {
			ids[i] = rng.Intn(vocab)
			if i > prompt {
				mask[i] = 1
			}
		}
		rec, _ := json.Marshal(map[string]any{"id": fmt.Sprintf("d%d", d), "input_ids": ids, "loss_mask": mask})
		b.Write(append(rec, '\n'))
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// scoreLosses runs score on a model folder and returns each record's losses.
func scoreLosses(t *testing.T, dir, model, dtype, tokens string) map[string][]float64 {
	t.Helper()
	out := filepath.Join(t.TempDir(), "scores.jsonl")
	run(t, dir, "score", "--model", model, "--dtype", dtype, "--encoding", "jsonl", "-o", out, tokens)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	res := map[string][]float64{}
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		var s struct {
			ID   string    `json:"id"`
			Loss []float64 `json:"loss"`
		}
		if err := json.Unmarshal(line, &s); err != nil {
			t.Fatal(err)
		}
		res[s.ID] = s.Loss
	}
	return res
}

func maxLossDiff(t *testing.T, got, want map[string][]float64) float64 {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d scored records, transformers %d", len(got), len(want))
	}
	worst := 0.0
	for id, w := range want {
		g := got[id]
		if len(g) != len(w) {
			t.Fatalf("record %s: %d losses, transformers %d", id, len(g), len(w))
		}
		for i := range w {
			worst = math.Max(worst, math.Abs(g[i]-w[i]))
		}
	}
	return worst
}

// score's per-token losses equal transformers' own forward on checkpoints
// that transformers wrote, for every architecture ytrain supports: within
// 1e-4 nats in f32. In bf16 both round every op to 8 significant bits, in
// different kernels and orders; the bound there is 1.5× the distance of
// transformers' own bf16 forward from its f32 one on the same records
// (0.05–0.09 nats at a mean loss of ~6 here).
func TestScoreMatchesTransformers(t *testing.T) {
	dir, names := models(t)
	tokens := filepath.Join(dir, "tokens.jsonl")
	writeTokens(t, tokens, 211, 6, 1)
	var want struct {
		Losses map[string]map[string][]float64
	}
	args := []string{"losses", tokens}
	for _, n := range names {
		args = append(args, filepath.Join(dir, n))
	}
	hf(t, dir, &want, args...)
	for _, n := range names {
		arch, dtype, _ := strings.Cut(n, "-")
		got := scoreLosses(t, dir, n, dtype, tokens)
		d := maxLossDiff(t, got, want.Losses[filepath.Join(dir, n)])
		bound := 1e-4
		if dtype == "bf16" {
			noise := maxLossDiff(t, want.Losses[filepath.Join(dir, n)], want.Losses[filepath.Join(dir, arch+"-f32")])
			// both are bf16 roundings of the f32 losses: if each is within
			// noise of them, they are within 2·noise of each other (1.5 was
			// passed by 1.51 on this workplace's EPYC, mistral-bf16)
			bound = 2 * noise
			t.Logf("%-12s transformers bf16 vs its f32: %.2g", n, noise)
		}
		t.Logf("%-12s max |loss(score) - loss(transformers)| = %.2g (bound %.2g)", n, d, bound)
		if d > bound {
			t.Errorf("%s: score differs from transformers by %g > %g", n, d, bound)
		}
	}
}

// lossDiff compares score's losses with transformers' on one model folder.
func lossDiff(t *testing.T, dir, model, tokens string) float64 {
	t.Helper()
	var want struct {
		Losses map[string]map[string][]float64
	}
	hf(t, dir, &want, "losses", tokens, model)
	return maxLossDiff(t, scoreLosses(t, dir, model, "f32", tokens), want.Losses[model])
}

// A LoRA adapter written by train loads in peft, by PeftModel on the base
// and by AutoPeftModelForCausalLM alone, from another working directory
// than train's, and gives the logits of transformers' load of train's
// merged model; the merged model scores in ytrain as in transformers.
func TestLoRAAdapterLoadsInPEFT(t *testing.T) {
	dir, _ := models(t)
	work := t.TempDir()
	tokens := filepath.Join(work, "tokens.jsonl")
	writeTokens(t, tokens, 211, 8, 2)
	// --model relative to train's working directory, as a user types it
	run(t, dir, "train", "--model", "qwen3-f32", "--output", filepath.Join(work, "run"), "--dtype", "f32",
		"--lora-rank", "4", "--token-batch", "0", "--batch-size", "4", "--epochs", "3", "--lr", "2e-2", "--merge", tokens)
	adapter, merged := filepath.Join(work, "run", "final"), filepath.Join(work, "run", "merged")
	var res struct {
		PEFT     float64 `json:"peft_vs_merged"`
		AutoPEFT float64 `json:"autopeft_vs_merged"`
		Base     float64 `json:"base_vs_merged"`
	}
	elsewhere := t.TempDir()
	hf(t, elsewhere, &res, "peft", filepath.Join(dir, "qwen3-f32"), adapter, merged, tokens)
	t.Logf("max |logit| difference from transformers' load of merged/: PeftModel %.2g, AutoPeftModel %.2g (the base: %.2g)", res.PEFT, res.AutoPEFT, res.Base)
	if res.PEFT > 1e-4 || res.AutoPEFT > 1e-4 {
		t.Errorf("peft's logits differ from the merged model's by %g (PeftModel), %g (AutoPeftModel) > 1e-4", res.PEFT, res.AutoPEFT)
	}
	if res.Base < 1e-2 {
		t.Errorf("the adapter hardly changes the model (base vs merged %g): the comparison proves nothing", res.Base)
	}
	if d := lossDiff(t, work, merged, tokens); d > 1e-4 {
		t.Errorf("merged/: score differs from transformers by %g > 1e-4", d)
	}
}

// A --full checkpoint (of a tied Llama 3) is an HF model folder: transformers
// loads it, and its per-token losses equal ytrain's.
func TestFullCheckpointLoads(t *testing.T) {
	dir, _ := models(t)
	work := t.TempDir()
	tokens := filepath.Join(work, "tokens.jsonl")
	writeTokens(t, tokens, 211, 8, 3)
	run(t, work, "train", "--model", filepath.Join(dir, "llama3-f32"), "--output", filepath.Join(work, "run"), "--full",
		"--dtype", "f32", "--token-batch", "0", "--batch-size", "4", "--epochs", "2", "--lr", "1e-3", tokens)
	final := filepath.Join(work, "run", "final")
	var res struct {
		MaxDiff float64 `json:"max_diff"`
	}
	hf(t, work, &res, "logits-vs", filepath.Join(dir, "llama3-f32"), final, tokens)
	if res.MaxDiff < 1e-3 {
		t.Fatalf("the full checkpoint's logits differ from the base's by only %g: nothing was trained", res.MaxDiff)
	}
	d := lossDiff(t, work, final, tokens)
	t.Logf("full checkpoint: max |loss(score) - loss(transformers)| = %.2g (base vs trained logits: %.2g)", d, res.MaxDiff)
	if d > 1e-4 {
		t.Errorf("full checkpoint: score differs from transformers by %g > 1e-4", d)
	}
}

// tokenize's ids equal transformers' apply_chat_template followed by its
// tokenizer, on the shared real tokenizers and their conversations.
func TestTokenizeMatchesTransformers(t *testing.T) {
	for _, name := range []string{"qwen3", "llama3"} {
		t.Run(name, func(t *testing.T) {
			tokDir := testenv.SharedPath(t, "tokenizers", name)
			convs := testenv.SharedPath(t, "tokenizers", "golden", "chat."+name+".jsonl")
			work := t.TempDir()
			out := filepath.Join(work, "tokens.jsonl")
			run(t, work, "tokenize", "--tokenizer", tokDir, "--encoding", "jsonl", "-o", out, convs)
			var want map[string]struct {
				Text     string  `json:"text"`
				InputIDs []int32 `json:"input_ids"`
			}
			hf(t, work, &want, "chat", tokDir, convs)
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
				var rec struct {
					ID       string  `json:"id"`
					InputIDs []int32 `json:"input_ids"`
				}
				if err := json.Unmarshal(line, &rec); err != nil {
					t.Fatal(err)
				}
				w, ok := want[rec.ID]
				if !ok {
					t.Fatalf("tokenize wrote a record %q that is not in %s", rec.ID, convs)
				}
				if fmt.Sprint(rec.InputIDs) != fmt.Sprint(w.InputIDs) {
					t.Errorf("%s: tokenize's ids differ from transformers' for %q:\n got %v\nwant %v", rec.ID, w.Text, rec.InputIDs, w.InputIDs)
				}
				n++
			}
			if n != len(want) {
				t.Errorf("tokenize wrote %d of the %d conversations", n, len(want))
			}
			t.Logf("%d conversations: tokenize = apply_chat_template + tokenizer", n)
		})
	}
}

// TensorBoard's own reader sees every scalar and histogram train logs, once
// per step, under HF Trainer's tags, also after a resume: the steps the
// first run logged past its checkpoint are dropped (SessionLog START).
func TestTensorBoardReadsTrainLogs(t *testing.T) {
	dir, _ := models(t)
	work := t.TempDir()
	tokens := filepath.Join(work, "tokens.jsonl")
	writeTokens(t, tokens, 211, 8, 4)
	out, tb := filepath.Join(work, "run"), filepath.Join(work, "tb")
	args := []string{"--model", filepath.Join(dir, "qwen2-f32"), "--output", out, "--tensorboard", tb, "--dtype", "f32",
		"--lora-rank", "4", "--token-batch", "0", "--batch-size", "2", "--lr", "1e-2", "--save-every", "2",
		"--eval-data", tokens, "--eval-every", "2"}
	run(t, work, "train", append(args, "--max-steps", "4", tokens)...)
	run(t, work, "train", append(args, "--max-steps", "6", "--allow-changed", "max-steps", "--resume", filepath.Join(out, "checkpoint-2"), tokens)...)

	// what train logged: the last line of each step in metrics.jsonl
	want := map[string]map[int64]float64{}
	b, err := os.ReadFile(filepath.Join(out, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatal(err)
		}
		step := int64(m["step"].(float64))
		for k, v := range m {
			f, ok := v.(float64)
			if !ok || k == "step" || math.IsNaN(f) {
				continue
			}
			tag := "train/" + k // HF Trainer's names; one held-out set
			switch {
			case k == "lr":
				tag = "train/learning_rate"
			case strings.HasPrefix(k, "eval/"):
				tag = "eval/loss"
			}
			if want[tag] == nil {
				want[tag] = map[int64]float64{}
			}
			want[tag][step] = f
		}
	}
	var got struct {
		Scalars    map[string][][2]float64
		Histograms map[string][][2]float64
	}
	hf(t, work, &got, "tensorboard", tb)
	for tag, steps := range want {
		seen := map[int64]int{}
		for _, sv := range got.Scalars[tag] {
			step := int64(sv[0])
			seen[step]++
			if w, ok := steps[step]; !ok || float32(w) != float32(sv[1]) {
				t.Errorf("%s at step %d: TensorBoard sees %v, train logged %v (logged: %v)", tag, step, sv[1], w, ok)
			}
		}
		for step := range steps {
			if seen[step] != 1 {
				t.Errorf("%s at step %d: TensorBoard sees %d values, want 1", tag, step, seen[step])
			}
		}
	}
	for _, tag := range []string{"train/loss", "train/learning_rate", "train/grad_norm", "train/epoch", "eval/loss"} {
		if len(want[tag]) == 0 {
			t.Errorf("train logged no %s", tag)
		}
	}
	hist := got.Histograms["train/token_weight"]
	if len(hist) != 6 {
		t.Errorf("train/token_weight histograms at %v, want one per step 1..6", hist)
	}
	for i, h := range hist {
		if int(h[0]) != i+1 || h[1] <= 0 {
			t.Errorf("histogram %d: step %v with %v values", i, h[0], h[1])
		}
	}
	t.Logf("%d scalar tags, %d histograms: every step once, after a resume at step 2 of a run that had reached 4", len(want), len(hist))
}

// pyarrow reads every record kind ytrain's tools write (tokenize: token,
// pack: packed, score: score with its optional columns), and ytrain reads
// what pyarrow writes: IPC streams and IPC files.
func TestArrowWithPyarrow(t *testing.T) {
	dir, _ := models(t)
	work := t.TempDir()
	data := filepath.Join(work, "data.jsonl")
	os.WriteFile(data, []byte(`{"id":"a","instruction":"How many days?","output":"Within 3 days.","meta":{"src":"faq","n":[1,2.5]}}
{"id":"b","prompt":"Who issues permits?","response":"The Canal Board."}
{"id":"c","messages":[{"role":"user","content":"Fine?"},{"role":"assistant","content":"500 coins."}],"meta":"plain"}
`), 0o644)
	tokens := filepath.Join(work, "tokens.jsonl")
	writeTokens(t, tokens, 211, 5, 5)
	arrows := map[string]string{"token": "tokens.arrow", "packed": "packed.arrow", "score": "scores.arrow"}
	run(t, work, "tokenize", "--tokenizer", testenv.SharedPath(t, "tokenizers", "qwen3"), "-o", "tokens.arrow", data)
	run(t, work, "pack", "--pack-length", "32", "-o", "packed.arrow", "tokens.arrow")
	run(t, work, "score", "--model", filepath.Join(dir, "qwen3-f32"), "--prompt-free", "-o", "scores.arrow", tokens)

	t.Run("token", func(t *testing.T) { pyarrowRoundTrip(t, work, "token", arrows["token"], formats.TokenCodec) })
	t.Run("packed", func(t *testing.T) { pyarrowRoundTrip(t, work, "packed", arrows["packed"], formats.PackedCodec) })
	t.Run("score", func(t *testing.T) { pyarrowRoundTrip(t, work, "score", arrows["score"], formats.ScoreCodec) })

	// a tool reads a pyarrow-written IPC file
	run(t, work, "pack", "--pack-length", "32", "--encoding", "jsonl", "-o", "packed-from-file.jsonl", "token.pyarrow-file.arrow")
	a, _ := os.ReadFile(filepath.Join(work, "packed-from-file.jsonl"))
	run(t, work, "pack", "--pack-length", "32", "--encoding", "jsonl", "-o", "packed-from-stream.jsonl", "tokens.arrow")
	if b, _ := os.ReadFile(filepath.Join(work, "packed-from-stream.jsonl")); len(a) == 0 || !bytes.Equal(a, b) {
		t.Errorf("pack of pyarrow's IPC file differs from pack of ytrain's stream:\n%s\n%s", a, b)
	}
}

// pyarrowRoundTrip checks that pyarrow reads the records of an Arrow stream
// written by a tool as ytrain does, and that ytrain reads them back from
// the stream and the file pyarrow writes.
func pyarrowRoundTrip[T any](t *testing.T, work, kind, name string, c *formats.Codec[T]) {
	path := filepath.Join(work, name)
	mine := readRecords(t, path, c)
	if len(mine) == 0 {
		t.Fatalf("%s: no records", name)
	}
	var py struct {
		Metadata map[string]string
		Fields   map[string]string
		Rows     []map[string]any
	}
	hf(t, work, &py, "arrow-read", path)
	if py.Metadata["ytrain.kind"] != kind {
		t.Errorf("schema metadata %v, want ytrain.kind=%s", py.Metadata, kind)
	}
	if len(py.Rows) != len(mine) {
		t.Fatalf("pyarrow reads %d records, ytrain %d", len(py.Rows), len(mine))
	}
	for i, row := range py.Rows {
		if m, ok := row["meta"].(string); ok { // a utf8 column of compact JSON
			row["meta"] = json.RawMessage(m)
		}
		for k, v := range row {
			if v == nil {
				delete(row, k) // a null optional column is an absent JSON field
			}
		}
		b, _ := json.Marshal(row)
		var rec T
		if err := json.Unmarshal(b, &rec); err != nil {
			t.Fatalf("pyarrow's row %d: %v\n%s", i, err, b)
		}
		if !reflect.DeepEqual(rec, mine[i]) {
			t.Errorf("record %d: pyarrow reads\n%+v\nytrain reads\n%+v", i, rec, mine[i])
		}
	}

	// the same records through ytrain's JSON Lines, written by pyarrow
	jsonl := filepath.Join(work, kind+".jsonl")
	f, err := os.Create(jsonl)
	if err != nil {
		t.Fatal(err)
	}
	w := formats.NewWriter(f, formats.JSONL, c)
	for i := range mine {
		if err := w.Write(&mine[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := errors.Join(w.Close(), f.Close()); err != nil {
		t.Fatal(err)
	}
	stream, file := filepath.Join(work, kind+".pyarrow-stream.arrow"), filepath.Join(work, kind+".pyarrow-file.arrow")
	var res struct{ Rows int }
	hf(t, work, &res, "arrow-write", jsonl, kind, stream, file)
	for _, p := range []string{stream, file} {
		if got := readRecords(t, p, c); !reflect.DeepEqual(got, mine) {
			t.Errorf("%s: ytrain reads\n%+v\nwant\n%+v", filepath.Base(p), got, mine)
		}
	}
}

func readRecords[T any](t *testing.T, path string, c *formats.Codec[T]) []T {
	t.Helper()
	in := formats.OpenInputs([]string{path}, nil, c)
	defer in.Close()
	var out []T
	for rec, err := range in.All() {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, *rec)
	}
	return out
}
