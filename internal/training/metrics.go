package training

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/sugarme/gotch/ts"

	"github.com/ytrain/ytrain/formats"
	"github.com/ytrain/ytrain/internal/scoring"
	"github.com/ytrain/ytrain/internal/seq"
	"github.com/ytrain/ytrain/internal/weighting"
)

// stepMetrics is one optimizer step's record: a line of metrics.jsonl, and the
// TensorBoard scalars (tbTag: HF Trainer's names where it has them).
type stepMetrics struct {
	Step         int
	Epoch        float64 // units done / units per epoch
	Loss         float64 // mean unweighted loss of the step's targets
	WeightedLoss float64 // mean reduced, weighted objective of the step's units
	LR           float64
	GradNorm     float64 // before clipping
	TokensPerS   float64 // padded tokens run per second
	StepTime     float64 // seconds: the step's units and its update
	Targets      int
	SkippedUnits int                           // units whose weights were all 0
	Regions      [weighting.NumRegions]float64 // share of targets per NLIRG region
	Eval         []evalLoss                    // held-out losses, on evaluation steps
}

type evalLoss struct {
	name string
	loss float64
}

type scalar struct {
	key string
	v   float64
}

// scalars lists the record's values under their metrics.jsonl keys.
func (m *stepMetrics) scalars() []scalar {
	s := []scalar{{"epoch", m.Epoch}, {"loss", m.Loss}, {"weighted_loss", m.WeightedLoss}, {"lr", m.LR},
		{"grad_norm", m.GradNorm}, {"tokens_per_s", m.TokensPerS}, {"step_time", m.StepTime},
		{"targets", float64(m.Targets)}, {"skipped_units", float64(m.SkippedUnits)}}
	for i, n := range weighting.RegionNames {
		s = append(s, scalar{"frac_" + n, m.Regions[i]})
	}
	for _, e := range m.Eval {
		s = append(s, scalar{"eval/" + e.name + "/loss", e.loss})
	}
	return s
}

// MarshalJSON writes the metrics.jsonl line; a value that is not finite is
// null (JSON has no NaN).
func (m *stepMetrics) MarshalJSON() ([]byte, error) {
	b := fmt.Appendf(nil, `{"step":%d`, m.Step)
	for _, s := range m.scalars() {
		b = append(b, ',')
		b = strconv.AppendQuote(b, s.key)
		b = append(b, ':')
		if math.IsNaN(s.v) || math.IsInf(s.v, 0) {
			b = append(b, "null"...)
		} else {
			b = strconv.AppendFloat(b, s.v, 'g', -1, 64)
		}
	}
	return append(b, '}'), nil
}

