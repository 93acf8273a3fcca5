// Package scoring computes, for every document, the per-target loss and
// entropy curves of a model (the input of rank and of evaluate's forgetting
// measure), batching several documents per forward pass.
package scoring

import (
	"errors"
	"fmt"
	"math"

	"github.com/ytrain/ytrain/formats"
	"github.com/ytrain/ytrain/internal/model"
	"github.com/ytrain/ytrain/internal/seq"
	"github.com/ytrain/ytrain/internal/torch"
	"github.com/ytrain/ytrain/internal/weighting"
)

// Scorer batches sequences until their padded size reaches BatchTokens,
// runs them, and hands out Score records in input order.
type Scorer struct {
	M           *model.Model
	BatchTokens int
	PromptFree  bool // also score each answer without its prompt
	Emit        func(*formats.Score) error

	rows    []row
	maxLen  int
	pending *formats.Score    // a packed document whose next chunk may follow
	seen    map[string]string // document id → where it was first
	tail    string            // the last document of the last packed row: it may continue
	Tokens  int64             // tokens run through the model
}

// row is one sequence of the batch, and where its prompt-free twin is.
type row struct {
	*seq.Seq
	free   int // index into rows of this row's prompt-free twin, or -1
	isFree bool
}

// Add queues a sequence; its documents come out in order, chunks of one
// document joined back together.
func (sc *Scorer) Add(s *seq.Seq) error {
	if err := sc.checkIDs(s); err != nil {
		return err
	}
	twin, err := sc.twin(s)
	if err != nil {
		return err
	}
	need, extra := footprint(s, twin)
	if full(len(sc.rows), sc.maxLen, need, extra, sc.BatchTokens) {
		if err := sc.Flush(); err != nil {
			return err
		}
	}
	if twin != nil {
		sc.rows = append(sc.rows, row{s, len(sc.rows) + 1, false}, row{twin, -1, true})
	} else {
		sc.rows = append(sc.rows, row{s, -1, false})
	}
	sc.maxLen = max(sc.maxLen, need)
	return nil
}

// checkIDs refuses a document id seen before, as tokenize does: rank and
// evaluate join on ids. Only a packed document split into chunks continues
// in the first segment of the next row.
func (sc *Scorer) checkIDs(s *seq.Seq) error {
	if sc.seen == nil {
		sc.seen = map[string]string{}
	}
	tail := sc.tail
	sc.tail = ""
	if s.Packed {
		sc.tail = s.Docs[len(s.Docs)-1].ID
	}
	for i, d := range s.Docs {
		if i == 0 && s.Packed && d.ID == tail {
			continue // the next chunk of a split document
		}
		if first, dup := sc.seen[d.ID]; dup {
			return fmt.Errorf("duplicate id %q (first at %s): ids must be unique, rank and evaluate join on them", d.ID, first)
		}
		sc.seen[d.ID] = s.Where
	}
	return nil
}

// twin is s's prompt-free twin under --prompt-free, else nil.
func (sc *Scorer) twin(s *seq.Seq) (*seq.Seq, error) {
	if !sc.PromptFree {
		return nil, nil
	}
	if s.Packed {
		return nil, errors.New("--prompt-free needs token records: score them before pack")
	}
	return promptFree(s), nil
}

// footprint is the length a sequence (and its twin) pads the batch to, and
// the rows they take.
func footprint(s, twin *seq.Seq) (need, rows int) {
	if twin == nil {
		return s.Len(), 1
	}
	return max(s.Len(), twin.Len()), 2
}

// full reports whether a batch of rows padded to maxLen must run before
// a sequence of need tokens taking extra rows joins it.
func full(rows, maxLen, need, extra, batchTokens int) bool {
	return rows > 0 && (rows+extra)*max(maxLen, need) > batchTokens
}

// promptFree keeps a sequence's tokens from just before its first target:
// the answer scored with no prompt in front of it (the denominator of IFD).
func promptFree(s *seq.Seq) *seq.Seq {
	if len(s.Targets) == 0 {
		return nil
	}
	start := s.Targets[0] - 1
	f := &seq.Seq{IDs: s.IDs[start:], Pos: make([]int64, s.Len()-start), Seg: s.Seg[start:], Docs: s.Docs}
	for t := range f.Pos {
		f.Pos[t] = int64(t)
	}
	for _, t := range s.Targets {
		f.Targets = append(f.Targets, t-start)
	}
	return f
}

// Flush runs the queued rows and emits their documents.
func (sc *Scorer) Flush() error {
	if len(sc.rows) == 0 {
		return sc.emitPending()
	}
	var loss, ent [][]float32
	err := torch.Catch(func() (err error) {
		loss, ent, err = sc.run()
		return err
	})
	if err != nil {
		return fmt.Errorf("scoring %s: %w", sc.names(), err)
	}
	for i, r := range sc.rows {
		if r.isFree {
			continue
		}
		var free []float32
		if r.free >= 0 {
			free = loss[r.free]
		}
		if err := sc.emitRow(r.Seq, loss[i], ent[i], free); err != nil {
			return err
		}
	}
	sc.rows, sc.maxLen = sc.rows[:0], 0
	return nil
}

