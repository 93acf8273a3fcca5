package ranking

import (
	"fmt"
	"math"
	"strings"

	"github.com/ytrain/ytrain/formats"
)

// Mode names a scoring rule. In every mode a higher score is worse: more
// suspicious, harder or less useful, so "worst" always means "highest".
type Mode string

const (
	Similarity Mode = "similarity" // −Pearson(entropy, loss), Y-Trainer's similarity_rank
	Filtered   Mode = "filtered"   // confident-wrong token count, Y-Trainer's filtered_rank
	Divergence Mode = "divergence" // Y-Trainer's later loss–entropy divergence analyzer
	IFD        Mode = "ifd"        // mean loss with the prompt / mean loss without it
	PPL        Mode = "ppl"        // exp(mean loss)
)

// Modes lists the modes in the order --help names them.
var Modes = []Mode{Similarity, Filtered, Divergence, IFD, PPL}

// ModeOptions selects a mode and its parameters.
type ModeOptions struct {
	Mode         Mode
	PerTarget    bool    // filtered: divide the count by the number of targets
	SmoothWindow int     // divergence: centred rolling-mean window
	ZThreshold   float64 // divergence: a span needs a divergence of at least this
}

// Result is one document's score and why it got it.
type Result struct {
	Score float64
	Why   string // one line for people: the report's "why" column
	Spans []Span // divergence: the anomalous spans
}

// Rule scores one document's curves for ranking.
type Rule func(*formats.Score) (Result, error)

// NewRule checks o and returns its scoring rule.
func NewRule(o ModeOptions) (Rule, error) {
	var f Rule
	switch o.Mode {
	case Similarity:
		f = similarity
	case Filtered:
		f = func(s *formats.Score) (Result, error) { return filtered(s, o.PerTarget), nil }
	case Divergence:
		if o.SmoothWindow < 1 {
			return nil, fmt.Errorf("--smooth-window %d: want 1 or more", o.SmoothWindow)
		}
		f = func(s *formats.Score) (Result, error) { return divergence(s, o.SmoothWindow, o.ZThreshold), nil }
	case IFD:
		f = ifd
	case PPL:
		f = ppl
	default:
		return nil, fmt.Errorf("--mode %q: want %s", o.Mode, modeList())
	}
	return func(s *formats.Score) (Result, error) {
		if err := finite(s); err != nil {
			return Result{}, err
		}
		return f(s)
	}, nil
}

func modeList() string {
	names := make([]string, len(Modes))
	for i, m := range Modes {
		names[i] = string(m)
	}
	return strings.Join(names, ", ")
}

// finite rejects NaN and infinite curve values (Arrow can carry them), which
// would make the order meaningless.
func finite(s *formats.Score) error {
	for _, c := range []struct {
		name string
		xs   []float32
	}{{"loss", s.Loss}, {"entropy", s.Entropy}, {"prompt_free_loss", s.PromptFreeLoss}} {
		for k, x := range c.xs {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return fmt.Errorf("score record %q: %s[%d] is %v", s.ID, c.name, k, x)
			}
		}
	}
	return nil
}

// similarity is −r(entropy, loss) over the aligned curves: high when the loss
// peaks where the model is confident, i.e. the sample contradicts the model.
// Constant and one-target curves score 0 (see pearson), which ranks them in
// the neutral middle instead of wherever NaN happens to sort.
func similarity(s *formats.Score) (Result, error) {
	r := pearson(float64s(s.Entropy), float64s(s.Loss))
	why := fmt.Sprintf("r(entropy, loss) = %.2f over %s", r, targets(len(s.Loss)))
	switch {
	case r < 0:
		why += ": loss is high where the model is sure"
	case r > 0:
		why += ": loss is high where the model is unsure"
	}
	return Result{Score: 0 - r, Why: why}, nil // 0 - r: never -0
}

// filtered counts targets with loss > 3, each weighted 1 when the model was
// confident (entropy ≤ 1) and 0.5 otherwise; perTarget divides by the number
// of targets, so long answers do not win by length alone.
func filtered(s *formats.Score, perTarget bool) Result {
	var sure, unsure int
	for k, l := range s.Loss {
		if l > 3 {
			if s.Entropy[k] <= 1 {
				sure++
			} else {
				unsure++
			}
		}
	}
	score := float64(sure) + 0.5*float64(unsure)
	if perTarget && len(s.Loss) > 0 {
		score /= float64(len(s.Loss))
	}
	return Result{Score: score, Why: fmt.Sprintf("%d confident-wrong (loss > 3, entropy ≤ 1) and %d unsure-wrong (loss > 3, entropy > 1) of %s",
		sure, unsure, targets(len(s.Loss)))}
}

// Class is a target's divergence class.
type Class string

const (
	Normal              Class = ""
	LabelError          Class = "label_error"          // loss high where the model is sure: hallucination or wrong label
	Hard                Class = "hard"                 // loss and entropy both high
	Lucky               Class = "lucky"                // right although the model was unsure
	SuspiciousCertainty Class = "suspicious_certainty" // above-average loss at very low entropy
)

