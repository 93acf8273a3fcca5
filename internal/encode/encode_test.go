package encode

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ytrain/ytrain/formats"
	"github.com/ytrain/ytrain/internal/bpe"
	"github.com/ytrain/ytrain/internal/chat"
	"github.com/ytrain/ytrain/internal/corpus"
	"github.com/ytrain/ytrain/internal/testenv"
)

type goldenChat struct {
	ID       string `json:"id"`
	Messages []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"messages"`
}

type goldenIDs struct {
	ID        string  `json:"id"`
	FullIDs   []int32 `json:"full_ids"`
	PromptIDs []int32 `json:"prompt_ids"`
}

// The SFT path end to end against HF: the ids of a templated conversation
// equal HF's, and the targets are exactly the answer tokens of every
// assistant turn through their end-of-turn token.
func TestGoldenConversations(t *testing.T) {
	for _, model := range []string{"qwen3", "llama3"} {
		t.Run(model, func(t *testing.T) {
			dir := testenv.SharedPath(t, "tokenizers")
			tok, err := bpe.Load(filepath.Join(dir, model))
			if err != nil {
				t.Fatal(err)
			}
			tpl, err := chat.Load(filepath.Join(dir, model))
			if err != nil {
				t.Fatal(err)
			}
			eot, _ := tok.TokenID(tpl.EndOfTurn())
			enc := New(tok, tpl, Options{Objective: corpus.SFT})
			convs := testenv.ReadJSONL[goldenChat](t, filepath.Join(dir, "golden", "chat."+model+".jsonl"))
			ids := testenv.ReadJSONL[goldenIDs](t, filepath.Join(dir, "golden", "chat."+model+".ids.jsonl"))
			checked := 0
			for i, c := range convs {
				ex := &corpus.Example{ID: c.ID}
				turns := 0
				for _, m := range c.Messages {
					ex.Messages = append(ex.Messages, chat.Message{Role: m.Role, Content: m.Content})
					if m.Role == "assistant" {
						turns++
					}
				}
				rec, err := enc.Encode(ex)
				if err != nil {
					t.Fatalf("%s: %v", c.ID, err)
				}
				g := ids[i]
				if !reflect.DeepEqual(rec.InputIDs, g.FullIDs) {
					t.Fatalf("%s: ids differ from HF\n got %v\nwant %v", c.ID, rec.InputIDs, g.FullIDs)
				}
				if runs := targetRuns(rec.LossMask); len(runs) != turns {
					t.Fatalf("%s: %d target runs for %d assistant turns", c.ID, len(runs), turns)
				}
				for _, r := range targetRuns(rec.LossMask) {
					if rec.InputIDs[r[1]-1] != eot {
						t.Fatalf("%s: target run %v does not end with the end-of-turn token", c.ID, r)
					}
				}
				// where HF's generation prompt is a prefix, the last turn's targets start right after it
				if p := g.PromptIDs; len(p) < len(g.FullIDs) && reflect.DeepEqual(g.FullIDs[:len(p)], p) {
					runs := targetRuns(rec.LossMask)
					if last := runs[len(runs)-1]; last[0] != len(p) {
						t.Fatalf("%s: last turn's targets start at %d, HF's prompt ends at %d", c.ID, last[0], len(p))
					}
					checked++
				}
			}
			if checked == 0 {
				t.Fatal("no conversation had its prompt as a prefix")
			}
			t.Logf("%d conversations exact, %d prompt boundaries checked", len(convs), checked)
		})
	}
}

// targetRuns returns the [start, end) runs of consecutive targets.
func targetRuns(m formats.Mask) [][2]int {
	var runs [][2]int
	for t := 0; t < len(m); t++ {
		if m[t] == 1 && (t == 0 || m[t-1] == 0) {
			runs = append(runs, [2]int{t, t})
		}
		if m[t] == 1 {
			runs[len(runs)-1][1] = t + 1
		}
	}
	return runs
}

func TestMaxLen(t *testing.T) {
	tok, err := bpe.Load(testenv.SharedPath(t, "tokenizers", "gpt2"))
	if err != nil {
		t.Fatal(err)
	}
	ex := &corpus.Example{ID: "x", Text: strings.Repeat("word ", 20)}
	if _, err := New(tok, nil, Options{Objective: corpus.Text, MaxLen: 5}).Encode(ex); err == nil || !strings.Contains(err.Error(), "> --max-len 5") {
		t.Fatalf("got %v", err)
	}
	rec, err := New(tok, nil, Options{Objective: corpus.Text, MaxLen: 5, Truncate: true}).Encode(ex)
	if err != nil || len(rec.InputIDs) != 5 || rec.LossMask.Targets() != 4 {
		t.Fatalf("got %+v, %v", rec, err)
	}
}
