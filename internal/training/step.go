package training

import (
	"fmt"
	"math"

	"github.com/sugarme/gotch/ts"

	"github.com/ytrain/ytrain/internal/model"
	"github.com/ytrain/ytrain/internal/seq"
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

// runUnit runs one unit forward, computes its weighted objective and
// back-propagates it, scaled by gradScale (1/accumulation). On W ranks this
// rank runs its part of the unit. A libtorch failure is reported with the
// unit's records.
func (tr *trainer) runUnit(whole *unit, gradScale float64) (res unitResult, err error) {
	err = torch.Catch(func() error {
		res, err = tr.unit(whole, gradScale)
		return err
	})
	if err != nil {
		return res, fmt.Errorf("training on %s: %w", seq.Names(whole.seqs), err)
	}
	return res, nil
}

func (tr *trainer) unit(whole *unit, gradScale float64) (unitResult, error) {
	u := tr.layout.part(*whole, tr.g.Rank(), tr.g.Size())
	if u.nTargets() == 0 { // nothing here for this rank: it only takes part in the unit's reduction
		var res unitResult
		_, _, err := tr.weigh(nil, &res)
		return res, err
	}
	b := seq.NewBatch(u.seqs, u.targets)
	lay := model.Docs(b)
	pass := model.Pass{B: b.B, T: b.T, Pairs: lay.Pairs(), Targets: int64(len(b.Prev)), Train: true, Checkpointing: tr.cfg.GradientCheckpointing}
	if err := tr.m.CheckMemory(pass); err != nil {
		return unitResult{}, err
	}
	s := &torch.Scope{}
	defer s.Drop()
	dev := tr.m.Device
	ids, pos, err := b.Tensors(s, dev)
	if err != nil {
		return unitResult{}, err
	}
	prev, tgt, err := b.Targets(s, dev) // (N), (N, 1)
	if err != nil {
		return unitResult{}, err
	}
	res := unitResult{tokens: int(b.B * b.T)}
	err = tr.m.Backward(s, ids, pos, lay, tr.cfg.GradientCheckpointing,
		func(s *torch.Scope, h *ts.Tensor) (*ts.Tensor, error) {
			return tr.objective(s, h, prev, tgt, gradScale, &res)
		})
	return res, err
}

// objective is the unit's weighted loss from the final hidden states h
// (B, T, D), to back-propagate: each target's loss ℓ, its weight w(ℓ) (a
// constant), and the reduction (SFT: Σw·ℓ / #(w·ℓ ≠ 0); CPT: the mean). It
// is nil when there is nothing to learn: every weight is 0, or a loss is not
// finite (the model has diverged; the step is counted as bad). The LM head
// runs chunk by chunk (model/targets.go): first the losses, which the
// weights need, then the gradient of the weighted sum.
func (tr *trainer) objective(s *torch.Scope, h, prev, tgt *ts.Tensor, gradScale float64, res *unitResult) (*ts.Tensor, error) {
	tl, err := tr.m.TargetLosses(s, h, prev, tgt, tr.topK)
	if err != nil {
		return nil, err
	}
	w, denom, err := tr.weigh(tr.tokens(tl, res), res) // over every rank's targets of the unit
	if err != nil || w == nil {
		return nil, err
	}
	scale := gradScale / float64(denom)
	coef := make([]float32, len(w))
	for i := range w {
		coef[i] = float32(float64(w[i]) * scale)
	}
	return tr.m.WeightedLoss(s, h, prev, tgt, tl, coef)
}

// tokens is what the weighting sees of each target: its loss and, for a
// weighting that asks for it, the entropy of the model's top-k
// distribution. A loss that is not finite marks the unit bad: a weighting
// may zero such a token, and a diverged model must not pass for a step with
// nothing to learn.
func (tr *trainer) tokens(tl *model.TargetLoss, res *unitResult) []weighting.Token {
	res.losses = tl.Loss
	toks := make([]weighting.Token, len(res.losses))
	for i, l := range res.losses {
		toks[i].Loss = l
		res.bad = res.bad || math.IsNaN(float64(l)) || math.IsInf(float64(l), 0)
	}
	if tr.topK > 0 {
		for i := range toks {
			toks[i].Entropy = tl.TopK[i]
		}
	}
	return toks
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
