package interop_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ytrain/ytrain/internal/bpe"
	"github.com/ytrain/ytrain/internal/testenv"
)

// ggufTexts are tokenized by both sides: words, contractions, digits,
// runs of spaces and newlines, special and user-defined tokens, accents,
// emoji and CJK.
var ggufTexts = []string{
	"Hello world! The cat is on the mat.",
	"I've been told he's there, 'RE you sure? We'Ve a'lL",
	"You and 123 or 2020 and 12345 things, 3.14",
	"  multiple   spaces\n\nnewlines\tand tabs \n",
	"<|im_start|>user\nhi<|im_end|> and <tool> calls",
	"Café déjà vu 🦙 我想在apple工作",
}

// ggufPy runs interop/ggufjudge.py like hf runs hf.py.
func ggufPy(t *testing.T, v any, args ...string) {
	t.Helper()
	py := testenv.Python(t)
	script, err := filepath.Abs("ggufjudge.py")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, append([]string{script}, args...)...)
	cmd.Env = append(os.Environ(), "LD_LIBRARY_PATH=", "OMP_NUM_THREADS=1", "TRANSFORMERS_VERBOSITY=error",
		"HF_HUB_OFFLINE=1", "TOKENIZERS_PARALLELISM=false", "TQDM_DISABLE=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if strings.Contains(stderr.String(), "No module named 'gguf'") {
			t.Fatalf("build/venv lacks the gguf package (tools/venv/requirements.txt pins it: make venv)\n%s", stderr.String())
		}
		t.Fatalf("ggufjudge.py %s: %v\n%s", args[0], err, stderr.String())
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("ggufjudge.py %s: %v\n%s", args[0], err, out)
	}
}

type ggufVerdict struct {
	File    string
	Weights map[string]*float64
	Tokens  []struct {
		Text                    string
		Transformers, Converted []int32 // encode(text, add_special_tokens=False)
		TS                      []int32 `json:"transformers_special"` // encode(text)
		CS                      []int32 `json:"converted_special"`
	}
	Chat      map[string]string
	Logits    float64
	Config    map[string]any
	RefConfig map[string]any `json:"ref_config"`
	Specials  map[string][2]*string
	Params    int64
}

// check applies the bounds every conversion must meet and returns the
// largest weight difference.
func (v *ggufVerdict) check(t *testing.T, bosAdded bool) float64 {
	t.Helper()
	worst := 0.0
	for name, d := range v.Weights {
		switch {
		case d == nil:
			t.Errorf("%s: tensor %s is in only one of the two models", v.File, name)
		case *d > 1e-6 || math.IsNaN(*d):
			t.Errorf("%s: tensor %s differs by %g from transformers' GGUF load", v.File, name, *d)
		default:
			worst = math.Max(worst, *d)
		}
	}
	if len(v.Weights) == 0 {
		t.Errorf("%s: no weights compared", v.File)
	}
	for _, tk := range v.Tokens {
		if !slices.Equal(tk.Transformers, tk.Converted) {
			t.Errorf("%s: %q: converted tokenizer gives %v, transformers' GGUF tokenizer %v", v.File, tk.Text, tk.Converted, tk.Transformers)
		}
		want := tk.TS
		if bosAdded { // see TestGGUFConvert
			want = append([]int32{1}, tk.TS...)
		}
		if !slices.Equal(want, tk.CS) {
			t.Errorf("%s: %q with special tokens: converted %v, want %v", v.File, tk.Text, tk.CS, want)
		}
	}
	if v.Chat["converted"] == "" || v.Chat["converted"] != v.Chat["transformers"] {
		t.Errorf("%s: chat template renders %q, transformers' GGUF load %q", v.File, v.Chat["converted"], v.Chat["transformers"])
	}
	if v.Logits > 1e-4 || math.IsNaN(v.Logits) {
		t.Errorf("%s: logits differ by %g (bound 1e-4)", v.File, v.Logits)
	}
	for k, want := range v.RefConfig {
		if fmt.Sprint(v.Config[k]) != fmt.Sprint(want) {
			t.Errorf("%s: config %s = %v, transformers' GGUF load says %v", v.File, k, v.Config[k], want)
		}
	}
	for k, pair := range v.Specials {
		if (pair[0] == nil) != (pair[1] == nil) || pair[0] != nil && *pair[0] != *pair[1] {
			t.Errorf("%s: %s: converted %v, transformers' GGUF load %v", v.File, k, deref(pair[1]), deref(pair[0]))
		}
	}
	return worst
}

