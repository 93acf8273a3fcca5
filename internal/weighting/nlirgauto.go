package weighting

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/ytrain/ytrain/formats"
)

// KnownLoss is ln(1/0.9) ≈ 0.105: a target with a smaller loss is one the
// base already predicts with at least 90 %, which calibration leaves out
// (docs/nlirg.md §1.6).
var KnownLoss = math.Log(1 / 0.9)

// MinCalibrationTokens is how many answer tokens above KnownLoss a
// calibration needs: fewer make a quantile near the tail a guess.
const MinCalibrationTokens = 100

// NLIRGAuto is NLIRG on a model's own loss scale (docs/nlirg.md §1.6): the
// weight of loss ℓ is Base's weight of ℓ/Scale. Multiplying Base's loss
// constants by Scale (and dividing its slopes by it) draws the same curve;
// Scaled returns those constants for people to read.
type NLIRGAuto struct {
	Base     NLIRG   // the constants being rescaled (NLIRG's defaults unless flags moved them)
	Scale    float64 // s
	Quantile float64 // q: Base.HardX0·s is the q-quantile of the calibration losses
	Tokens   int     // answer tokens with a loss above KnownLoss the quantile was taken over
	Source   string  // the score file's base name
}

// Name implements Scheme.
func (NLIRGAuto) Name() string { return "nlirg-auto" }

// W is Base.W(loss/Scale).
func (a NLIRGAuto) W(loss float64) float64 { return a.Base.W(loss / a.Scale) }

// Weights implements Scheme: Base's weights of the losses over Scale, with
// Base's bf16 rounding.
func (a NLIRGAuto) Weights(toks []Token, w []float32) { a.Base.weightsOver(toks, w, a.Scale) }

// Scaled is Base with its loss constants on the model's scale: X0,
// Threshold, HardX0 and Deadline times Scale, K and HardK divided by it.
// Its W equals a's up to rounding.
func (a NLIRGAuto) Scaled() NLIRG {
	n, s := a.Base, a.Scale
	n.X0, n.Threshold, n.HardX0, n.Deadline = n.X0*s, n.Threshold*s, n.HardX0*s, n.Deadline*s
	n.K, n.HardK = n.K/s, n.HardK/s
	return n
}

// Calibration says where the scale came from and the bounds it gives, for
// the start of a run and its model card.
func (a NLIRGAuto) Calibration() string {
	n := a.Scaled()
	return fmt.Sprintf("s=%.4g from %d answer tokens of %s (q %g): X0 %.3g Threshold %.3g HardX0 %.3g Deadline %.3g",
		a.Scale, a.Tokens, a.Source, a.Quantile, n.X0, n.Threshold, n.HardX0, n.Deadline)
}

// Calibrate returns base on the scale of losses: s = quantile_q(U) /
// base.HardX0, where U are the losses above KnownLoss (docs/nlirg.md §1.6).
// It fails when U has fewer than MinCalibrationTokens losses. losses must
// be finite; Source is left for the caller.
func Calibrate(base NLIRG, losses []float32, q float64) (NLIRGAuto, error) {
	if !(q > 0 && q <= 1) {
		return NLIRGAuto{}, fmt.Errorf("--calibrate-quantile %g: want a number in (0, 1]", q)
	}
	if !(base.HardX0 > 0) || math.IsInf(base.HardX0, 0) {
		return NLIRGAuto{}, fmt.Errorf("nlirg-auto moves nlirg-hard-x0 onto the model's losses: it must be positive and finite, not %g", base.HardX0)
	}
	u := make([]float64, 0, len(losses))
	for _, l := range losses {
		if float64(l) > KnownLoss {
			u = append(u, float64(l))
		}
	}
	if len(u) < MinCalibrationTokens {
		return NLIRGAuto{}, fmt.Errorf("only %d of %d answer tokens have a loss above %.3f (the base predicts the others with ≥ 90 %%); nlirg-auto needs at least %d: score more of the training data",
			len(u), len(losses), KnownLoss, MinCalibrationTokens)
	}
	slices.Sort(u)
	return NLIRGAuto{Base: base, Scale: Quantile(u, q) / base.HardX0, Quantile: q, Tokens: len(u)}, nil
}

// Quantile is the q-quantile of sorted (ascending, non-empty) by linear
// interpolation between order statistics: position (n−1)·q, numpy's
// default ("type 7").
func Quantile(sorted []float64, q float64) float64 {
	h := float64(len(sorted)-1) * q
	i := int(math.Floor(h))
	if i >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	return sorted[i] + (h-float64(i))*(sorted[i+1]-sorted[i])
}

// readAnswerLosses reads the per-target losses of every score record in
// path (Arrow or JSON Lines, as score writes them). Score records hold
// only targets, so for token records these are the answer tokens.
func readAnswerLosses(path string) ([]float32, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var losses []float32
	err = formats.Each(f, path, formats.ScoreCodec, func(r *formats.Score, _ string) error {
		for k, l := range r.Loss {
			if math.IsNaN(float64(l)) || math.IsInf(float64(l), 0) {
				return fmt.Errorf("record %q: loss[%d] is %g: not a score of a working model", r.ID, k, l)
			}
		}
		losses = append(losses, r.Loss...)
		return nil
	})
	return losses, err
}

// newNLIRGAuto is New's nlirg-auto: base calibrated on the score records in
// p.Calibrate.
func newNLIRGAuto(base NLIRG, p Params) (Scheme, error) {
	if p.Calibrate == "" {
		return nil, errors.New("--weighting nlirg-auto needs --calibrate SCORES: score records of the training data under the base model (score --model BASE)")
	}
	losses, err := readAnswerLosses(p.Calibrate)
	if err != nil {
		return nil, fmt.Errorf("--calibrate: %w", err)
	}
	a, err := Calibrate(base, losses, p.CalibrateQuantile)
	if err != nil {
		return nil, fmt.Errorf("--calibrate %s: %w", p.Calibrate, err)
	}
	a.Source = filepath.Base(p.Calibrate)
	return a, nil
}
