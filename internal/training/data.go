package training

import (
	"bufio"
	"fmt"
	"math/rand"
	"os"

	"github.com/ytrain/ytrain/formats"
	"github.com/ytrain/ytrain/internal/weighting"
)

// row is one training sequence: a token record, or a packed row of several
// documents.
type row struct {
	id      string
	ids     []int64
	pos     []int64 // restart at 0 per segment
	seg     []int64 // 1..k, 0 on padding
	targets []int   // positions t ≥ 1 whose token is a target (predicted from t-1)
}

// unit is what one forward/backward covers: some rows, and for each the
// targets that count in this unit (a window of them, in windowed SFT).
type unit struct {
	rows    []*row
	targets [][]int
}

func (u *unit) nTargets() int {
	n := 0
	for _, t := range u.targets {
		n += len(t)
	}
	return n
}

// readRows loads every token or packed record of the inputs, checking ids
// against the vocabulary.
func readRows(paths []string, vocab int64) ([]*row, error) {
	var rows []*row
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		br := bufio.NewReaderSize(f, 1<<16)
		kind, err := formats.PeekKind(br)
		if err == nil {
			switch kind {
			case formats.TokenCodec.Kind:
				err = formats.Each(br, p, formats.TokenCodec, func(r *formats.Token) error {
					rw, err := newRow(r.ID, r.InputIDs, nil, nil, r.LossMask, vocab)
					return keep(&rows, rw, err)
				})
			case formats.PackedCodec.Kind:
				err = formats.Each(br, p, formats.PackedCodec, func(r *formats.Packed) error {
					rw, err := newRow(fmt.Sprint(r.DocIDs), r.InputIDs, r.PositionIDs, r.SegmentIDs, r.LossMask, vocab)
					return keep(&rows, rw, err)
				})
			default:
				err = fmt.Errorf("%s records cannot be trained on (want token or packed records)", kind)
			}
		}
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("no training records in %v", paths)
	}
	return rows, nil
}

// keep adds a row that has something to train on.
func keep(rows *[]*row, r *row, err error) error {
	if err == nil && len(r.targets) > 0 {
		*rows = append(*rows, r)
	}
	return err
}

func newRow(id string, ids, pos, seg []int32, mask formats.Mask, vocab int64) (*row, error) {
	n := len(ids)
	r := &row{id: id, ids: make([]int64, n), pos: make([]int64, n), seg: make([]int64, n)}
	for t, v := range ids {
		if int64(v) >= vocab {
			return nil, fmt.Errorf("input_ids[%d] = %d is outside the model's vocabulary of %d (tokenized for another model?)", t, v, vocab)
		}
		r.ids[t], r.pos[t], r.seg[t] = int64(v), int64(t), 1
		if pos != nil {
			r.pos[t], r.seg[t] = int64(pos[t]), int64(seg[t])
		}
		if t > 0 && mask[t] == 1 {
			r.targets = append(r.targets, t)
		}
	}
	return r, nil
}

// Mode is how rows become units.
type Mode int

const (
	Fused    Mode = iota + 1 // BatchSize rows per unit, every target
	Windowed                 // one row per unit, TokenBatch targets at a time
)

// units lays out one epoch. Rows are shuffled with the epoch's seed when
// asked (off by default: the order of the data is the curriculum).
func units(rows []*row, mode Mode, batchSize, tokenBatch int, v2Windows bool, shuffle bool, seed int64, epoch int) []unit {
	order := rows
	if shuffle {
		order = append([]*row(nil), rows...)
		rng := rand.New(rand.NewSource(seed*1_000_003 + int64(epoch)))
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	}
	var out []unit
	if mode == Windowed {
		split := weighting.Windows
		if v2Windows {
			split = weighting.WindowsV2
		}
		for _, r := range order {
			for _, w := range split(r.targets, tokenBatch) {
				if len(w) > 0 {
					out = append(out, unit{rows: []*row{r}, targets: [][]int{w}})
				}
			}
		}
		return out
	}
	for i := 0; i < len(order); i += batchSize {
		u := unit{}
		for _, r := range order[i:min(i+batchSize, len(order))] {
			u.rows = append(u.rows, r)
			u.targets = append(u.targets, r.targets)
		}
		out = append(out, u)
	}
	return out
}