func deref(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

// convert turns each tiny GGUF that gguf-py writes (F32, F16, BF16, Q8_0,
// Q4_0, Q4_1 from its own quantisers, random Q4_K/Q6_K blocks; tied and
// untied; the smollm, gpt2 and llama-bpe pre-tokenizers) into a folder that
// transformers loads to the same model as its own GGUF loader:
// state dicts equal (bound 1e-6; both dequantise in float32, so they
// agree exactly), the same token ids on every text, the same chat
// template, logits within 1e-4. ytrain's bpe loads each folder and gives
// transformers' ids too.
//
// One deliberate difference: a "llama-bpe" file without
// tokenizer.ggml.add_bos_token gets BOS added, as llama.cpp does for that
// pre-tokenizer; transformers adds none.
func TestGGUFConvert(t *testing.T) {
	bin := tool(t, "convert")
	dir := t.TempDir()
	var made struct {
		Files []struct {
			Name, File, Pre string
			Tied            bool
		}
	}
	ggufPy(t, &made, "make", dir)
	if len(made.Files) == 0 {
		t.Fatal("ggufjudge.py made no files")
	}
	texts := filepath.Join(dir, "texts.json")
	b, _ := json.Marshal(ggufTexts)
	if err := os.WriteFile(texts, b, 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"judge", dir, texts}
	for _, f := range made.Files {
		out := filepath.Join(dir, f.Name)
		cmd := exec.Command(bin, "-q", filepath.Join(dir, f.File), "-o", out)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("convert %s: %v\n%s", f.File, err, b)
		}
		args = append(args, f.File, out)
	}
	var res struct{ Results []ggufVerdict }
	ggufPy(t, &res, args...)
	if len(res.Results) != len(made.Files) {
		t.Fatalf("%d verdicts for %d files", len(res.Results), len(made.Files))
	}
	for i, v := range res.Results {
		f := made.Files[i]
		bosAdded := f.Name == "q4_k-q6_k-llama-bpe" // llama-bpe, no add_bos_token key
		w := v.check(t, bosAdded)
		t.Logf("%s: %d parameters, max weight diff %g, max logit diff %g, %d texts tokenized alike", f.Name, v.Params, w, v.Logits, len(v.Tokens))
		if v.Config["tie_word_embeddings"] != f.Tied {
			t.Errorf("%s: tie_word_embeddings %v, want %v", f.Name, v.Config["tie_word_embeddings"], f.Tied)
		}
		// ytrain's own tokenizer reads the folder and agrees with transformers
		tok, err := bpe.Load(filepath.Join(dir, f.Name))
		if err != nil {
			t.Errorf("%s: bpe.Load: %v", f.Name, err)
			continue
		}
		for _, tk := range v.Tokens {
			if got := tok.Encode(tk.Text); !slices.Equal(got, tk.Transformers) {
				t.Errorf("%s: bpe encodes %q as %v, transformers %v", f.Name, tk.Text, got, tk.Transformers)
			}
		}
	}
}

// The real SmolLM2-135M-Instruct GGUF (make smollm2 downloads it), when
// present: converted, it is transformers' own GGUF load of the file, and
// it answers the capital of France.
func TestGGUFConvertSmolLM2(t *testing.T) {
	root := testenv.ModuleRoot(t)
	src := filepath.Join(root, "build", "downloads", "SmolLM2-135M-Instruct.Q4_1.gguf")
	if _, err := os.Stat(src); err != nil {
		t.Skipf("no %s (make smollm2 fetches it): %v", src, err)
	}
	testenv.Python(t)
	bin := tool(t, "convert")
	out := filepath.Join(t.TempDir(), "smollm2")
	cmd := exec.Command(bin, src, "-o", out)
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("convert: %v\n%s", err, b)
	}
	t.Logf("%s", bytes.TrimSpace(b))
	texts := filepath.Join(t.TempDir(), "texts.json")
	jb, _ := json.Marshal(append(slices.Clone(ggufTexts), "Hello \x04 world", "What is the capital of France?"))
	if err := os.WriteFile(texts, jb, 0o644); err != nil {
		t.Fatal(err)
	}
	var res struct{ Results []ggufVerdict }
	ggufPy(t, &res, "judge", filepath.Dir(src), texts, filepath.Base(src), out)
	if len(res.Results) != 1 {
		t.Fatalf("%d verdicts", len(res.Results))
	}
	v := res.Results[0]
	w := v.check(t, false)
	t.Logf("SmolLM2: %d parameters, max weight diff %g, max logit diff %g, %d texts tokenized alike", v.Params, w, v.Logits, len(v.Tokens))
	if v.Params != 134515008 {
		t.Errorf("%d parameters, want SmolLM2-135M's 134,515,008", v.Params)
	}
	var gen struct{ Reply string }
	ggufPy(t, &gen, "generate", out, "What is the capital of France?")
	t.Logf("SmolLM2 (converted, transformers, greedy): %q", gen.Reply)
	if !strings.Contains(gen.Reply, "Paris") {
		t.Errorf("reply %q does not mention Paris", gen.Reply)
	}
	// SmolLM2's vocab lacks 21 byte tokens; ytrain's bpe refuses such
	// vocabs until it drops missing bytes as HF does (branch tok)
	if _, err := bpe.Load(out); err != nil {
		if strings.Contains(err.Error(), "no token for byte") {
			t.Logf("bpe.Load skipped: %v", err)
		} else {
			t.Errorf("bpe.Load: %v", err)
		}
	}
}
