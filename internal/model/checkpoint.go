package model

import (
	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"

	"github.com/ytrain/ytrain/internal/torch"
)

// Backward runs the decoder over ids (B, T) at positions pos in layout lay and
// back-propagates the loss that head computes from the final normalised
// hidden states (B, T, D); head returns nil when there is nothing to learn.
//
// With checkpointing, the forward pass keeps only each layer's input; the
// backward pass then recomputes one layer at a time from its input and the
// gradient arriving from above, so activation memory no longer grows with
// depth, for the price of one more forward pass.
func (m *Model) Backward(s *torch.Scope, ids, pos *ts.Tensor, lay *Layout, checkpointing bool, head func(s *torch.Scope, h *ts.Tensor) (*ts.Tensor, error)) error {
	if !checkpointing {
		h, err := m.Hidden(s, ids, pos, lay, nil)
		if err != nil {
			return err
		}
		loss, err := head(s, h)
		if err != nil || loss == nil {
			return err
		}
		return loss.Backward()
	}
	var inputs []*ts.Tensor // the embeddings, each layer's output: detached, owned here
	defer func() {
		for _, x := range inputs {
			x.MustDrop()
		}
	}()
	stash := func(h *ts.Tensor) *ts.Tensor {
		d := h.MustDetach(false)
		inputs = append(inputs, d)
		return d
	}
	var err error
	ts.NoGrad(func() { _, err = m.layers(s, ids, pos, lay, nil, stash) })
	if err != nil {
		return err
	}
	// the loss's gradient with respect to the top layer's output
	L := len(m.Layers)
	top := s.Add(inputs[L].MustDetach(false))
	inPlace(top, func() { top.MustRequiresGrad_(true) }) // gotch's in-place ops leave the old handle behind
	loss, err := head(s, m.FinalNorm(s, top))
	if err != nil || loss == nil {
		return err
	}
	if err := loss.Backward(); err != nil {
		return err
	}
	g := s.Add(top.MustGrad(false))
	cos, sin := m.Rotary(s, pos) // (B, 1, T, hd)
	for i := L - 1; i >= 0; i-- {
		ls := &torch.Scope{}
		x := ls.Add(inputs[i].MustDetach(false))
		inPlace(x, func() { x.MustRequiresGrad_(true) })
		out, err := m.Block(ls, i, x, cos, sin, lay, nil)
		if err == nil {
			// d(Σ out·g)/dθ is exactly this layer's share of the chain rule
			err = ls.Add(ls.Add(out.MustMul(g, false)).MustSum(gotch.Float, false)).Backward()
		}
		if err == nil {
			g = s.Add(x.MustGrad(false))
		}
		ls.Drop()
		if err != nil {
			return err
		}
	}
	if !m.Embed.MustRequiresGrad() { // LoRA: the embeddings are frozen
		return nil
	}
	es := &torch.Scope{}
	defer es.Drop()
	e := m.Embedding(es, ids)
	return es.Add(es.Add(e.MustMul(g, false)).MustSum(gotch.Float, false)).Backward()
}
