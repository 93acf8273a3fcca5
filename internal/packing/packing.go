// Package packing lays token records end to end into rows of a fixed length,
// so training and scoring waste no compute on padding. Each document stays
// its own segment: the compute plane gives segments a block-diagonal causal
// mask and positions restarting at 0, so a packed row computes exactly what
// its documents would alone.
package packing

import (
	"fmt"
	"io"
	"sort"

	"github.com/ytrain/ytrain/formats"
)

// Strategy chooses where a document goes.
type Strategy int

const (
	// NextFit keeps input order: a document goes into the current row or
	// closes it. A ranked curriculum survives packing.
	NextFit Strategy = iota + 1
	// BestFit puts each document into the open row it fills most tightly;
	// rows leave in order of completion, not input order.
	BestFit
)

func ParseStrategy(s string) (Strategy, error) {
	switch s {
	case "next-fit":
		return NextFit, nil
	case "best-fit":
		return BestFit, nil
	}
	return 0, fmt.Errorf("--strategy %q: want next-fit or best-fit", s)
}

// Options shape the packs.
type Options struct {
	Length   int
	Strategy Strategy
	Truncate bool  // cut documents longer than Length instead of splitting them
	PadID    int32 // input id written on padding (never attended, never a target)
	OpenRows int   // BestFit: rows kept open at once (bounds memory)
}

// Stats counts what packing did.
type Stats struct {
	Docs, Rows, Split int
	Tokens, Padding   int64
	TruncatedTokens   int64
	// LostTargets are targets at the start of a chunk of a split document:
	// their predecessor lies in another segment, so they cannot be trained.
	LostTargets int64
}

// Packer receives token records one at a time and emits full rows.
type Packer struct {
	opt   Options
	emit  func(*formats.Packed) error
	open  []*formats.Packed // NextFit: at most one
	Stats Stats
}

func New(opt Options, emit func(*formats.Packed) error) (*Packer, error) {
	if opt.Length <= 0 {
		return nil, fmt.Errorf("--pack-length %d: want a positive number of tokens", opt.Length)
	}
	if opt.OpenRows <= 0 {
		opt.OpenRows = 64
	}
	return &Packer{opt: opt, emit: emit}, nil
}

// Add packs one document, splitting (or truncating) it when it is longer
// than a row.
func (p *Packer) Add(rec *formats.Token) error {
	p.Stats.Docs++
	ids, mask := rec.InputIDs, rec.LossMask
	n := p.opt.Length
	if len(ids) > n && p.opt.Truncate {
		p.Stats.TruncatedTokens += int64(len(ids) - n)
		ids, mask = ids[:n], mask[:n]
	}
	if len(ids) > n {
		p.Stats.Split++
	}
	for start := 0; start < len(ids); start += n {
		end := min(start+n, len(ids))
		if start > 0 {
			p.Stats.LostTargets += int64(mask[start])
		}
		if err := p.place(rec.ID, ids[start:end], mask[start:end]); err != nil {
			return err
		}
	}
	return nil
}

func (p *Packer) place(id string, ids []int32, mask formats.Mask) error {
	if p.opt.Strategy == BestFit {
		return p.placeBest(id, ids, mask)
	}
	if len(p.open) == 1 && len(p.open[0].InputIDs)+len(ids) > p.opt.Length {
		if err := p.close(0); err != nil {
			return err
		}
	}
	if len(p.open) == 0 {
		p.open = append(p.open, &formats.Packed{})
	}
	appendSegment(p.open[0], id, ids, mask)
	if len(p.open[0].InputIDs) == p.opt.Length {
		return p.close(0)
	}
	return nil
}

func (p *Packer) placeBest(id string, ids []int32, mask formats.Mask) error {
	best := -1
	for i, row := range p.open {
		free := p.opt.Length - len(row.InputIDs)
		if free >= len(ids) && (best < 0 || free < p.opt.Length-len(p.open[best].InputIDs)) {
			best = i
		}
	}
	if best < 0 {
		if len(p.open) == p.opt.OpenRows {
			// make room by shipping the fullest row
			sort.Slice(p.open, func(i, j int) bool { return len(p.open[i].InputIDs) > len(p.open[j].InputIDs) })
			if err := p.close(0); err != nil {
				return err
			}
		}
		p.open = append(p.open, &formats.Packed{})
		best = len(p.open) - 1
	}
	appendSegment(p.open[best], id, ids, mask)
	if len(p.open[best].InputIDs) == p.opt.Length {
		return p.close(best)
	}
	return nil
}

func appendSegment(row *formats.Packed, id string, ids []int32, mask formats.Mask) {
	row.DocIDs = append(row.DocIDs, id)
	seg := int32(len(row.DocIDs))
	for t, v := range ids {
		row.InputIDs = append(row.InputIDs, v)
		row.PositionIDs = append(row.PositionIDs, int32(t))
		row.SegmentIDs = append(row.SegmentIDs, seg)
		m := mask[t]
		if t == 0 {
			m = 0 // predicted from another segment: not trainable
		}
		row.LossMask = append(row.LossMask, m)
	}
}

// close pads open row i to the full length and emits it.
func (p *Packer) close(i int) error {
	row := p.open[i]
	p.open = append(p.open[:i], p.open[i+1:]...)
	used := len(row.InputIDs)
	for len(row.InputIDs) < p.opt.Length {
		row.InputIDs = append(row.InputIDs, p.opt.PadID)
		row.PositionIDs = append(row.PositionIDs, 0)
		row.SegmentIDs = append(row.SegmentIDs, 0)
		row.LossMask = append(row.LossMask, 0)
	}
	p.Stats.Rows++
	p.Stats.Tokens += int64(used)
	p.Stats.Padding += int64(p.opt.Length - used)
	return p.emit(row)
}

// Flush pads and emits the rows still open.
func (p *Packer) Flush() error {
	for len(p.open) > 0 {
		if err := p.close(0); err != nil {
			return err
		}
	}
	return nil
}

// Run packs every token record of paths ("-": stdin), in order, into emit.
func Run(opt Options, paths []string, stdin io.Reader, emit func(*formats.Packed) error) (Stats, error) {
	p, err := New(opt, emit)
	if err != nil {
		return Stats{}, err
	}
	in := formats.OpenInputs(paths, stdin, formats.TokenCodec)
	defer in.Close()
	for rec, err := range in.All() {
		if err != nil {
			return p.Stats, err
		}
		if err := p.Add(rec); err != nil {
			return p.Stats, err
		}
	}
	return p.Stats, p.Flush()
}
