// Package generation answers prompts with a decoder: batched, with a KV
// cache, greedy or sampled (temperature, top-k, top-p).
package generation

import (
	"math"
	"math/rand"
	"sort"

	"github.com/ytrain/ytrain/internal/model"
	"github.com/ytrain/ytrain/internal/seq"
	"github.com/ytrain/ytrain/internal/torch"
)

// Sampling chooses the next token; Temperature 0 is greedy.
type Sampling struct {
	Temperature float64
	TopK        int     // 0: no limit
	TopP        float64 // 1: no limit
	Seed        int64
}

// Generator holds what stays the same across batches.
type Generator struct {
	M         *model.Model
	Stops     map[int32]bool // tokens that end an answer (not part of it)
	MaxNew    int
	Sampling  Sampling
	rng       *rand.Rand
	Generated int64 // tokens generated so far
}

// Result is one prompt's answer.
type Result struct {
	Tokens []int32
	// Finish is "stop" when a stop token ended the answer, "length" when
	// MaxNew tokens were generated without one.
	Finish string
}

// Generate answers a batch of prompts (token ids). Prompts are left-padded
// to one length; padding is its own segment, so no prompt attends to it.
func (g *Generator) Generate(prompts [][]int32) ([]Result, error) {
	if g.rng == nil {
		g.rng = rand.New(rand.NewSource(g.Sampling.Seed))
	}
	seqs := make([]*seq.Seq, len(prompts))
	next := make([]int64, len(prompts)) // each row's next position
	for b, p := range prompts {
		seqs[b], next[b] = seq.FromIDs(p), int64(len(p))
	}
	cur := seq.LeftPadded(seqs) // (B, P)
	B, S := cur.B, cur.T
	segK := append([]int64(nil), cur.Seg...) // (B, S): keys so far
	cache := make([]*model.KV, len(g.M.Layers))
	for i := range cache {
		cache[i] = &model.KV{}
	}
	defer func() {
		for _, kv := range cache {
			kv.Drop()
		}
	}()
	res := make([]Result, B)
	done := 0
	for step := 0; step < g.MaxNew && done < int(B); step++ {
		logits, err := g.step(cur, segK, S, cache)
		if err != nil {
			return nil, err
		}
		V := len(logits) / int(B)
		cur = &seq.Batch{B: B, T: 1, IDs: make([]int64, B), Pos: make([]int64, B), Seg: make([]int64, B)}
		newSegK := make([]int64, 0, B*(S+1))
		for b := int64(0); b < B; b++ {
			tok := g.pick(logits[b*int64(V) : (b+1)*int64(V)])
			r := &res[b]
			if r.Finish == "" && g.M.Cfg.MaxPos > 0 && next[b] >= g.M.Cfg.MaxPos {
				r.Finish = "length" // the model's positions end here
				done++
			}
			if r.Finish == "" {
				if g.Stops[tok] {
					r.Finish = "stop"
					done++
				} else {
					r.Tokens = append(r.Tokens, tok)
					g.Generated++
				}
			}
			cur.IDs[b], cur.Pos[b], cur.Seg[b] = int64(tok), next[b], 1
			next[b]++
			newSegK = append(append(newSegK, segK[b*S:(b+1)*S]...), 1)
		}
		segK, S = newSegK, S+1
	}
	for b := range res {
		if res[b].Finish == "" {
			res[b].Finish = "length"
		}
	}
	return res, nil
}

// step runs the new positions of b (B, T) against the cache, whose keys so
// far have segments segK (B, S), and returns the float32 logits of each
// row's last position, (B·V).
func (g *Generator) step(b *seq.Batch, segK []int64, S int64, cache []*model.KV) ([]float32, error) {
	s := &torch.Scope{}
	defer s.Drop()
	dev := g.M.Device
	ids, pos, segQ, err := b.Tensors(s, dev)
	if err != nil {
		return nil, err
	}
	segKT, err := seq.Upload(s, dev, segK, b.B, S)
	if err != nil {
		return nil, err
	}
	h, err := g.M.Hidden(s, ids, pos, model.CacheMask(s, segQ, segKT), cache) // (B, T, D)
	if err != nil {
		return nil, err
	}
	last := s.Add(h.MustNarrow(1, b.T-1, 1, false)) // (B, 1, D)
	return torch.Float32s(g.M.Logits(s, last))
}

// pick chooses a token from one row of logits.
func (g *Generator) pick(logits []float32) int32 {
	sp := g.Sampling
	if sp.Temperature <= 0 {
		best := 0
		for i, v := range logits {
			if v > logits[best] {
				best = i
			}
		}
		return int32(best)
	}
	type cand struct {
		id int
		p  float64
	}
	cs := make([]cand, len(logits))
	mx := math.Inf(-1)
	for _, v := range logits {
		mx = math.Max(mx, float64(v))
	}
	for i, v := range logits {
		cs[i] = cand{i, math.Exp((float64(v) - mx) / sp.Temperature)}
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].p > cs[j].p })
	if sp.TopK > 0 && sp.TopK < len(cs) {
		cs = cs[:sp.TopK]
	}
	total := 0.0
	for _, c := range cs {
		total += c.p
	}
	if sp.TopP > 0 && sp.TopP < 1 { // smallest prefix whose mass reaches top-p
		acc := 0.0
		for i, c := range cs {
			acc += c.p / total
			if acc >= sp.TopP {
				cs = cs[:i+1]
				break
			}
		}
		total = 0
		for _, c := range cs {
			total += c.p
		}
	}
	r := g.rng.Float64() * total
	for _, c := range cs {
		if r -= c.p; r <= 0 {
			return int32(c.id)
		}
	}
	return int32(cs[len(cs)-1].id)
}