// names lists the documents of the queued rows, for messages.
func (sc *Scorer) names() string {
	var seqs []*seq.Seq
	for _, r := range sc.rows {
		if !r.isFree {
			seqs = append(seqs, r.Seq)
		}
	}
	return seq.Names(seqs)
}

// Close emits what is still queued.
func (sc *Scorer) Close() error {
	if err := sc.Flush(); err != nil {
		return err
	}
	return sc.emitPending()
}

// run pads the rows into one batch, runs the model and returns each row's
// target losses and entropies in position order.
func (sc *Scorer) run() (loss, ent [][]float32, err error) {
	seqs := make([]*seq.Seq, len(sc.rows))
	for i, r := range sc.rows {
		seqs[i] = r.Seq
	}
	b := seq.NewBatch(seqs, nil)
	lay := model.Docs(b)
	if err := sc.M.CheckMemory(model.Pass{B: b.B, T: b.T, Pairs: lay.Pairs(), Targets: int64(len(b.Prev))}); err != nil {
		return nil, nil, err
	}
	sc.Tokens += b.B * b.T
	s := &torch.Scope{}
	defer s.Drop()
	ids, pos, err := b.Tensors(s, sc.M.Device)
	if err != nil {
		return nil, nil, err
	}
	h, err := sc.M.HiddenNoGrad(s, ids, pos, lay)
	if err != nil {
		return nil, nil, err
	}
	l, e, err := sc.M.TargetStats(h, b.Prev, b.Tgt)
	if err != nil {
		return nil, nil, err
	}
	loss, ent = make([][]float32, b.B), make([][]float32, b.B)
	for k, r := range b.Rows {
		loss[r], ent[r] = append(loss[r], l[k]), append(ent[r], e[k])
	}
	return loss, ent, nil
}

// emitRow splits a row's curves by segment into documents.
func (sc *Scorer) emitRow(s *seq.Seq, loss, ent, free []float32) error {
	type curves struct{ loss, ent []float32 }
	bySeg := make([]curves, len(s.Docs))
	for k, t := range s.Targets {
		c := &bySeg[s.Seg[t]-1]
		c.loss, c.ent = append(c.loss, loss[k]), append(c.ent, ent[k])
	}
	for si, d := range s.Docs {
		c := bySeg[si]
		if si == 0 && s.Packed && sc.pending != nil && sc.pending.ID == d.ID { // the next chunk of a split document
			sc.pending.Loss = append(sc.pending.Loss, c.loss...)
			sc.pending.Entropy = append(sc.pending.Entropy, c.ent...)
			continue
		}
		if err := sc.emitPending(); err != nil {
			return err
		}
		sc.pending = &formats.Score{ID: d.ID, Loss: c.loss, Entropy: c.ent, Meta: d.Meta, PromptFreeLoss: free}
	}
	return nil
}

func (sc *Scorer) emitPending() error {
	p := sc.pending
	if p == nil {
		return nil
	}
	sc.pending = nil
	for k := range p.Loss {
		if l, e := float64(p.Loss[k]), float64(p.Entropy[k]); math.IsNaN(l+e) || math.IsInf(l+e, 0) {
			return fmt.Errorf("record %q: the loss or entropy at target %d is not finite: the model's outputs are broken (dtype?)", p.ID, k)
		}
	}
	Summarize(p)
	return sc.Emit(p)
}

// Summarize fills a Score's means and NLIRG region shares from its curves.
func Summarize(s *formats.Score) {
	n := len(s.Loss)
	s.NTargets = int32(n)
	if s.Loss == nil {
		s.Loss, s.Entropy = []float32{}, []float32{}
	}
	if n == 0 {
		return
	}
	var sl, se float64
	var regions [weighting.NumRegions]int
	for k, l := range s.Loss {
		sl += float64(l)
		se += float64(s.Entropy[k])
		regions[weighting.Region(l)]++
	}
	s.MeanLoss = float32(sl / float64(n))
	s.PPL = float32(min(math.Exp(sl/float64(n)), math.MaxFloat32)) // JSON has no +Inf: saturate
	s.MeanEntropy = float32(se / float64(n))
	f := func(c int) float32 { return float32(c) / float32(n) }
	s.FracKnown, s.FracLearning = f(regions[weighting.RegionKnown]), f(regions[weighting.RegionLearning])
	s.FracHard, s.FracCut = f(regions[weighting.RegionHard]), f(regions[weighting.RegionCut])
	if s.PromptFreeLoss != nil {
		var sf float64
		for _, l := range s.PromptFreeLoss {
			sf += float64(l)
		}
		m := float32(sf / float64(len(s.PromptFreeLoss)))
		s.PromptFreeMeanLoss = &m
	}
}
