package training

import (
	"math/rand"

	"github.com/ytrain/ytrain/internal/seq"
)

// unit is what one forward/backward covers: some sequences, and for each the
// targets that count in this unit (a window of them, in windowed SFT).
type unit struct {
	seqs    []*seq.Seq
	targets [][]int
}

// Stepping is how SFT takes its optimizer steps.
type Stepping int

const (
	Fused    Stepping = iota + 1 // BatchSize sequences per unit, every target
	Windowed                     // one sequence per unit, TokenBatch targets at a time
)

// layout says how one epoch's sequences become units.
type layout struct {
	stepping   Stepping
	batchSize  int
	tokenBatch int
	v2Windows  bool  // windowed: Y-Trainer v2's token-dropping windows
	shuffle    bool  // reorder the sequences each epoch
	seed       int64 // of the shuffle
}

// units lays out one epoch. Sequences are shuffled with the epoch's seed
// when asked (off by default: the order of the data is the curriculum).
func (l layout) units(seqs []*seq.Seq, epoch int) []unit {
	order := seqs
	if l.shuffle {
		order = append([]*seq.Seq(nil), seqs...)
		rng := rand.New(rand.NewSource(l.seed*1_000_003 + int64(epoch)))
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	}
	var out []unit
	if l.stepping == Windowed {
		split := Windows
		if l.v2Windows {
			split = WindowsV2
		}
		for _, s := range order {
			for _, w := range split(s.Targets, l.tokenBatch) {
				if len(w) > 0 {
					out = append(out, unit{seqs: []*seq.Seq{s}, targets: [][]int{w}})
				}
			}
		}
		return out
	}
	for i := 0; i < len(order); i += l.batchSize {
		u := unit{}
		for _, s := range order[i:min(i+l.batchSize, len(order))] {
			u.seqs = append(u.seqs, s)
			u.targets = append(u.targets, s.Targets)
		}
		out = append(out, u)
	}
	return out
}
