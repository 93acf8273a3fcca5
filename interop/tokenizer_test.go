package interop_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/ytrain/ytrain/internal/bpe"
	"github.com/ytrain/ytrain/internal/bpe/bpetest"
	"github.com/ytrain/ytrain/internal/testenv"
)

// Byte-level vocabs without some byte tokens (SmolLM2-135M's lacks 21) encode
// and decode as in HF tokenizers: GPT-2's file less those bytes, with
// unk_token null (the byte is dropped), set, fused, with byte_fallback, and
// less bytes that merges use too (and with ignore_merges), on the shared
// golden texts and on texts holding the missing bytes. Ids must be equal on
// every text, and bpe's Decode of HF's ids must be HF's decode.
func TestMissingBytesMatchHF(t *testing.T) {
	testenv.Python(t)
	work := t.TempDir()
	src := testenv.SharedPath(t, "tokenizers", "gpt2", "tokenizer.json")
	smol := bpetest.SmolLM2Missing
	more := append(slices.Clone(smol), '\n', 'x', 0xE2) // 'x' and 0xE2 (“, ’, —) are in many merges
	variants := map[string]bpetest.Edit{
		"drop":          {Drop: smol},
		"unk":           {Drop: smol, Unk: "<unk>"},
		"fuse-unk":      {Drop: smol, Unk: "<unk>", FuseUnk: true},
		"byte-fallback": {Drop: smol, Unk: "<unk>", Fallback: []byte{0xC4, 0x84, 0x86, 0x93, 0xC3, 0xB1}}, // 0x04 0x06 0x13 0xF1's chars
		"drop-merged":   {Drop: more},
		"ignore-merges": {Drop: more, IgnoreMerges: true},
	}
	var names, paths []string
	for name, e := range variants {
		names = append(names, name)
		paths = append(paths, bpetest.Write(t, src, filepath.Join(work, name), e))
	}
	var texts []string
	for _, corpus := range []string{"corpus", "stress"} {
		texts = append(texts, testenv.ReadJSONL[string](t, testenv.SharedPath(t, "tokenizers", "golden", corpus+".jsonl"))...)
	}
	texts = append(texts, bpetest.Texts(texts[:5620], 3000, 1)...)
	textsPath := filepath.Join(work, "texts.jsonl")
	f, err := os.Create(textsPath)
	if err != nil {
		t.Fatal(err)
	}
	enc := json.NewEncoder(f)
	for _, s := range texts {
		enc.Encode(s)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	var want map[string]struct {
		IDs     [][]int32 `json:"ids"`
		Decoded []string  `json:"decoded"`
	}
	hf(t, work, &want, append([]string{"encode", textsPath}, paths...)...)
	for i, name := range names {
		t.Run(name, func(t *testing.T) {
			tok, err := bpe.Load(paths[i])
			if err != nil {
				t.Fatal(err)
			}
			w := want[paths[i]]
			if len(w.IDs) != len(texts) || len(w.Decoded) != len(texts) {
				t.Fatalf("HF encoded %d texts, decoded %d, of %d", len(w.IDs), len(w.Decoded), len(texts))
			}
			idsBad, decBad, missing := 0, 0, 0
			for k, s := range texts {
				got := tok.Encode(s)
				if !slices.Equal(got, w.IDs[k]) {
					if idsBad++; idsBad <= 5 {
						t.Errorf("text %d %q:\n got  %v\n want %v", k, clip(s), got, w.IDs[k])
					}
				}
				if d := tok.Decode(w.IDs[k]); d != w.Decoded[k] {
					if decBad++; decBad <= 5 {
						t.Errorf("text %d %q: Decode(HF's ids) %q, HF %q", k, clip(s), clip(d), clip(w.Decoded[k]))
					}
				}
				if d := tok.Decode(got); d != s {
					missing++ // a missing byte (or unk) changed the text
				}
			}
			t.Logf("%s: ids equal on %d/%d texts, decoding on %d/%d; %d texts hold bytes without a token",
				name, len(texts)-idsBad, len(texts), len(texts)-decBad, len(texts), missing)
			if missing == 0 {
				t.Error("no text holds a missing byte: the comparison proves nothing")
			}
		})
	}
}

func clip(s string) string {
	if len(s) > 100 {
		return s[:100] + "…"
	}
	return s
}

// A model folder as transformers 5 saves it (chat_template.jinja beside a
// tokenizer_config.json without chat_template, "tokenizer_class":
// "TokenizersBackend", rope_parameters and dtype in config.json), with
// SmolLM2's tokenizer shape (GPT-2's file less its 21 bytes, its special
// tokens and template): tokenize's ids are transformers' apply_chat_template
// + tokenizer, also on conversations holding the missing bytes; score's
// losses are transformers'; generate's greedy answers are its, decoded
// alike; train's adapter and merged folders carry the template, and
// tokenize on the merged folder gives the same ids.
func TestTransformers5Folder(t *testing.T) {
	testenv.Python(t)
	work := t.TempDir()
	model := filepath.Join(work, "model")
	tokJSON := bpetest.Write(t, testenv.SharedPath(t, "tokenizers", "gpt2", "tokenizer.json"), filepath.Join(work, "tok"),
		bpetest.Edit{Drop: bpetest.SmolLM2Missing, Special: []string{"<|im_start|>", "<|im_end|>"}})
	var made struct{ Vocab int }
	hf(t, work, &made, "make-chat-model", model, tokJSON)

	// the fixture is what transformers 5 writes, or the test proves nothing
	read := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	var tcfg map[string]any
	json.Unmarshal([]byte(read(filepath.Join(model, "tokenizer_config.json"))), &tcfg)
	if _, ok := tcfg["chat_template"]; ok || tcfg["tokenizer_class"] != "TokenizersBackend" {
		t.Fatalf("tokenizer_config.json is not transformers 5's: %v", tcfg)
	}
	var mcfg map[string]any
	json.Unmarshal([]byte(read(filepath.Join(model, "config.json"))), &mcfg)
	if mcfg["rope_parameters"] == nil || mcfg["dtype"] == nil || mcfg["torch_dtype"] != nil || mcfg["rope_theta"] != nil {
		t.Fatalf("config.json is not transformers 5's: %v", mcfg)
	}
	template := read(filepath.Join(model, "chat_template.jinja"))

	// the shared conversations, and some with the bytes the vocab lacks
	convs := testenv.ReadJSONL[map[string]any](t, testenv.SharedPath(t, "tokenizers", "golden", "chat.qwen3.jsonl"))
	for i, s := range bpetest.Cases {
		convs = append(convs, map[string]any{"id": fmt.Sprintf("missing%d", i), "messages": []map[string]string{
			{"role": "user", "content": "say " + s}, {"role": "assistant", "content": s + " and " + s}}})
	}
	convPath := filepath.Join(work, "convs.jsonl")
	var b bytes.Buffer
	for _, c := range convs {
		line, _ := json.Marshal(map[string]any{"id": c["id"], "messages": c["messages"]})
		b.Write(append(line, '\n'))
	}
	if err := os.WriteFile(convPath, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var want map[string]struct {
		Text     string  `json:"text"`
		InputIDs []int32 `json:"input_ids"`
	}
	hf(t, work, &want, "chat", model, convPath)
	tokens := filepath.Join(work, "tokens.jsonl")
	run(t, work, "tokenize", "--tokenizer", model, "--format", "jsonl", "-o", tokens, convPath)
	got := tokenIDs(t, tokens)
	if len(got) != len(want) || len(want) != len(convs) {
		t.Fatalf("tokenize wrote %d records, transformers %d, of %d conversations", len(got), len(want), len(convs))
	}
	bad := 0
	for id, w := range want {
		if !slices.Equal(got[id], w.InputIDs) {
			bad++
			t.Errorf("%s: tokenize's ids differ from transformers' for %q:\n got %v\nwant %v", id, w.Text, got[id], w.InputIDs)
		}
	}
	t.Logf("tokenize = apply_chat_template + tokenizer on %d/%d conversations (%d with missing bytes)", len(want)-bad, len(want), len(bpetest.Cases))

	// f32 over a 50k vocab: transformers' own f32 losses here are 7e-6 from its
	// float64 ones, ytrain's 1.2e-5 from its f32 ones (libtorch 1.13 and 2.11)
	d := lossDiff(t, work, model, tokens)
	t.Logf("score: max |loss(score) - loss(transformers)| = %.2g", d)
	if d > 3e-5 {
		t.Errorf("score differs from transformers by %g > 3e-5", d)
	}

	// greedy answers, decoded by a vocab that lacks bytes, are transformers'
	var q bytes.Buffer
	for i, s := range bpetest.Cases {
		line, _ := json.Marshal(map[string]string{"id": fmt.Sprintf("q%d", i), "prompt": "Repeat: " + s, "reference": s})
		q.Write(append(line, '\n'))
	}
	questions := filepath.Join(work, "questions.jsonl")
	if err := os.WriteFile(questions, q.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	answers := filepath.Join(work, "answers.jsonl")
	run(t, work, "generate", "--model", model, "--max-new-tokens", "12", "-o", answers, questions)
	var greedy map[string]struct {
		IDs  []int32 `json:"ids"`
		Text string  `json:"text"`
	}
	hf(t, work, &greedy, "generate", model, questions, "12")
	same, generated := 0, 0
	for _, a := range testenv.ReadJSONL[struct {
		ID       string `json:"id"`
		Response string `json:"response"`
		NTokens  int    `json:"n_tokens"`
	}](t, answers) {
		w := greedy[a.ID]
		if a.Response != w.Text || a.NTokens != len(w.IDs) {
			t.Errorf("%s: generate answered %q (%d tokens), transformers %q (%v)", a.ID, a.Response, a.NTokens, w.Text, w.IDs)
			continue
		}
		same++
		generated += a.NTokens
	}
	t.Logf("generate = transformers' greedy answer on %d/%d questions (%d tokens)", same, len(greedy), generated)
	if same != len(bpetest.Cases) || generated == 0 {
		t.Errorf("%d answers equal of %d questions, %d tokens", same, len(bpetest.Cases), generated)
	}

	runDir := filepath.Join(work, "run")
	run(t, work, "train", "--model", model, "--output", runDir, "--dtype", "f32", "--lora-rank", "4", "--token-batch", "0",
		"--batch-size", "8", "--epochs", "1", "--merge", tokens)
	for _, dir := range []string{"final", "merged"} {
		if got := read(filepath.Join(runDir, dir, "chat_template.jinja")); got != template {
			t.Errorf("%s/chat_template.jinja differs from the base's:\n%s", dir, got)
		}
	}
	again := filepath.Join(work, "merged.tokens.jsonl")
	run(t, work, "tokenize", "--tokenizer", filepath.Join(runDir, "merged"), "--format", "jsonl", "-o", again, convPath)
	if m := tokenIDs(t, again); !reflect.DeepEqual(m, got) {
		t.Errorf("tokenize on merged/ gives other ids than on the base")
	}
}

// tokenIDs reads tokenize's JSONL output: each record's ids by id.
func tokenIDs(t *testing.T, path string) map[string][]int32 {
	t.Helper()
	recs := testenv.ReadJSONL[struct {
		ID       string  `json:"id"`
		InputIDs []int32 `json:"input_ids"`
	}](t, path)
	m := map[string][]int32{}
	for _, r := range recs {
		m[r.ID] = r.InputIDs
	}
	return m
}
