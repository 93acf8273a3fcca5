package training

import (
	"fmt"
	"math"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"

	"github.com/ytrain/ytrain/internal/model"
	"github.com/ytrain/ytrain/internal/torch"
	"github.com/ytrain/ytrain/internal/weighting"
)

// unitResult is what one forward/backward saw.
type unitResult struct {
	losses, weights []float32 // per target: unweighted loss, weight
	j               float64   // the reduced, weighted loss
	tokens          int       // padded tokens run
	skipped         bool      // every weighted term was 0: nothing to learn from
	bad             bool      // a loss was NaN or infinite: the model has diverged
}

// batch is a unit laid out as padded (B, T) tensors' values.
type batch struct {
	B, T          int64
	ids, pos, seg []int64
	prev, tgt     []int64 // flat position predicting each target, target id
}

func layout(u *unit) *batch {
	b := &batch{B: int64(len(u.rows))}
	for _, r := range u.rows {
		b.T = max(b.T, int64(len(r.ids)))
	}
	n := b.B * b.T
	b.ids, b.pos, b.seg = make([]int64, n), make([]int64, n), make([]int64, n)
	for i, r := range u.rows {
		off := int64(i) * b.T
		copy(b.ids[off:], r.ids)
		copy(b.pos[off:], r.pos)
		copy(b.seg[off:], r.seg)
		for _, t := range u.targets[i] {
			b.prev = append(b.prev, off+int64(t-1))
			b.tgt = append(b.tgt, r.ids[t])
		}
	}
	return b
}

// runUnit computes the unit's weighted loss and back-propagates it, scaled
// by gradScale (1/accumulation).
func (tr *trainer) runUnit(u *unit, gradScale float64) (unitResult, error) {
	b := layout(u)
	s := &torch.Scope{}
	defer s.Drop()
	dev := tr.m.Device
	mk := func(v []int64, shape ...int64) (*ts.Tensor, error) {
		t, err := torch.Int64s(v, dev, shape...)
		if err == nil {
			s.Add(t)
		}
		return t, err
	}
	ids, err := mk(b.ids, b.B, b.T)
	if err != nil {
		return unitResult{}, err
	}
	pos, _ := mk(b.pos, b.B, b.T)
	seg, _ := mk(b.seg, b.B, b.T)
	prev, _ := mk(b.prev, int64(len(b.prev)))
	tgt, _ := mk(b.tgt, int64(len(b.tgt)), 1)
	mask := model.Mask(s, seg)
	cos, sin := tr.m.Rotary(s, pos)
	res := unitResult{tokens: int(b.B * b.T)}

	// head runs the final norm, the loss and its backward from hidden states
	// h (B, T, D); it reports whether a backward happened.
	head := func(h *ts.Tensor) (bool, error) {
		hs := &torch.Scope{}
		defer hs.Drop()
		flat := hs.Add(tr.m.FinalNorm(hs, h).MustView([]int64{b.B * b.T, -1}, false)) // (B*T, D)
		sel := hs.Add(flat.MustIndexSelect(0, prev, false))                           // (N, D)
		logits := tr.m.Logits(hs, sel)                                                // (N, V) float32
		logp := hs.Add(logits.MustLogSoftmax(-1, gotch.Float, false))
		nll := hs.Add(hs.Add(logp.MustGather(1, tgt, false, false)).MustNeg(false)).MustView([]int64{-1}, false) // (N)
		hs.Add(nll)
		var err error
		if res.losses, err = torch.Float32s(nll); err != nil {
			return false, err
		}
		toks := make([]weighting.Token, len(res.losses))
		for i, l := range res.losses {
			toks[i].Loss = l
			// a weighting may zero such tokens; a diverged model must not pass
			// for a step with nothing to learn
			res.bad = res.bad || math.IsNaN(float64(l)) || math.IsInf(float64(l), 0)
		}
		if res.bad {
			return false, nil
		}
		if tr.topK > 0 { // EAFT: entropy of the renormalised top-k distribution
			top, idx := logits.MustTopk(int64(tr.topK), -1, true, false, false)
			hs.Add(idx)
			lp := hs.Add(hs.Add(top).MustLogSoftmax(-1, gotch.Float, false))
			ent := hs.Add(hs.Add(hs.Add(lp.MustExp(false)).MustMul(lp, false)).MustSumDimIntlist([]int64{-1}, false, gotch.Float, false))
			h, err := torch.Float32s(ent)
			if err != nil {
				return false, err
			}
			for i := range toks {
				toks[i].Entropy = -h[i]
			}
		}
		res.weights = make([]float32, len(toks))
		tr.cfg.Weighting.Weights(toks, res.weights)
		var denom int
		var ok bool
		if tr.cfg.Kind == "cpt" {
			res.j, ok = weighting.CPTReduce(res.losses, res.weights)
			denom = len(res.losses)
		} else {
			res.j, denom, ok = weighting.SFTReduce(res.losses, res.weights)
		}
		if !ok {
			res.skipped = true
			return false, nil
		}
		w := hs.Add(ts.MustOfSlice(res.weights).MustTo(dev, true))
		// weights are constants: zero-weight terms drop out even where the
		// loss is not finite, as weighting's reductions define
		wl := hs.Add(nll.MustMul(w, false))
		wl = hs.Add(wl.MustMaskedFill(hs.Add(w.MustEq(ts.FloatScalar(0), false)), ts.FloatScalar(0), false))
		loss := hs.Add(hs.Add(wl.MustSum(gotch.Float, false)).MustMulScalar(ts.FloatScalar(gradScale/float64(denom)), false))
		return true, loss.Backward()
	}

	if !tr.cfg.GradientCheckpointing {
		h := tr.m.Embedding(s, ids)
		for i := range tr.m.Layers {
			if h, err = tr.m.Block(s, i, h, cos, sin, mask, nil); err != nil {
				return res, err
			}
		}
		_, err := head(h)
		return res, err
	}
	return res, tr.checkpointed(s, ids, cos, sin, mask, head)
}

