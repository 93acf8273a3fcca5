// Package scoring computes, for every document, the per-target loss and
// entropy curves of a model (the input of rank and of evaluate's forgetting
// measure), batching several documents per forward pass.
package scoring

import (
	"encoding/json"
	"errors"
	"math"

	"github.com/ytrain/ytrain/formats"
	"github.com/ytrain/ytrain/internal/model"
	"github.com/ytrain/ytrain/internal/torch"
)

// Scorer batches rows until their padded size reaches BatchTokens, runs
// them, and hands out Score records in input order.
type Scorer struct {
	M           *model.Model
	BatchTokens int
	PromptFree  bool // also score each answer without its prompt
	Emit        func(*formats.Score) error

	rows    []row
	maxLen  int
	pending *formats.Score // a packed document whose next chunk may follow
	Tokens  int64          // tokens run through the model
}

// row is one sequence of the batch. Its segments are documents (token
// records give one; packed rows several).
type row struct {
	ids, pos, seg []int64
	mask          formats.Mask
	docs          []doc // by segment: docs[s-1]
	free          int   // index into rows of this row's prompt-free twin, or -1
	isFree        bool
}

type doc struct {
	id   string
	meta json.RawMessage
}

// AddToken queues a token record.
func (sc *Scorer) AddToken(r *formats.Token) error {
	n := len(r.InputIDs)
	rw := row{ids: make([]int64, n), pos: make([]int64, n), seg: make([]int64, n), mask: r.LossMask,
		docs: []doc{{r.ID, r.Meta}}, free: -1}
	for t, id := range r.InputIDs {
		rw.ids[t], rw.pos[t], rw.seg[t] = int64(id), int64(t), 1
	}
	var twin *row
	if sc.PromptFree {
		twin = promptFree(&rw)
	}
	return sc.add(rw, twin)
}

// promptFree keeps a row's tokens from just before its first target: the
// answer scored with no prompt in front of it (the denominator of IFD).
func promptFree(r *row) *row {
	first := 0
	for t, m := range r.mask {
		if m == 1 {
			first = t
			break
		}
	}
	if first == 0 {
		return nil
	}
	start := first - 1
	f := &row{ids: r.ids[start:], pos: make([]int64, len(r.ids)-start), seg: r.seg[start:], mask: r.mask[start:],
		docs: r.docs, free: -1, isFree: true}
	for t := range f.pos {
		f.pos[t] = int64(t)
	}
	return f
}

// AddPacked queues a packed row; its documents come out in order, chunks of
// one document joined back together.
func (sc *Scorer) AddPacked(r *formats.Packed) error {
	if sc.PromptFree {
		return errors.New("--prompt-free needs token records: score them before pack")
	}
	n := len(r.InputIDs)
	rw := row{ids: make([]int64, n), pos: make([]int64, n), seg: make([]int64, n), mask: r.LossMask, free: -1}
	for t := range r.InputIDs {
		rw.ids[t], rw.pos[t], rw.seg[t] = int64(r.InputIDs[t]), int64(r.PositionIDs[t]), int64(r.SegmentIDs[t])
	}
	for _, id := range r.DocIDs {
		rw.docs = append(rw.docs, doc{id: id})
	}
	return sc.add(rw, nil)
}

func (sc *Scorer) add(r row, twin *row) error {
	need := len(r.ids)
	if twin != nil {
		need = max(need, len(twin.ids))
	}
	extra := 1
	if twin != nil {
		extra = 2
	}
	if len(sc.rows) > 0 && (len(sc.rows)+extra)*max(sc.maxLen, need) > sc.BatchTokens {
		if err := sc.Flush(); err != nil {
			return err
		}
	}
	if twin != nil {
		r.free = len(sc.rows) + 1
		sc.rows = append(sc.rows, r, *twin)
	} else {
		sc.rows = append(sc.rows, r)
	}
	sc.maxLen = max(sc.maxLen, need)
	return nil
}

// Flush runs the queued rows and emits their documents.
func (sc *Scorer) Flush() error {
	if len(sc.rows) == 0 {
		return sc.emitPending()
	}
	loss, ent, err := sc.run()
	if err != nil {
		return err
	}
	for i, r := range sc.rows {
		if r.isFree {
			continue
		}
		var free []float32
		if r.free >= 0 {
			free = loss[r.free]
		}
		if err := sc.emitRow(&r, loss[i], ent[i], free); err != nil {
			return err
		}
	}
	sc.rows, sc.maxLen = sc.rows[:0], 0
	return nil
}

