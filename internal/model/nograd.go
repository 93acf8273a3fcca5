package model

import (
	"github.com/sugarme/gotch/ts"

	"github.com/ytrain/ytrain/internal/torch"
)

// HiddenNoGrad is Hidden for a pass without autograd (score): each layer's
// intermediates are dropped as soon as its output exists, so memory holds
// one layer's activations instead of every layer's, which a step's scope
// would otherwise keep until the step ends (30 layers of SmolLM2 hold
// ~2 MB a token).
func (m *Model) HiddenNoGrad(s *torch.Scope, ids, pos *ts.Tensor, lay *Layout) (*ts.Tensor, error) {
	var last *ts.Tensor // the newest layer output: the next layer's input
	stash := func(h *ts.Tensor) *ts.Tensor {
		k := h.MustShallowClone()
		if last != nil {
			last.MustDrop() // its layer's scope, where the next layer read it, is still alive
		}
		last = k
		return k
	}
	h, err := m.layers(s, ids, pos, lay, nil, stash)
	if last != nil {
		s.Add(last)
	}
	if err != nil {
		return nil, err
	}
	return m.FinalNorm(s, h), nil
}
