// Package weighting computes per-token loss weights for fine-tuning: Y-Trainer's
// NLIRG (defined in docs/nlirg.md §1) and a few alternatives, and the
// reductions that turn weighted token losses into a step's objective
// (docs/nlirg.md §1.4).
//
// The trainer copies each step's per-token losses and entropies here,
// computes the weights in Go and uploads them as a detached tensor: a weight
// is a constant gradient scale, never differentiated.
package weighting

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Token is what a weighting sees of one target token.
type Token struct {
	Loss float32 // cross-entropy of the target, nats
	// Entropy of the predictive distribution, nats. EAFT needs the top-k
	// entropy described at EAFT; the other schemes ignore it.
	Entropy float32
}

// Scheme weights the target tokens of a step.
type Scheme interface {
	Name() string
	// Weights fills w, which must have len(toks), with one weight per token.
	Weights(toks []Token, w []float32)
}

// EntropyUser is a Scheme that reads Token.Entropy: the trainer computes,
// for each target, the entropy of the model's EntropyTopK() likeliest
// tokens renormalised, and fills it in.
type EntropyUser interface {
	Scheme
	EntropyTopK() int
}

// Calibrated is a Scheme fitted to data before the run (nlirg-auto):
// Calibration says from what and to which values, for the run's start and
// its model card.
type Calibrated interface {
	Scheme
	Calibration() string
}

// None weighs every token 1 (plain cross-entropy).
type None struct{}

// Name implements Scheme.
func (None) Name() string { return "none" }

// Weights implements Scheme.
func (None) Weights(toks []Token, w []float32) {
	w = w[:len(toks)]
	for i := range w {
		w[i] = 1
	}
}

// DFT is Dynamic Fine-Tuning: w = p = e^(−loss), the model's probability of
// the target. NaN losses weigh 0; negative losses (rounding) count as 0.
type DFT struct{}

// Name implements Scheme.
func (DFT) Name() string { return "dft" }

// Weights implements Scheme.
func (DFT) Weights(toks []Token, w []float32) {
	w = w[:len(toks)]
	for i, t := range toks {
		if l := float64(t.Loss); l == l {
			w[i] = float32(math.Exp(-max(l, 0)))
		} else {
			w[i] = 0
		}
	}
}

// Focal is the focal-loss factor w = (1−p)^Gamma with p = e^(−loss).
// NaN losses weigh 0; negative losses (rounding) count as 0.
type Focal struct{ Gamma float64 }

// Name implements Scheme.
func (Focal) Name() string { return "focal" }

// Weights implements Scheme.
func (f Focal) Weights(toks []Token, w []float32) {
	w = w[:len(toks)]
	for i, t := range toks {
		if l := float64(t.Loss); l == l {
			// −expm1(−L) keeps 1−p accurate for small losses.
			w[i] = float32(math.Pow(-math.Expm1(-max(l, 0)), f.Gamma))
		} else {
			w[i] = 0
		}
	}
}

// EAFT is entropy-aware weighting: w = (H_k / ln TopK)^Alpha, clamped to
// [0, 1], where H_k is passed as Token.Entropy and must be the entropy
// (nats) of the model's top-k distribution renormalised: take the TopK
// largest probabilities p_1..p_k of the softmax over the whole vocabulary,
// q_i = p_i / Σ_j p_j, H_k = −Σ q_i·ln q_i (equivalently, the entropy of the
// softmax of the TopK largest logits). H_k lies in [0, ln TopK], so w is
// 1 where the model is torn between its top candidates and 0 where it is
// certain. TopK must be at least 2 (New checks it). NaN entropies weigh 0.
type EAFT struct {
	Alpha float64
	TopK  int
}

// Name implements Scheme.
func (EAFT) Name() string { return "eaft" }

// EntropyTopK implements EntropyUser.
func (e EAFT) EntropyTopK() int { return e.TopK }

// Weights implements Scheme.
func (e EAFT) Weights(toks []Token, w []float32) {
	w = w[:len(toks)]
	lnK := math.Log(float64(e.TopK))
	for i, t := range toks {
		h := float64(t.Entropy)
		if h != h {
			w[i] = 0
			continue
		}
		w[i] = float32(math.Pow(max(0, min(1, h/lnK)), e.Alpha))
	}
}

// Truncation drops the highest-loss tokens of the step: the floor(Fraction·N)
// tokens with the largest losses weigh 0, the others 1. Floor, so that a
// step never loses more than Fraction of its tokens and a step with
// Fraction·N < 1 loses none. Ties are order-stable: among equal losses the
// earlier token is dropped first. NaN losses rank above every number and
// always weigh 0, even beyond the quota.
type Truncation struct{ Fraction float64 }