// Close emits what is still queued.
func (sc *Scorer) Close() error {
	if err := sc.Flush(); err != nil {
		return err
	}
	return sc.emitPending()
}

// run pads the rows to one length, runs the model and returns each row's
// target losses and entropies in position order.
func (sc *Scorer) run() (loss, ent [][]float32, err error) {
	B, T := int64(len(sc.rows)), int64(sc.maxLen)
	ids := make([]int64, B*T)
	pos := make([]int64, B*T)
	seg := make([]int64, B*T)
	var prev, tgt []int64
	counts := make([]int, B)
	for b, r := range sc.rows {
		copy(ids[int64(b)*T:], r.ids)
		copy(pos[int64(b)*T:], r.pos)
		copy(seg[int64(b)*T:], r.seg)
		for t := 1; t < len(r.ids); t++ {
			if r.mask[t] == 1 {
				prev = append(prev, int64(b)*T+int64(t-1))
				tgt = append(tgt, r.ids[t])
				counts[b]++
			}
		}
	}
	sc.Tokens += B * T
	s := &torch.Scope{}
	defer s.Drop()
	dev := sc.M.Device
	idT, err := torch.Int64s(ids, dev, B, T)
	if err != nil {
		return nil, nil, err
	}
	posT, err := torch.Int64s(pos, dev, B, T)
	if err != nil {
		return nil, nil, err
	}
	segT, err := torch.Int64s(seg, dev, B, T)
	if err != nil {
		return nil, nil, err
	}
	s.Add(idT)
	s.Add(posT)
	s.Add(segT)
	h, err := sc.M.Hidden(s, idT, posT, model.Mask(s, segT), nil)
	if err != nil {
		return nil, nil, err
	}
	l, e, err := sc.M.TargetStats(h, prev, tgt)
	if err != nil {
		return nil, nil, err
	}
	for _, c := range counts {
		loss, ent = append(loss, l[:c]), append(ent, e[:c])
		l, e = l[c:], e[c:]
	}
	return loss, ent, nil
}

// emitRow splits a row's curves by segment into documents.
func (sc *Scorer) emitRow(r *row, loss, ent, free []float32) error {
	type curves struct{ loss, ent []float32 }
	bySeg := make([]curves, len(r.docs))
	k := 0
	for t := 1; t < len(r.ids); t++ {
		if r.mask[t] == 1 {
			c := &bySeg[r.seg[t]-1]
			c.loss, c.ent = append(c.loss, loss[k]), append(c.ent, ent[k])
			k++
		}
	}
	for si, d := range r.docs {
		c := bySeg[si]
		if sc.pending != nil && sc.pending.ID == d.id { // the next chunk of a split document
			sc.pending.Loss = append(sc.pending.Loss, c.loss...)
			sc.pending.Entropy = append(sc.pending.Entropy, c.ent...)
			continue
		}
		if err := sc.emitPending(); err != nil {
			return err
		}
		sc.pending = &formats.Score{ID: d.id, Loss: c.loss, Entropy: c.ent, Meta: d.meta, PromptFreeLoss: free}
	}
	return nil
}

func (sc *Scorer) emitPending() error {
	p := sc.pending
	if p == nil {
		return nil
	}
	sc.pending = nil
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
	var known, learning, hard, cut int
	for k, l := range s.Loss {
		sl += float64(l)
		se += float64(s.Entropy[k])
		switch {
		case l <= 1.45:
			known++
		case l < 6.6:
			learning++
		case l < 15:
			hard++
		default:
			cut++
		}
	}
	s.MeanLoss = float32(sl / float64(n))
	s.PPL = float32(math.Exp(sl / float64(n)))
	s.MeanEntropy = float32(se / float64(n))
	f := func(c int) float32 { return float32(c) / float32(n) }
	s.FracKnown, s.FracLearning, s.FracHard, s.FracCut = f(known), f(learning), f(hard), f(cut)
	if s.PromptFreeLoss != nil {
		var sf float64
		for _, l := range s.PromptFreeLoss {
			sf += float64(l)
		}
		m := float32(sf / float64(len(s.PromptFreeLoss)))
		s.PromptFreeMeanLoss = &m
	}
}
