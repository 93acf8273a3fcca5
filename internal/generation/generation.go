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
// A finished answer leaves the batch (its rows of the cache are dropped), so
// a long answer does not keep the short ones' rows computing.
func (g *Generator) Generate(prompts [][]int32) ([]Result, error) {
	if g.rng == nil {
		g.rng = rand.New(rand.NewSource(g.Sampling.Seed))
	}
	seqs := make([]*seq.Seq, len(prompts))
	next := make([]int64, len(prompts)) // each active row's next position
	for b, p := range prompts {
		seqs[b], next[b] = seq.FromIDs(p), int64(len(p))
	}
	cur := seq.LeftPadded(seqs) // (B, P)
	S := cur.T
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
	res := make([]Result, len(prompts))
	rows := make([]int, len(prompts)) // active row → prompt
	for b := range rows {
		rows[b] = b
	}
	for step := 0; step < g.MaxNew && len(rows) > 0; step++ {
		toks, err := g.step(cur, segK, S, cache)
		if err != nil {
			return nil, err
		}
		B := int64(len(rows))
		keep := make([]int64, 0, B) // active rows that go on
		for b := int64(0); b < B; b++ {
			tok, r := toks[b], &res[rows[b]]
			switch {
			case g.M.Cfg.MaxPos > 0 && next[b] >= g.M.Cfg.MaxPos:
				r.Finish = "length" // the model's positions end here
			case g.Stops[tok]:
				r.Finish = "stop"
			default:
				r.Tokens = append(r.Tokens, tok)
				g.Generated++
				keep = append(keep, b)
			}
		}
		if len(keep) < int(B) {
			if err := g.keep(cache, keep); err != nil {
				return nil, err
			}
		}
		nb := int64(len(keep))
		nextCur := &seq.Batch{B: nb, T: 1, IDs: make([]int64, nb), Pos: make([]int64, nb), Seg: make([]int64, nb)}
		newSegK := make([]int64, 0, nb*(S+1))
		newRows, newNext := make([]int, 0, nb), make([]int64, 0, nb)
		for i, b := range keep {
			nextCur.IDs[i], nextCur.Pos[i], nextCur.Seg[i] = int64(toks[b]), next[b], 1
			newSegK = append(append(newSegK, segK[b*S:(b+1)*S]...), 1)
			newRows, newNext = append(newRows, rows[b]), append(newNext, next[b]+1)
		}
		cur, segK, S, rows, next = nextCur, newSegK, S+1, newRows, newNext
	}
	for b := range res {
		if res[b].Finish == "" {
			res[b].Finish = "length"
		}
	}
	return res, nil
}

// keep keeps the cache rows of the answers that go on.
func (g *Generator) keep(cache []*model.KV, keep []int64) error {
	if len(keep) == 0 {
		return nil // the batch is done
	}
	idx, err := torch.Int64s(keep, g.M.Device, int64(len(keep)))
	if err != nil {
		return err
	}
	defer idx.MustDrop()
	for _, kv := range cache {
		if err := kv.Keep(idx); err != nil {
			return err
		}
	}
	return nil
}

// step runs the new positions of b (B, T) against the cache, whose keys so
// far have segments segK (B, S), and returns each row's next token. Greedy
// picks on the device, so only B ids come back, not (B, V) logits.
func (g *Generator) step(b *seq.Batch, segK []int64, S int64, cache []*model.KV) ([]int32, error) {
	s := &torch.Scope{}
	defer s.Drop()
	dev := g.M.Device
	ids, pos, err := b.Tensors(s, dev)
	if err != nil {
		return nil, err
	}
	segQ, err := seq.Upload(s, dev, b.Seg, b.B, b.T)
	if err != nil {
		return nil, err
	}
	segKT, err := seq.Upload(s, dev, segK, b.B, S)
	if err != nil {
		return nil, err
	}
	h, err := g.M.Hidden(s, ids, pos, &model.Layout{Mask: model.CacheMask(s, segQ, segKT)}, cache) // (B, T, D)
	if err != nil {
		return nil, err
	}
	last := s.Add(h.MustNarrow(1, b.T-1, 1, false)) // (B, 1, D)
	logits := g.M.Logits(s, last)                   // (B, 1, V) float32
	toks := make([]int32, b.B)
	if g.Sampling.Temperature <= 0 {
		am, err := logits.Argmax([]int64{-1}, false, false) // (B, 1)
		if err != nil {
			return nil, err
		}
		ids, err := torch.ReadInt64s(s.Add(am))
		if err != nil {
			return nil, err
		}
		for i, id := range ids {
			toks[i] = int32(id)
		}
		return toks, nil
	}
	all, err := torch.Float32s(logits)
	if err != nil {
		return nil, err
	}
	V := int64(len(all)) / b.B
	for i := range toks {
		toks[i] = g.pick(all[int64(i)*V : int64(i+1)*V])
	}
	return toks, nil
}

// pick samples a token from one row of logits (Temperature > 0).
func (g *Generator) pick(logits []float32) int32 {
	sp := g.Sampling
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
	// sorting the vocabulary only pays when top-k or top-p cut it
	if (sp.TopK > 0 && sp.TopK < len(cs)) || (sp.TopP > 0 && sp.TopP < 1) {
		sort.SliceStable(cs, func(i, j int) bool { return cs[i].p > cs[j].p })
	}
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