// step finishes an optimizer step: checks the gradients, clips, updates,
// logs.
func (tr *trainer) step(acc *stepAcc, tokens int, since, start time.Time, total int) error {
	cfg := tr.cfg
	defer tr.opt.zeroGrad()
	if !acc.bad && acc.skipped == acc.units {
		return nil // nothing contributed a gradient
	}
	norm := math.NaN()
	if !acc.bad {
		// every rank's gradients summed: each holds one process's gradient,
		// so the norm, the clipping and the update agree everywhere
		if err := tr.g.AllReduceGrads(tr.opt.tensors()...); err != nil {
			return err
		}
		var err error
		if tokens, err = tr.sumTokens(tokens); err != nil {
			return err
		}
		norm = tr.opt.gradNorm()
	}
	if math.IsNaN(norm) || math.IsInf(norm, 0) || math.IsNaN(acc.j) {
		tr.st.BadSteps++
		fmt.Fprintf(cfg.Progress, "train: step %d: loss or gradient not finite; step skipped (%d so far)\n", tr.st.Step+1, tr.st.BadSteps)
		if tr.st.BadSteps >= cfg.MaxBadSteps {
			return fmt.Errorf("%d steps with a non-finite loss or gradient (--max-bad-steps %d): lower --lr or check the data", tr.st.BadSteps, cfg.MaxBadSteps)
		}
		return nil
	}
	scale := 1.0
	if cfg.GradClip > 0 && norm > cfg.GradClip {
		scale = cfg.GradClip / (norm + 1e-6)
	}
	tr.st.Step++
	lr := tr.sched.at(tr.st.Step)
	tr.opt.update(lr, scale)
	if err := tr.opt.publish(tr.g); err != nil {
		return err
	}
	took := time.Since(since) // the step's units and its update, not the logging below

	m := &stepMetrics{Step: tr.st.Step, Epoch: float64(tr.st.Unit) / float64(tr.perEpoch),
		Loss: mean(acc.losses), WeightedLoss: acc.j / float64(acc.units-acc.skipped), LR: lr, GradNorm: norm,
		TokensPerS: float64(tokens) / took.Seconds(), StepTime: took.Seconds(), Targets: len(acc.losses),
		SkippedUnits: acc.skipped}
	for _, l := range acc.losses {
		m.Regions[weighting.Region(l)]++
	}
	for i := range m.Regions {
		m.Regions[i] /= float64(max(1, len(acc.losses)))
	}
	if tr.g.Rank() != 0 {
		return nil // rank 0 evaluates, logs and reports
	}
	if cfg.EvalEvery > 0 && tr.st.Step%cfg.EvalEvery == 0 || tr.st.Step == total {
		for _, e := range tr.evals {
			l, err := tr.evalLoss(e.seqs)
			if err != nil {
				return err
			}
			m.Eval = append(m.Eval, evalLoss{e.name, l})
		}
	}
	if err := tr.record(m, acc.weights); err != nil {
		return err
	}
	if tr.st.Step%max(1, cfg.LogEvery) == 0 || tr.st.Step == total {
		el := time.Since(start)
		eta := time.Duration(float64(el) / float64(max(1, tr.st.Step-tr.resumed)) * float64(total-tr.st.Step))
		end := "\n"
		if cfg.Terminal {
			end = "   \r" // one line, rewritten in place
		}
		fmt.Fprintf(cfg.Progress, "step %d/%d  loss %.4f  weighted %.4f  lr %.2e  %.0f tok/s  ETA %s%s",
			tr.st.Step, total, m.Loss, m.WeightedLoss, lr, m.TokensPerS, eta.Round(time.Second), end)
	}
	return nil
}

// record appends a metrics.jsonl line and the TensorBoard scalars (plus the
// histogram of this step's weights).
func (tr *trainer) record(m *stepMetrics, weights []float32) error {
	b, _ := m.MarshalJSON()
	if _, err := tr.log.Write(append(b, '\n')); err != nil {
		return err
	}
	if tr.tb == nil {
		return nil
	}
	step := int64(m.Step)
	for _, s := range m.scalars() {
		if math.IsNaN(s.v) || math.IsInf(s.v, 0) {
			continue
		}
		if err := tr.tb.Scalar(tbTag(s.key, len(tr.evals)), step, s.v); err != nil {
			return err
		}
	}
	if len(weights) > 0 {
		w := make([]float64, len(weights))
		for i, x := range weights {
			w[i] = float64(x)
		}
		if err := tr.tb.Histogram("train/token_weight", step, w); err != nil {
			return err
		}
	}
	return tr.tb.Flush()
}

func mean(v []float32) float64 {
	s := 0.0
	for _, x := range v {
		s += float64(x)
	}
	return s / float64(max(1, len(v)))
}

// evalLoss is the mean unweighted loss over every target of a held-out set,
// the early warning for over-fitting (domain set) and forgetting (general).
func (tr *trainer) evalLoss(seqs []*seq.Seq) (float64, error) {
	tr.m.Training = false
	defer func() { tr.m.Training = true }()
	sum, n := 0.0, 0
	sc := &scoring.Scorer{M: tr.m, BatchTokens: 4096, Emit: func(s *formats.Score) error {
		for _, l := range s.Loss {
			sum += float64(l)
		}
		n += len(s.Loss)
		return nil
	}}
	var err error
	ts.NoGrad(func() {
		for _, s := range seqs {
			if err = sc.Add(s); err != nil {
				return
			}
		}
		err = sc.Close()
	})
	return sum / float64(max(1, n)), err
}
