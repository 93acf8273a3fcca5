package model

import (
	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"

	"github.com/ytrain/ytrain/internal/torch"
)

// TargetLogits returns the float32 logits (N, V) at the flat positions prev
// (N) of the final hidden states h (B, T, D): the distributions that predict
// N targets.
func (m *Model) TargetLogits(s *torch.Scope, h, prev *ts.Tensor) *ts.Tensor {
	sz := h.MustSize()
	flat := s.Add(h.MustView([]int64{sz[0] * sz[1], sz[2]}, false)) // (B*T, D)
	sel := s.Add(flat.MustIndexSelect(0, prev, false))              // (N, D)
	return m.Logits(s, sel)                                         // (N, V)
}

// NLL is the cross-entropy −log softmax(logits)[tgt] of each target:
// logits (N, V), tgt (N, 1) → (N). logp is log_softmax(logits), for callers
// that also want the entropy.
func NLL(s *torch.Scope, logits, tgt *ts.Tensor) (nll, logp *ts.Tensor) {
	logp = s.Add(logits.MustLogSoftmax(-1, gotch.Float, false))                                                  // (N, V)
	nll = s.Add(s.Add(s.Add(logp.MustGather(1, tgt, false, false)).MustNeg(false)).MustView([]int64{-1}, false)) // (N)
	return nll, logp
}

// Entropy is −Σ p·log p (nats) of each row of log-probabilities logp (N, V) → (N).
func Entropy(s *torch.Scope, logp *ts.Tensor) *ts.Tensor {
	plogp := s.Add(s.Add(logp.MustExp(false)).MustMul(logp, false))                                     // (N, V)
	return s.Add(s.Add(plogp.MustSumDimIntlist([]int64{-1}, false, gotch.Float, false)).MustNeg(false)) // (N)
}

// TopKEntropy is the entropy (nats) of each row's k largest logits
// renormalised (EAFT's H_k): logits (N, V) → (N).
func TopKEntropy(s *torch.Scope, logits *ts.Tensor, k int) *ts.Tensor {
	top, idx := logits.MustTopk(int64(k), -1, true, false, false) // (N, k)
	s.Add(top)
	s.Add(idx)
	return Entropy(s, s.Add(top.MustLogSoftmax(-1, gotch.Float, false)))
}

// logitBudget bounds the float32 logits held at once (elements), so a large
// vocabulary does not need B·T·V memory: targets are scored in chunks.
const logitBudget = 32 << 20

// TargetStats returns, for each target k, the cross-entropy of token
// targets[k] under the distribution predicted at flat position prev[k] of h
// (B, T, D), and the entropy (nats) of that same distribution.
func (m *Model) TargetStats(h *ts.Tensor, prev, targets []int64) (loss, entropy []float32, err error) {
	chunk := max(1, logitBudget/int(m.Cfg.Vocab))
	for start := 0; start < len(prev); start += chunk {
		end := min(start+chunk, len(prev))
		l, e, err := m.targetChunk(h, prev[start:end], targets[start:end])
		if err != nil {
			return nil, nil, err
		}
		loss, entropy = append(loss, l...), append(entropy, e...)
	}
	return loss, entropy, nil
}

func (m *Model) targetChunk(h *ts.Tensor, prev, targets []int64) ([]float32, []float32, error) {
	s := &torch.Scope{}
	defer s.Drop()
	n := int64(len(prev))
	idx, err := torch.Int64s(prev, m.Device, n)
	if err != nil {
		return nil, nil, err
	}
	s.Add(idx)
	tgt, err := torch.Int64s(targets, m.Device, n, 1)
	if err != nil {
		return nil, nil, err
	}
	s.Add(tgt)
	nll, logp := NLL(s, m.TargetLogits(s, h, idx), tgt) // (n), (n, V)
	loss, err := torch.Float32s(nll)
	if err != nil {
		return nil, nil, err
	}
	entropy, err := torch.Float32s(Entropy(s, logp))
	return loss, entropy, err
}
