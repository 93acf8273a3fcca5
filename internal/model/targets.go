package model

// The LM head of score and train, at the target positions only and chunk by
// chunk. A real vocabulary (SmolLM2: 49,152; Qwen: 151,936) makes the
// float32 logits the largest tensor of a step: 8k targets × 152k × 4 B is
// 5 GB, and log-softmax, the entropy and autograd's backward each as much
// again. Only the positions that predict a target need logits at all, and
// at most HeadRows of them exist at once: the loss, the entropy and, for
// training, the gradient of each target's loss with respect to its hidden
// state are computed chunk by chunk (Liger's fused linear cross-entropy).

import (
	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"

	"github.com/ytrain/ytrain/internal/torch"
)

// HeadBudget bounds the bytes of the (rows, V) float32 temporaries one
// chunk of the LM head holds at once.
const HeadBudget = 256 << 20

// headBuffers is how many (rows, V) float32 tensors a chunk holds at most:
// the logits and their log-softmax, then log-softmax, its exp and their
// product (entropy) or its exp cast to the model dtype (gradient).
const headBuffers = 4

// HeadRows is the number of targets the LM head takes at once.
func (m *Model) HeadRows() int64 {
	if m.HeadChunk > 0 {
		return m.HeadChunk
	}
	return max(1, HeadBudget/(headBuffers*4*m.Cfg.Vocab))
}

// TargetLogits returns the float32 logits (N, V) at the flat positions prev
// (N) of the final hidden states h (B, T, D): the distributions that predict
// N targets. It makes all N at once: for references and small N only.
func (m *Model) TargetLogits(s *torch.Scope, h, prev *ts.Tensor) *ts.Tensor {
	return m.Logits(s, rows(s, h, prev)) // (N, V)
}

