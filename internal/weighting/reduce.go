package weighting

import "math"

// term is token i's contribution w·ℓ, rounded to float32 as the trainer's
// tensors hold it. A zero weight removes the token whatever its loss: the
// Y-Trainer's 0·NaN would poison the whole step (docs/nlirg.md §1.1 gives NaN weight 0
// precisely to drop it), so the trainer mirrors this with a where(w == 0).
func term(loss, w float32) float32 {
	if w == 0 {
		return 0
	}
	return float32(w * loss)
}

// SFTReduce is the SFT objective with weighting on (Y-Trainer v2's masked_mean,
// docs/nlirg.md §1.4): J = Σ w·ℓ / #{i : w·ℓ ≠ 0}, so zero-weight tokens, exact-zero losses
// and ignored positions leave the denominator. When every term is 0 it
// returns denom 0 and ok false: the step is skipped and counted (as Y-Trainer v1 did),
// not stepped on a zero loss whose AdamW momentum and weight decay would
// still move the weights (Y-Trainer v2's behaviour, a deliberate fix). ok is also false,
// with denom > 0, when J is not finite (an Inf or NaN loss with a non-zero
// weight). loss and w must have the same length.
func SFTReduce(loss, w []float32) (j float64, denom int, ok bool) {
	mustSameLen(loss, w)
	var sum float64
	for i, l := range loss {
		if t := term(l, w[i]); t != 0 {
			sum += float64(t)
			denom++
		}
	}
	if denom == 0 {
		return 0, 0, false
	}
	j = sum / float64(denom)
	return j, denom, !math.IsNaN(j) && !math.IsInf(j, 0)
}

// CPTReduce is the CPT objective with weighting on (compute_weighted_loss,
// docs/nlirg.md §1.4): the plain mean of w·ℓ over every target passed, zero-weight tokens
// included. The caller passes only real targets: Y-Trainer also averaged
// over padding, which this port does not train. ok is false when there is
// no target or J is not finite. loss and w must have the same length.
func CPTReduce(loss, w []float32) (j float64, ok bool) {
	mustSameLen(loss, w)
	if len(loss) == 0 {
		return 0, false
	}
	var sum float64
	for i, l := range loss {
		sum += float64(term(l, w[i]))
	}
	j = sum / float64(len(loss))
	return j, !math.IsNaN(j) && !math.IsInf(j, 0)
}

func mustSameLen(loss, w []float32) {
	if len(loss) != len(w) {
		panic("weighting: loss and weight lengths differ")
	}
}