var classes = []Class{LabelError, Hard, Lucky, SuspiciousCertainty}

// Span is a run of anomalous targets, numbered from 0 along the curves; its
// class is that of its most divergent target.
type Span struct {
	First, Last   int
	Class         Class
	MaxDivergence float64
}

// classify applies the analyzer's rules in order, first match wins.
func classify(zLoss, zEnt, loss, meanSmoothedLoss float64) Class {
	switch {
	case zLoss > 0.6 && zEnt < -0.6:
		return LabelError
	case zLoss > 0.6 && zEnt > 0.6:
		return Hard
	case zLoss < -0.6 && zEnt > 0.6:
		return Lucky
	case loss > meanSmoothedLoss && zEnt < -1:
		return SuspiciousCertainty
	}
	return Normal
}

// divergence is the analyzer: smooth both curves, z-score them (ddof 1),
// divergence = z_loss − z_entropy, classify each target, and score
// Σ|divergence| over anomalous targets / targets. A span is a run of
// anomalous targets whose largest (signed) divergence reaches zThreshold.
func divergence(s *formats.Score, window int, zThreshold float64) Result {
	loss := float64s(s.Loss)
	sl, se := smooth(loss, window), smooth(float64s(s.Entropy), window)
	zl, ze := zscores(sl), zscores(se)
	meanSL := mean(sl)
	n := len(loss)
	cls := make([]Class, n)
	div := make([]float64, n)
	counts := map[Class]int{}
	total := 0.0
	for k := range loss {
		div[k] = zl[k] - ze[k]
		cls[k] = classify(zl[k], ze[k], loss[k], meanSL)
		if cls[k] != Normal {
			total += math.Abs(div[k])
			counts[cls[k]]++
		}
	}
	spans := []Span{} // not nil: divergence output always has rank_spans
	for k := 0; k < n; {
		if cls[k] == Normal {
			k++
			continue
		}
		peak := k
		j := k
		for ; j < n && cls[j] != Normal; j++ {
			if div[j] > div[peak] {
				peak = j
			}
		}
		if div[peak] >= zThreshold {
			spans = append(spans, Span{First: k, Last: j - 1, Class: cls[peak], MaxDivergence: div[peak]})
		}
		k = j
	}
	score := 0.0
	if n > 0 {
		score = total / float64(n)
	}
	return Result{Score: score, Why: divergenceWhy(score, n, spans, counts), Spans: spans}
}

func divergenceWhy(score float64, n int, spans []Span, counts map[Class]int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "anomaly %.3f over %s", score, targets(n))
	const shown = 3
	for i, sp := range spans {
		if i == shown {
			fmt.Fprintf(&b, "; %d more spans", len(spans)-shown)
			break
		}
		fmt.Fprintf(&b, "; %s at %d–%d (divergence %.2f)", sp.Class, sp.First, sp.Last, sp.MaxDivergence)
	}
	var parts []string
	for _, c := range classes {
		if counts[c] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[c], c))
		}
	}
	if len(parts) > 0 {
		fmt.Fprintf(&b, "; targets: %s", strings.Join(parts, ", "))
	}
	return b.String()
}

// ifd is the instruction-following difficulty: how much of the answer's loss
// the prompt fails to explain. Near 0 the prompt makes the answer easy; ≥ 1
// the prompt does not help at all.
func ifd(s *formats.Score) (Result, error) {
	if len(s.Loss) == 0 {
		return Result{Score: 1, Why: "no targets"}, nil
	}
	var free float64
	switch {
	case s.PromptFreeLoss != nil:
		free = mean(float64s(s.PromptFreeLoss))
	case s.PromptFreeMeanLoss != nil:
		free = float64(*s.PromptFreeMeanLoss)
	default:
		return Result{}, fmt.Errorf("score record %q has no prompt-free loss: --mode ifd needs the output of score --prompt-free", s.ID)
	}
	with := mean(float64s(s.Loss))
	var v float64
	switch {
	case free > 0:
		v = with / free
	case with == 0:
		v = 1
	default:
		return Result{}, fmt.Errorf("score record %q: IFD undefined: the answer alone has loss 0 but %.3g with its prompt", s.ID, with)
	}
	why := fmt.Sprintf("IFD %.3f: mean loss %.3f with the prompt, %.3f without", v, with, free)
	if v >= 1 {
		why += " (the prompt does not help)"
	}
	return Result{Score: v, Why: why}, nil
}

func targets(n int) string {
	if n == 1 {
		return "1 target"
	}
	return fmt.Sprintf("%d targets", n)
}

func ppl(s *formats.Score) (Result, error) {
	m := mean(float64s(s.Loss))
	v := math.Exp(m)
	return Result{Score: v, Why: fmt.Sprintf("ppl %.4g (mean loss %.3f over %s)", v, m, targets(len(s.Loss)))}, nil
}
