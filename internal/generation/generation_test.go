package generation

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/ytrain/ytrain/internal/model"
	"github.com/ytrain/ytrain/internal/modeltest"
	"github.com/ytrain/ytrain/internal/seq"
	"github.com/ytrain/ytrain/internal/tinymodel"
)

func init() { runtime.LockOSThread() }

func load(t *testing.T) *model.Model {
	m, _ := modeltest.New(t, tinymodel.Spec{Arch: "LlamaForCausalLM", Vocab: 64, Seed: 3})
	return m
}

// argmaxChain runs the full sequence without a cache and returns the argmax
// token after each position.
func argmaxChain(t *testing.T, m *model.Model, ids []int32) []int32 {
	s := seq.FromIDs(ids)
	out := make([]int32, len(ids))
	for i, row := range modeltest.Logits(t, m, s.IDs, s.Pos, s.Seg) {
		best := 0
		for j, x := range row {
			if x > row[best] {
				best = j
			}
		}
		out[i] = int32(best)
	}
	return out
}

// Greedy generation with the cache, in a left-padded batch, equals the
// argmax chain of full forward passes.
func TestGreedyEqualsFullForward(t *testing.T) {
	m := load(t)
	g := &Generator{M: m, MaxNew: 10, Stops: map[int32]bool{}}
	prompts := [][]int32{{5, 9, 13, 2, 7}, {40}, {1, 2, 3}}
	res, err := g.Generate(prompts)
	if err != nil {
		t.Fatal(err)
	}
	for b, p := range prompts {
		r := res[b]
		if len(r.Tokens) != 10 || r.Finish != "length" {
			t.Fatalf("row %d: %d tokens, finish %q", b, len(r.Tokens), r.Finish)
		}
		full := append(append([]int32(nil), p...), r.Tokens...)
		chain := argmaxChain(t, m, full)
		for k, tok := range r.Tokens {
			if want := chain[len(p)-1+k]; tok != want {
				t.Fatalf("row %d token %d: generated %d, full forward argmax %d", b, k, tok, want)
			}
		}
	}
}

func TestStopsAndSampling(t *testing.T) {
	m := load(t)
	greedy := &Generator{M: m, MaxNew: 10, Stops: map[int32]bool{}}
	res, _ := greedy.Generate([][]int32{{5, 9}})
	stop := res[0].Tokens[3]
	g := &Generator{M: m, MaxNew: 10, Stops: map[int32]bool{stop: true}}
	res, _ = g.Generate([][]int32{{5, 9}})
	if res[0].Finish != "stop" || len(res[0].Tokens) > 3 {
		t.Fatalf("stop token %d: got %v", stop, res[0])
	}
	sample := func(seed int64) []int32 {
		g := &Generator{M: m, MaxNew: 12, Stops: map[int32]bool{}, Sampling: Sampling{Temperature: 1.5, TopK: 20, TopP: 0.9, Seed: seed}}
		r, err := g.Generate([][]int32{{5, 9}})
		if err != nil {
			t.Fatal(err)
		}
		return r[0].Tokens
	}
	a, b, c := sample(1), sample(1), sample(2)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatal("same seed, different samples")
	}
	if fmt.Sprint(a) == fmt.Sprint(c) {
		t.Fatal("different seeds, same 12 samples")
	}
}

// An answer that stops leaves the batch; the others go on exactly as they
// would alone (the cache rows of each survive the selection).
func TestFinishedRowsLeaveTheBatch(t *testing.T) {
	m := load(t)
	prompts := [][]int32{{5, 9, 13, 2, 7}, {40}, {1, 2, 3}, {7, 7}}
	free := &Generator{M: m, MaxNew: 12, Stops: map[int32]bool{}}
	first, err := free.Generate(prompts[:1])
	if err != nil {
		t.Fatal(err)
	}
	stops := map[int32]bool{first[0].Tokens[2]: true} // the first prompt stops early
	g := &Generator{M: m, MaxNew: 12, Stops: stops}
	batch, err := g.Generate(prompts)
	if err != nil {
		t.Fatal(err)
	}
	if batch[0].Finish != "stop" || len(batch[0].Tokens) > 2 {
		t.Fatalf("row 0 should stop within 3 tokens: %v", batch[0])
	}
	for b, p := range prompts {
		alone, err := (&Generator{M: m, MaxNew: 12, Stops: stops}).Generate([][]int32{p})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(alone[0]) != fmt.Sprint(batch[b]) {
			t.Fatalf("row %d: in the batch %v, alone %v", b, batch[b], alone[0])
		}
	}
}