// checkpointed runs the layers without keeping their activations, only each
// layer's input; the backward then recomputes one layer at a time from its
// input and the gradient arriving from above, so activation memory no longer
// grows with depth (one extra forward pass).
func (tr *trainer) checkpointed(s *torch.Scope, ids, cos, sin, mask *ts.Tensor, head func(*ts.Tensor) (bool, error)) error {
	L := len(tr.m.Layers)
	inputs := make([]*ts.Tensor, L+1)
	defer func() {
		for _, x := range inputs {
			if x != nil {
				x.MustDrop()
			}
		}
	}()
	var ferr error
	ts.NoGrad(func() {
		fs := &torch.Scope{}
		defer fs.Drop()
		inputs[0] = tr.m.Embedding(fs, ids).MustDetach(false)
		fs.Drop()
		for i := 0; i < L; i++ {
			var out *ts.Tensor
			if out, ferr = tr.m.Block(fs, i, inputs[i], cos, sin, mask, nil); ferr != nil {
				return
			}
			inputs[i+1] = out.MustDetach(false)
			fs.Drop() // only the stored inputs survive
		}
	})
	if ferr != nil {
		return ferr
	}
	// grad of the loss w.r.t. the output of the top layer
	top := s.Add(inputs[L].MustDetach(false))
	top.MustRequiresGrad_(true)
	did, err := head(top)
	if err != nil || !did {
		return err
	}
	g := s.Add(top.MustGrad(false))
	for i := L - 1; i >= 0; i-- {
		ls := &torch.Scope{}
		x := ls.Add(inputs[i].MustDetach(false))
		x.MustRequiresGrad_(true)
		out, err := tr.m.Block(ls, i, x, cos, sin, mask, nil)
		if err != nil {
			ls.Drop()
			return err
		}
		// d(Σ out·g)/dθ is exactly the chain rule's contribution of this layer
		if err := ls.Add(ls.Add(out.MustMul(g, false)).MustSum(gotch.Float, false)).Backward(); err != nil {
			ls.Drop()
			return err
		}
		g = s.Add(x.MustGrad(false))
		ls.Drop()
	}
	if tr.fullFT { // the embeddings learn too
		es := &torch.Scope{}
		defer es.Drop()
		e := tr.m.Embedding(es, ids)
		return es.Add(es.Add(e.MustMul(g, false)).MustSum(gotch.Float, false)).Backward()
	}
	return nil
}

// describe counts tensors and parameters for the start-up message.
func describe(p map[string]*ts.Tensor) string {
	n := int64(0)
	for _, t := range p {
		c := int64(1)
		for _, d := range t.MustSize() {
			c *= d
		}
		n += c
	}
	return fmt.Sprintf("%d tensors, %.2fM parameters", len(p), float64(n)/1e6)
}
