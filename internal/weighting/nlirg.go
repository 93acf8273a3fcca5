package weighting

import "math"

// eps is torch.finfo(float32).eps, added to both NLIRG branches (docs/nlirg.md §1.1).
const eps = 0x1p-23

// NLIRG is Y-Trainer's loss-dependent token weight (docs/nlirg.md §1):
//
//	L ≤ Threshold:            MaxLR·σ(K·(L−X0)) + ε
//	Threshold < L < Deadline: MaxLR·σ(−HardK·(L−HardX0)) + ε + MinLR
//	L ≥ Deadline or NaN:      0
//
// Y-Trainer's code hard-codes HardK = 1 and HardX0 = 6.2; they are fields here so
// flags can move them. K and X0 only affect the first branch, MinLR only the
// second (docs/nlirg.md §1.1).
type NLIRG struct {
	MaxLR, X0, MinLR, K, Threshold, Deadline float64
	HardK, HardX0                            float64
	// BF16 reproduces a default (bf16) run of Y-Trainer (docs/nlirg.md §1.5): the loss
	// is rounded to bf16, W is computed, and W is rounded to bf16. This
	// emulates the column "W as bf16" of docs/nlirg.md §1.3, not every intermediate
	// bf16 rounding of Y-Trainer's tensor ops.
	BF16 bool
}

// DefaultNLIRG returns the values every trainer in Y-Trainer passes (docs/nlirg.md §1.1).
func DefaultNLIRG() NLIRG {
	return NLIRG{MaxLR: 1, X0: 1.2, MinLR: 5e-8, K: 1.7, Threshold: 3, Deadline: 15, HardK: 1, HardX0: 6.2}
}

// Name implements Scheme.
func (NLIRG) Name() string { return "nlirg" }

// W is the exact weight formula of docs/nlirg.md §1.1 in float64. The comparisons are
// exactly Y-Trainer's: the threshold is inclusive on the rising branch,
// the deadline inclusive on the cut. NaN matches no mask of Y-Trainer's
// zero-initialised output, so it weighs 0.
func (n NLIRG) W(loss float64) float64 {
	switch {
	case math.IsNaN(loss) || loss >= n.Deadline:
		return 0
	case loss <= n.Threshold:
		return n.MaxLR*sigmoid(n.K*(loss-n.X0)) + eps
	default:
		return n.MaxLR*sigmoid(-n.HardK*(loss-n.HardX0)) + eps + n.MinLR
	}
}

// Weight is W for one float32 loss as Weights stores it, with the bf16
// rounding of docs/nlirg.md §1.5 when n.BF16 is set.
func (n NLIRG) Weight(loss float32) float32 { return n.weightOver(loss, 1) }

// Weights implements Scheme.
func (n NLIRG) Weights(toks []Token, w []float32) { n.weightsOver(toks, w, 1) }

// weightOver is Weight of loss/s, NLIRGAuto's weight: with BF16 the
// model's loss is rounded before it is divided, as a bf16 run's would be.
func (n NLIRG) weightOver(loss float32, s float64) float32 {
	if !n.BF16 {
		return float32(n.W(float64(loss) / s))
	}
	return RoundBF16(float32(n.W(float64(RoundBF16(loss)) / s)))
}

// weightsOver fills w with every token's weightOver(loss, s).
func (n NLIRG) weightsOver(toks []Token, w []float32, s float64) {
	w = w[:len(toks)]
	for i, t := range toks {
		w[i] = n.weightOver(t.Loss, s)
	}
}

// sigmoid is 1/(1+e^(−z)) with the exponent clamped to [−709, 709] as the
// original does before exp (docs/nlirg.md §1.1), so e^(−z) never overflows float64.
func sigmoid(z float64) float64 {
	return 1 / (1 + math.Exp(max(-709, min(709, -z))))
}

// RoundBF16 rounds f to the nearest bfloat16 value (ties to even) and returns
// it as a float32, which holds every bf16 value exactly. NaN stays NaN (with
// its sign); values beyond the bf16 range round to ±Inf, as in torch.
func RoundBF16(f float32) float32 {
	b := math.Float32bits(f)
	if f != f {
		// Rounding the payload could carry it into an Inf; keep a quiet NaN.
		return math.Float32frombits(b&0xFFFF0000 | 0x00400000)
	}
	b += 0x7FFF + (b>>16)&1
	return math.Float32frombits(b & 0xFFFF0000)
}

// The four loss regions used to describe NLIRG (docs/nlirg.md §1.2). The boundaries are
// chart readings from the docs, not constants of the formula; they are the
// same as score's region shares.
const (
	RegionKnown    = iota // L ≤ 1.45: already mastered, damped
	RegionLearning        // 1.45 < L < 6.6: strongest weights
	RegionHard            // 6.6 ≤ L < 15: too hard, decaying weight
	RegionCut             // L ≥ 15 (and NaN): weight 0
	NumRegions
)

// RegionNames names the regions, indexed by Region's result.
var RegionNames = [NumRegions]string{"known", "learning", "hard", "cut"}

// Region returns the region of a loss. NaN falls into RegionCut, where W is 0.
func Region(loss float32) int {
	switch {
	case loss <= 1.45:
		return RegionKnown
	case loss < 6.6:
		return RegionLearning
	case loss < 15:
		return RegionHard
	default:
		return RegionCut
	}
}
