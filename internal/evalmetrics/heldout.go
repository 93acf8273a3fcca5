package evalmetrics

import (
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/ytrain/ytrain/formats"
)

// HeldOut summarises score records of a held-out general corpus: scored
// with the base model and again with the fine-tuned one, the rise in loss is
// a cheap measure of what fine-tuning made the model forget.
type HeldOut struct {
	Documents   int     `json:"score_documents"`
	Targets     int64   `json:"score_targets"`
	MeanLoss    float64 `json:"score_mean_loss"` // over all targets, so long documents weigh more
	PPL         float64 `json:"score_ppl"`       // exp(score_mean_loss)
	MeanEntropy float64 `json:"score_mean_entropy"`
}

// ReadHeldOut reads score records (Arrow or JSON Lines) from paths.
func ReadHeldOut(paths []string, stdin io.Reader) (*HeldOut, error) {
	in := formats.OpenInputs(paths, stdin, formats.ScoreCodec)
	defer in.Close()
	h := &HeldOut{}
	var loss, ent float64
	for s, err := range in.All() {
		if err != nil {
			return nil, err
		}
		h.Documents++
		h.Targets += int64(len(s.Loss))
		for k := range s.Loss {
			l, e := float64(s.Loss[k]), float64(s.Entropy[k])
			if math.IsNaN(l+e) || math.IsInf(l+e, 0) {
				return nil, fmt.Errorf("%s: loss or entropy at target %d is not finite", in.Where(), k)
			}
			loss += l
			ent += e
		}
	}
	if h.Targets == 0 {
		return nil, errors.New("--scores: the score records have no targets")
	}
	h.MeanLoss = loss / float64(h.Targets)
	h.MeanEntropy = ent / float64(h.Targets)
	h.PPL = min(math.Exp(h.MeanLoss), math.MaxFloat64) // JSON has no +Inf: saturate
	return h, nil
}
