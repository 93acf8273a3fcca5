package training

import (
	"fmt"
	"math"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"
)

// param is one trainable tensor. master holds the float32 weights the
// optimizer updates when the model computes in a lower precision; it is p
// itself otherwise.
type param struct {
	name      string
	p, master *ts.Tensor
	m, v      *ts.Tensor // AdamW moments, float32; nil when another rank owns them (--zero 1)
	owner     int        // the rank that updates it under --zero 1
}

// adamW is torch.optim.AdamW (decoupled weight decay, bias-corrected
// moments), written out so its state can be saved and resumed exactly.
type adamW struct {
	params            []*param
	beta1, beta2, eps float64
	weightDecay       float64
	step              int
	zero              bool // state sharded over the ranks (zero.go)
}

func newAdamW(named map[string]*ts.Tensor, names []string, beta1, beta2, eps, wd float64) *adamW {
	o := &adamW{beta1: beta1, beta2: beta2, eps: eps, weightDecay: wd}
	for _, n := range names {
		p := named[n]
		dev, _ := p.Device()
		sz := p.MustSize()
		q := &param{name: n, p: p, master: p,
			m: ts.MustZeros(sz, gotch.Float, dev), v: ts.MustZeros(sz, gotch.Float, dev)}
		if p.DType() != gotch.Float {
			q.master = ts.NoGrad1(func() any { return p.MustTotype(gotch.Float, false) }).(*ts.Tensor)
		}
		o.params = append(o.params, q)
	}
	return o
}

// gradNorm is the global L2 norm of the gradients (NaN/Inf when any is).
func (o *adamW) gradNorm() float64 {
	total := 0.0
	for _, q := range o.params {
		g := q.p.MustGrad(false)
		sq := g.MustTotype(gotch.Float, false).MustSquare(true).MustSum(gotch.Float, true)
		total += sq.Float64Values()[0]
		sq.MustDrop()
		g.MustDrop()
	}
	return math.Sqrt(total)
}

// update applies one step with learning rate lr, gradients scaled by gscale
// (clipping), then copies float32 masters into lower-precision weights.
func (o *adamW) update(lr, gscale float64) {
	o.step++
	bc1 := 1 - math.Pow(o.beta1, float64(o.step))
	bc2 := 1 - math.Pow(o.beta2, float64(o.step))
	ts.NoGrad(func() {
		for _, q := range o.params {
			if q.m == nil {
				continue // another rank's (--zero 1): its owner sends the new weight
			}
			g := q.p.MustGrad(false).MustTotype(gotch.Float, true)
			if gscale != 1 {
				g.MustMulScalar_(ts.FloatScalar(gscale))
			}
			q.m.MustMulScalar_(ts.FloatScalar(o.beta1))
			gm := g.MustMulScalar(ts.FloatScalar(1-o.beta1), false)
			q.m.MustAdd_(gm)
			gm.MustDrop()
			q.v.MustMulScalar_(ts.FloatScalar(o.beta2))
			gg := g.MustMul(g, false).MustMulScalar(ts.FloatScalar(1-o.beta2), true)
			q.v.MustAdd_(gg)
			gg.MustDrop()
			g.MustDrop()
			// p ← p·(1 − lr·wd) − (lr/bc1)·m / (√v/√bc2 + eps), as torch does
			q.master.MustMulScalar_(ts.FloatScalar(1 - lr*o.weightDecay))
			denom := q.v.MustSqrt(false).MustDivScalar(ts.FloatScalar(math.Sqrt(bc2)), true).MustAddScalar(ts.FloatScalar(o.eps), true)
			upd := q.m.MustDiv(denom, false).MustMulScalar(ts.FloatScalar(lr/bc1), true)
			q.master.MustSub_(upd)
			upd.MustDrop()
			denom.MustDrop()
			if q.master != q.p {
				q.p.Copy_(q.master)
			}
		}
	})
}

// tensors are the trained tensors, in the optimizer's (name) order.
func (o *adamW) tensors() []*ts.Tensor {
	out := make([]*ts.Tensor, len(o.params))
	for i, q := range o.params {
		out[i] = q.p
	}
	return out
}

func (o *adamW) zeroGrad() {
	for _, q := range o.params {
		q.p.ZeroGrad()
	}
}

// schedule gives the learning rate at optimizer step (1-based) out of total.
type schedule struct {
	kind   string // constant, linear, cosine
	lr     float64
	warmup int
	total  int
}

func newSchedule(kind string, lr float64, warmup float64, total int) (schedule, error) {
	switch kind {
	case "constant", "linear", "cosine":
	default:
		return schedule{}, fmt.Errorf("--lr-schedule %q: want constant, linear or cosine", kind)
	}
	w := int(warmup)
	if warmup > 0 && warmup < 1 { // a fraction of the run
		w = int(math.Round(warmup * float64(total)))
	}
	return schedule{kind: kind, lr: lr, warmup: w, total: total}, nil
}

func (s schedule) at(step int) float64 {
	if step <= s.warmup {
		return s.lr * float64(step) / float64(s.warmup)
	}
	if s.kind == "constant" || s.total <= s.warmup {
		return s.lr
	}
	p := math.Min(1, float64(step-s.warmup)/float64(s.total-s.warmup))
	if s.kind == "linear" {
		return s.lr * (1 - p)
	}
	return s.lr * 0.5 * (1 + math.Cos(math.Pi*p))
}