// rows gathers the hidden states h (B, T, D) at the flat positions prev (N):
// (N, D).
func rows(s *torch.Scope, h, prev *ts.Tensor) *ts.Tensor {
	sz := h.MustSize()
	flat := s.Add(h.MustView([]int64{sz[0] * sz[1], sz[2]}, false)) // (B*T, D)
	return s.Add(flat.MustIndexSelect(0, prev, false))              // (N, D)
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

// TargetStats returns, for each target k, the cross-entropy of token
// targets[k] under the distribution predicted at flat position prev[k] of h
// (B, T, D), and the entropy (nats) of that same distribution.
func (m *Model) TargetStats(h *ts.Tensor, prev, targets []int64) (loss, entropy []float32, err error) {
	s := &torch.Scope{}
	defer s.Drop()
	n := int64(len(prev))
	idx, tgt, err := m.upload(s, prev, targets)
	if err != nil {
		return nil, nil, err
	}
	for start := int64(0); start < n; start += m.HeadRows() {
		c := min(m.HeadRows(), n-start)
		cs := &torch.Scope{}
		o := m.headChunk(cs, rows(cs, h, cs.Add(idx.MustNarrow(0, start, c, false))), cs.Add(tgt.MustNarrow(0, start, c, false)), headWant{entropy: true})
		l, err := torch.Float32s(o.nll)
		var e []float32
		if err == nil {
			e, err = torch.Float32s(o.entropy)
		}
		cs.Drop()
		if err != nil {
			return nil, nil, err
		}
		loss, entropy = append(loss, l...), append(entropy, e...)
	}
	return loss, entropy, nil
}

// upload puts prev (N) and targets (N, 1) on the model's device.
func (m *Model) upload(s *torch.Scope, prev, targets []int64) (idx, tgt *ts.Tensor, err error) {
	n := int64(len(prev))
	if idx, err = torch.Int64s(prev, m.Device, n); err != nil {
		return nil, nil, err
	}
	s.Add(idx)
	if tgt, err = torch.Int64s(targets, m.Device, n, 1); err != nil {
		return nil, nil, err
	}
	return idx, s.Add(tgt), nil
}

// TargetLoss is the forward pass of the LM head for training: what the
// weighting sees of each target, and what WeightedLoss needs to
// back-propagate the weighted sum once the weights are known.
type TargetLoss struct {
	Loss []float32 // (N) each target's cross-entropy
	TopK []float32 // (N) the entropy of its top-k distribution, when asked
	// grad is d loss_k / d h(prev_k) (N, D) float32 when the LM head is
	// frozen (LoRA); nil when it is trained, WeightedLoss then recomputes
	// each chunk under autograd.
	grad *ts.Tensor
}

// TargetLosses runs the LM head over the targets tgt (N, 1) predicted at
// the flat positions prev (N) of h (B, T, D), chunk by chunk without
// autograd; topK > 0 also gives each target's top-k entropy.
func (m *Model) TargetLosses(s *torch.Scope, h, prev, tgt *ts.Tensor, topK int) (*TargetLoss, error) {
	n := prev.MustSize()[0]
	frozen := !m.LMHead.MustRequiresGrad()
	var tl TargetLoss
	var grads []*ts.Tensor
	var err error
	noGrad(func() {
		for start := int64(0); start < n && err == nil; start += m.HeadRows() {
			c := min(m.HeadRows(), n-start)
			cs := &torch.Scope{}
			sel := rows(cs, h, cs.Add(prev.MustNarrow(0, start, c, false))) // (c, D)
			o := m.headChunk(cs, sel, cs.Add(tgt.MustNarrow(0, start, c, false)), headWant{topK: topK, grad: frozen})
			var l, e []float32
			l, err = torch.Float32s(o.nll)
			if err == nil && topK > 0 {
				e, err = torch.Float32s(o.topK)
			}
			if o.grad != nil {
				grads = append(grads, s.Add(o.grad.MustShallowClone())) // outlives the chunk
			}
			cs.Drop()
			tl.Loss, tl.TopK = append(tl.Loss, l...), append(tl.TopK, e...)
		}
	})
	if err != nil {
		return nil, err
	}
	if frozen {
		tl.grad = s.Add(ts.MustCat(grads, 0)) // (N, D)
	}
	return &tl, nil
}

// WeightedLoss returns a scalar whose backward puts into h, and into the LM
// head where it is trained, the gradient of Σ_k coef[k]·loss_k, the coef
// constants; a zero coef drops its term. Its value is not that sum (the
// caller has the losses): it is Σ h(prev)·∂, with ∂ the gradient at each
// target's hidden state, computed here chunk by chunk.
func (m *Model) WeightedLoss(s *torch.Scope, h, prev, tgt *ts.Tensor, tl *TargetLoss, coef []float32) (*ts.Tensor, error) {
	c, err := ts.OfSlice(coef)
	if err != nil {
		return nil, err
	}
	s.Add(c)
	if m.Device != gotch.CPU {
		c = s.Add(c.MustTo(m.Device, false))
	}
	c = s.Add(c.MustUnsqueeze(1, false))              // (N, 1)
	zero := s.Add(c.MustEq(ts.FloatScalar(0), false)) // (N, 1)
	d := tl.grad                                      // (N, D) unweighted
	if d == nil {
		if d, err = m.headBackward(s, h, prev, tgt, c); err != nil {
			return nil, err
		}
	} else {
		d = s.Add(d.MustMul(c, false))
	}
	d = s.Add(d.MustMaskedFill(zero, ts.FloatScalar(0), false)) // a zero weight drops even a non-finite term
	d = s.Add(d.MustTotype(m.DType, false))                     // (N, D)
	return s.Add(s.Add(rows(s, h, prev).MustMul(d, false)).MustSum(gotch.Float, false)), nil
}

// headBackward back-propagates Σ coef·loss through a trained LM head chunk
// by chunk, each chunk's logits recomputed under autograd from a detached
// copy of the target rows of h: the head's gradient accumulates, and the
// rows' gradient (N, D) float32 is returned.
func (m *Model) headBackward(s *torch.Scope, h, prev, tgt, coef *ts.Tensor) (*ts.Tensor, error) {
	n := prev.MustSize()[0]
	leaf := rows(s, s.Add(h.MustDetach(false)), prev) // (N, D), a leaf of its own
	inPlace(leaf, func() { leaf.MustRequiresGrad_(true) })
	for start := int64(0); start < n; start += m.HeadRows() {
		c := min(m.HeadRows(), n-start)
		cs := &torch.Scope{}
		logits := m.Logits(cs, cs.Add(leaf.MustNarrow(0, start, c, false)))                   // (c, V)
		nll, _ := NLL(cs, logits, cs.Add(tgt.MustNarrow(0, start, c, false)))                 // (c)
		w := cs.Add(cs.Add(coef.MustNarrow(0, start, c, false)).MustView([]int64{-1}, false)) // (c)
		wl := cs.Add(nll.MustMul(w, false))
		wl = cs.Add(wl.MustMaskedFill(cs.Add(w.MustEq(ts.FloatScalar(0), false)), ts.FloatScalar(0), false)) // 0·∞ is not 0
		err := cs.Add(wl.MustSum(gotch.Float, false)).Backward()
		cs.Drop()
		if err != nil {
			return nil, err
		}
	}
	return s.Add(s.Add(leaf.MustGrad(false)).MustTotype(gotch.Float, false)), nil
}

// headWant says what headChunk computes beyond the loss.
type headWant struct {
	entropy bool // the entropy of the whole distribution
	topK    int  // the entropy of the top-k distribution, when > 0
	grad    bool // d loss / d sel
}

// headOut is what headChunk computed; fields not asked for are nil.
type headOut struct {
	nll, entropy, topK *ts.Tensor // (n)
	grad               *ts.Tensor // (n, D) float32
}

// headChunk runs the LM head on the hidden rows sel (n, D) of targets tgt
// (n, 1), with grad mode off. Its (n, V) temporaries are dropped before it
// returns; the results are in s.
func (m *Model) headChunk(s *torch.Scope, sel, tgt *ts.Tensor, want headWant) headOut {
	var o headOut
	ls := &torch.Scope{}
	logits := m.Logits(ls, sel) // (n, V)
	if want.topK > 0 {
		o.topK = TopKEntropy(s, logits, want.topK) // (n)
	}
	logp := logits.MustLogSoftmax(-1, gotch.Float, false)                                                          // (n, V)
	ls.Drop()                                                                                                      // the logits
	o.nll = s.Add(s.Add(s.Add(logp.MustGather(1, tgt, false, false)).MustNeg(false)).MustView([]int64{-1}, false)) // (n)
	if !want.entropy && !want.grad {
		logp.MustDrop()
		return o
	}
	p := logp.MustExp(false) // (n, V)
	if want.entropy {
		plogp := p.MustMul(logp, false)                                                                          // (n, V)
		o.entropy = s.Add(s.Add(plogp.MustSumDimIntlist([]int64{-1}, false, gotch.Float, false)).MustNeg(false)) // (n)
		plogp.MustDrop()
	}
	logp.MustDrop()
	if want.grad {
		// d(−log softmax(z)[t])/dz = softmax(z) − onehot(t), then through
		// the linear layer: (n, V) · (V, D), in the model dtype as autograd does
		neg := s.Add(s.Add(ts.MustOnes(tgt.MustSize(), gotch.Float, m.Device)).MustNeg(false)) // (n, 1)
		p = p.MustScatterAdd(1, tgt, neg, true)                                                // (n, V)
		dz := p.MustTotype(m.DType, false)                                                     // (n, V)
		o.grad = s.Add(s.Add(dz.MustMm(m.LMHead, false)).MustTotype(gotch.Float, false))       // (n, D)
		dz.MustDrop()
	}
	p.MustDrop()
	return o
}

// inPlace runs op, an in-place op on t. gotch's in-place wrappers give t a
// new handle on the same tensor and never free the old one, which keeps the
// storage alive for good (a (rows, V) buffer each chunk): free it.
func inPlace(t *ts.Tensor, op func()) {
	old := ts.FromCtensor(t.Ctensor())
	op()
	old.MustDrop()
}

// noGrad runs fn with grad mode off and restores it, also when fn panics
// (a failed Must op, which torch.Catch turns into the step's error): the
// mode is the OS thread's and would stay off for the steps that follow.
func noGrad(fn func()) {
	prev := ts.MustGradSetEnabled(false)
	defer ts.MustGradSetEnabled(prev)
	fn()
}