// Name implements Scheme.
func (Truncation) Name() string { return "trunc" }

// Weights implements Scheme.
func (tr Truncation) Weights(toks []Token, w []float32) {
	w = w[:len(toks)]
	// The tolerance keeps products such as 0.29·100 = 28.999… at 29.
	k := int(math.Floor(max(0, min(1, tr.Fraction))*float64(len(toks)) + 1e-9))
	order := make([]int, len(toks))
	for i := range order {
		order[i] = i
		w[i] = 1
	}
	slices.SortStableFunc(order, func(a, b int) int {
		la, lb := toks[a].Loss, toks[b].Loss
		switch {
		case la != la || lb != lb: // NaN first
			return boolInt(lb != lb) - boolInt(la != la)
		case la > lb:
			return -1
		case la < lb:
			return 1
		}
		return 0
	})
	for r, i := range order {
		if r >= k && toks[i].Loss == toks[i].Loss {
			break
		}
		w[i] = 0
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Params holds every weighting flag; bind flags to its fields. The flag
// names are nlirg-max, nlirg-x0, nlirg-min, nlirg-k, nlirg-threshold,
// nlirg-deadline, nlirg-hard-k, nlirg-hard-x0, nlirg-bf16 (NLIRG's fields in
// that order), focal-gamma, eaft-alpha, eaft-topk, trunc-fraction, calibrate
// and calibrate-quantile.
type Params struct {
	NLIRG NLIRG
	Focal Focal
	EAFT  EAFT
	Trunc Truncation
	// nlirg-auto: the score records it calibrates on (calibrate) and the
	// quantile that becomes nlirg-hard-x0 (calibrate-quantile).
	Calibrate         string
	CalibrateQuantile float64
}

// DefaultParams returns every scheme's defaults.
func DefaultParams() Params {
	return Params{
		NLIRG: DefaultNLIRG(),
		Focal: Focal{Gamma: 2},
		EAFT:  EAFT{Alpha: 1, TopK: 20},
		Trunc: Truncation{Fraction: 0.1},

		CalibrateQuantile: 0.95,
	}
}

// Names lists the schemes New accepts.
func Names() []string {
	return []string{"none", "nlirg", "nlirg-auto", "dft", "focal", "eaft", "trunc"}
}

// New returns the scheme called name (case-insensitive), configured from p,
// after checking p's values for that scheme.
func New(name string, p Params) (Scheme, error) {
	if p.Calibrate != "" && !strings.EqualFold(name, "nlirg-auto") {
		return nil, fmt.Errorf("--calibrate calibrates --weighting nlirg-auto, not %s", name)
	}
	switch strings.ToLower(name) {
	case "none":
		return None{}, nil
	case "nlirg", "nlirg-auto":
		n := p.NLIRG
		for _, v := range []float64{n.MaxLR, n.X0, n.MinLR, n.K, n.Threshold, n.Deadline, n.HardK, n.HardX0} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("weighting %s: parameters must be finite", name)
			}
		}
		if n.MaxLR < 0 || n.MinLR < 0 {
			return nil, fmt.Errorf("weighting %s: nlirg-max and nlirg-min must be ≥ 0", name)
		}
		if n.Threshold > n.Deadline {
			return nil, fmt.Errorf("weighting %s: nlirg-threshold %g exceeds nlirg-deadline %g", name, n.Threshold, n.Deadline)
		}
		if strings.EqualFold(name, "nlirg-auto") {
			return newNLIRGAuto(n, p)
		}
		return n, nil
	case "dft":
		return DFT{}, nil
	case "focal":
		if !(p.Focal.Gamma >= 0) || math.IsInf(p.Focal.Gamma, 0) {
			return nil, fmt.Errorf("weighting focal: focal-gamma %g must be finite and ≥ 0", p.Focal.Gamma)
		}
		return p.Focal, nil
	case "eaft":
		if !(p.EAFT.Alpha >= 0) || math.IsInf(p.EAFT.Alpha, 0) {
			return nil, fmt.Errorf("weighting eaft: eaft-alpha %g must be finite and ≥ 0", p.EAFT.Alpha)
		}
		if p.EAFT.TopK < 2 {
			return nil, fmt.Errorf("weighting eaft: eaft-topk %d must be ≥ 2", p.EAFT.TopK)
		}
		return p.EAFT, nil
	case "trunc":
		if !(p.Trunc.Fraction >= 0 && p.Trunc.Fraction < 1) {
			return nil, fmt.Errorf("weighting trunc: trunc-fraction %g must be in [0, 1)", p.Trunc.Fraction)
		}
		return p.Trunc, nil
	}
	return nil, fmt.Errorf("unknown weighting %q (want one of %s)", name, strings.Join(Names(), ", "))
}
