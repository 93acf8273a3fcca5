package encode

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ytrain/ytrain/internal/bpe"
	"github.com/ytrain/ytrain/internal/bpe/bpetest"
	"github.com/ytrain/ytrain/internal/chat"
	"github.com/ytrain/ytrain/internal/corpus"
	"github.com/ytrain/ytrain/internal/testenv"
)

// With a vocab that lacks bytes (SmolLM2's shape: GPT-2 less its 21 bytes,
// ChatML tokens in the vocab), the targets of each assistant turn decode to
// its answer with those bytes dropped (or as unk) and the end-of-turn token:
// the token offsets around a byte without a token still place the spans.
func TestMissingBytesTargets(t *testing.T) {
	for _, unk := range []string{"", "<unk>"} {
		dir := t.TempDir()
		path := bpetest.Write(t, testenv.SharedPath(t, "tokenizers", "gpt2", "tokenizer.json"), dir,
			bpetest.Edit{Drop: bpetest.SmolLM2Missing, Unk: unk, Special: []string{"<|im_start|>", "<|im_end|>"}})
		tok, err := bpe.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		tpl := chat.ChatML()
		enc := New(tok, tpl, Options{Objective: corpus.SFT})
		missing := map[byte]bool{}
		for _, b := range bpetest.SmolLM2Missing {
			missing[b] = true
		}
		strip := func(s string) string {
			var b strings.Builder
			for i := 0; i < len(s); i++ {
				if !missing[s[i]] {
					b.WriteByte(s[i])
				} else {
					b.WriteString(unk)
				}
			}
			return b.String()
		}
		n := 0
		for i, s := range bpetest.Cases {
			answers := []string{s, "ok " + s, s + "\x04"}
			ex := &corpus.Example{ID: filepath.Base(path), Messages: []chat.Message{
				{Role: "user", Content: "\x06" + s}, {Role: "assistant", Content: answers[0]},
				{Role: "user", Content: s}, {Role: "assistant", Content: answers[1]},
				{Role: "user", Content: "more"}, {Role: "assistant", Content: answers[2]}}}
			rec, err := enc.Encode(ex)
			if err != nil {
				t.Fatalf("case %d %q: %v", i, s, err)
			}
			runs := targetRuns(rec.LossMask)
			if len(runs) != len(answers) {
				t.Fatalf("unk %q, case %d %q: %d target runs for %d answers", unk, i, s, len(runs), len(answers))
			}
			for k, r := range runs {
				// Decode ends with Rust's from_utf8_lossy: the answer's bytes (of a
				// text without missing bytes: its tokens spell it) go through it too
				want := tok.Decode(tok.Encode(strip(answers[k]))) + tpl.EndOfTurn()
				if got := tok.Decode(rec.InputIDs[r[0]:r[1]]); got != want {
					t.Errorf("unk %q, case %d, answer %d: targets decode to %q, want %q", unk, i, k, got, want)
				}
				n++
			}
		}
		t.Logf("unk %q: %d answers' targets exact", unk, n)
	}
}
