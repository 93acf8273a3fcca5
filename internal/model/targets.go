package model

import (
	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"

	"github.com/ytrain/ytrain/internal/torch"
)

// logitBudget bounds the float32 logits held at once (elements), so a large
// vocabulary does not need B·T·V memory: targets are scored in chunks.
const logitBudget = 32 << 20

// TargetStats returns, for each target k, the cross-entropy of token
// targets[k] under the distribution predicted at flat position prev[k] of h
// (B, T, D), and the entropy (nats) of that same distribution.
func (m *Model) TargetStats(h *ts.Tensor, prev, targets []int64) (loss, entropy []float32, err error) {
	sz := h.MustSize()
	chunk := max(1, logitBudget/int(m.Cfg.Vocab))
	for start := 0; start < len(prev); start += chunk {
		end := min(start+chunk, len(prev))
		l, e, err := m.targetChunk(h, sz, prev[start:end], targets[start:end])
		if err != nil {
			return nil, nil, err
		}
		loss, entropy = append(loss, l...), append(entropy, e...)
	}
	return loss, entropy, nil
}

func (m *Model) targetChunk(h *ts.Tensor, sz []int64, prev, targets []int64) ([]float32, []float32, error) {
	s := &torch.Scope{}
	defer s.Drop()
	n := int64(len(prev))
	idx, err := torch.Int64s(prev, m.Device, n)
	if err != nil {
		return nil, nil, err
	}
	tgt, err := torch.Int64s(targets, m.Device, n, 1)
	if err != nil {
		return nil, nil, err
	}
	s.Add(idx)
	s.Add(tgt)
	flat := s.Add(h.MustView([]int64{sz[0] * sz[1], sz[2]}, false))                                     // (B*T, D)
	sel := s.Add(flat.MustIndexSelect(0, idx, false))                                                   // (n, D)
	logp := s.Add(m.Logits(s, sel).MustLogSoftmax(-1, gotch.Float, false))                              // (n, V)
	nll := s.Add(s.Add(logp.MustGather(1, tgt, false, false)).MustNeg(false))                           // (n, 1)
	plogp := s.Add(s.Add(logp.MustExp(false)).MustMul(logp, false))                                     // (n, V)
	ent := s.Add(s.Add(plogp.MustSumDimIntlist([]int64{-1}, false, gotch.Float, false)).MustNeg(false)) // (n)
	loss, err := torch.Float32s(nll)
	if err != nil {
		return nil, nil, err
	}
	entropy, err := torch.Float32s(ent)
	return loss, entropy, err
}
