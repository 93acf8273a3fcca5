// Package seq is the one path from records to tensors: token and packed
// records become sequences of int64 ids, positions and segments (Seq), and
// sequences become padded (B, T) batches on a device (Batch), for score,
// train and generate alike.
package seq

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"

	"github.com/ytrain/ytrain/formats"
	"github.com/ytrain/ytrain/internal/torch"
)

// Seq is one row the model runs: a token record (one document) or a packed
// row (documents laid end to end).
type Seq struct {
	IDs     []int64 // (T) token ids
	Pos     []int64 // (T) positions, restarting at 0 for every document
	Seg     []int64 // (T) segments: document 1..k, 0 on padding
	Targets []int   // positions t ≥ 1 whose token is a target, predicted from t−1
	Docs    []Doc   // by segment: Docs[s−1]
	Packed  bool    // from a packed record
	Where   string  // FILE:LINE or FILE: record N, for messages
}

// Doc is one document of a sequence.
type Doc struct {
	ID   string
	Meta json.RawMessage
}

// FromToken makes a one-document sequence of a token record.
func FromToken(r *formats.Token) *Seq {
	s := newSeq(r.InputIDs, nil, nil, r.LossMask)
	s.Docs = []Doc{{r.ID, r.Meta}}
	return s
}

// FromPacked makes a sequence of a packed row.
func FromPacked(r *formats.Packed) *Seq {
	s := newSeq(r.InputIDs, r.PositionIDs, r.SegmentIDs, r.LossMask)
	for _, id := range r.DocIDs {
		s.Docs = append(s.Docs, Doc{ID: id})
	}
	s.Packed = true
	return s
}

// FromIDs makes a one-document sequence of ids with no targets (a prompt).
func FromIDs(ids []int32) *Seq { return newSeq(ids, nil, nil, nil) }

func newSeq(ids, pos, seg []int32, mask formats.Mask) *Seq {
	n := len(ids)
	s := &Seq{IDs: make([]int64, n), Pos: make([]int64, n), Seg: make([]int64, n)}
	for t, v := range ids {
		s.IDs[t], s.Pos[t], s.Seg[t] = int64(v), int64(t), 1
		if pos != nil {
			s.Pos[t], s.Seg[t] = int64(pos[t]), int64(seg[t])
		}
		if t > 0 && mask != nil && mask[t] == 1 {
			s.Targets = append(s.Targets, t)
		}
	}
	return s
}

// Len is the number of positions.
func (s *Seq) Len() int { return len(s.IDs) }

// Names names the documents of seqs in messages: record "a", or records
// "a", "b" (at most five, then a count).
func Names(seqs []*Seq) string {
	var ids []string
	n := 0
	for _, s := range seqs {
		for _, d := range s.Docs {
			if n++; n <= 5 {
				ids = append(ids, strconv.Quote(d.ID))
			}
		}
	}
	if n == 1 {
		return "record " + ids[0]
	}
	if n > 5 {
		ids = append(ids, fmt.Sprintf("and %d more", n-5))
	}
	return "records " + strings.Join(ids, ", ")
}

// Limits are what a model can run: ids below Vocab, positions below MaxPos
// (max_position_embeddings; 0 when the config has none).
type Limits struct {
	Vocab, MaxPos int64
}

// Check catches data tokenized for another model, or too long for this
// one, before libtorch does (an id out of range, or an attention matrix
// that does not fit in memory).
func (l Limits) Check(s *Seq) error {
	for t, v := range s.IDs {
		if v < 0 || v >= l.Vocab {
			return fmt.Errorf("input_ids[%d] = %d is outside the model's vocabulary of %d (tokenized for another model?)", t, v, l.Vocab)
		}
	}
	if l.MaxPos > 0 {
		for t, p := range s.Pos {
			if p >= l.MaxPos {
				return fmt.Errorf("position %d (at %d of %d tokens) is beyond the model's max_position_embeddings %d: shorten it (tokenize --max-len, pack --pack-length)", p, t, s.Len(), l.MaxPos)
			}
		}
	}
	return nil
}

// Each reads the token or packed records of path ("-": stdin) in order and
// hands each to fn as a sequence, checked against the model's limits.
// Errors name the file and record.
func Each(path string, stdin io.Reader, lim Limits, fn func(*Seq) error) error {
	r, name := stdin, "stdin"
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		r, name = f, path
	}
	br := bufio.NewReaderSize(r, 1<<16)
	kind, br, err := formats.PeekKind(br)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	switch kind {
	case formats.TokenCodec.Kind:
		return each(br, name, formats.TokenCodec, FromToken, lim, fn)
	case formats.PackedCodec.Kind:
		return each(br, name, formats.PackedCodec, FromPacked, lim, fn)
	}
	return fmt.Errorf("%s: %s records cannot be run (want token or packed records)", name, kind)
}

func each[T any](r io.Reader, name string, c *formats.Codec[T], seq func(*T) *Seq, lim Limits, fn func(*Seq) error) error {
	return formats.Each(r, name, c, func(rec *T, where string) error {
		s := seq(rec)
		s.Where = where
		if err := lim.Check(s); err != nil {
			if !s.Packed {
				return fmt.Errorf("record %q: %w", s.Docs[0].ID, err)
			}
			return err
		}
		return fn(s)
	})
}

// Read reads every sequence of paths that has a target to learn from.
func Read(paths []string, lim Limits) ([]*Seq, error) {
	var out []*Seq
	for _, p := range paths {
		err := Each(p, nil, lim, func(s *Seq) error {
			if len(s.Targets) > 0 {
				out = append(out, s)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no records with targets in %v", paths)
	}
	return out, nil
}

// Batch is sequences padded into (B, T) rows, with the targets chosen to be
// predicted. Right padding is segment 0 and never a target; left padding
// (prompts for generation) is segment 0 too, so no prompt attends to it.
type Batch struct {
	B, T          int64
	IDs, Pos, Seg []int64 // (B*T)
	// Prev[k] is the flat index (b*T + t−1) of the position that predicts
	// target k, Tgt[k] its token; Rows[k] the row it belongs to.
	Prev, Tgt []int64
	Rows      []int
}

// NewBatch pads seqs on the right to the longest; targets[i] lists the
// target positions of seqs[i] to predict (nil targets: every target of
// every row).
func NewBatch(seqs []*Seq, targets [][]int) *Batch {
	b := &Batch{B: int64(len(seqs))}
	for _, s := range seqs {
		b.T = max(b.T, int64(s.Len()))
	}
	b.alloc()
	for i, s := range seqs {
		off := int64(i) * b.T
		copy(b.IDs[off:], s.IDs)
		copy(b.Pos[off:], s.Pos)
		copy(b.Seg[off:], s.Seg)
		tg := s.Targets
		if targets != nil {
			tg = targets[i]
		}
		for _, t := range tg {
			b.Prev = append(b.Prev, off+int64(t-1))
			b.Tgt = append(b.Tgt, s.IDs[t])
			b.Rows = append(b.Rows, i)
		}
	}
	return b
}

// LeftPadded pads seqs on the left to the longest, so that every row's last
// position is the last column (generation appends there).
func LeftPadded(seqs []*Seq) *Batch {
	b := &Batch{B: int64(len(seqs))}
	for _, s := range seqs {
		b.T = max(b.T, int64(s.Len()))
	}
	b.alloc()
	for i, s := range seqs {
		off := int64(i)*b.T + b.T - int64(s.Len())
		copy(b.IDs[off:], s.IDs)
		copy(b.Pos[off:], s.Pos)
		copy(b.Seg[off:], s.Seg)
	}
	return b
}

func (b *Batch) alloc() {
	n := b.B * b.T
	b.IDs, b.Pos, b.Seg = make([]int64, n), make([]int64, n), make([]int64, n)
}

// Tensors uploads ids and positions to dev as (B, T) int64 tensors
// registered in s. The segments stay on the host: attention reads them as
// a layout (model.Docs); a mask that needs them uploads them itself.
func (b *Batch) Tensors(s *torch.Scope, dev gotch.Device) (ids, pos *ts.Tensor, err error) {
	if ids, err = Upload(s, dev, b.IDs, b.B, b.T); err != nil {
		return nil, nil, err
	}
	pos, err = Upload(s, dev, b.Pos, b.B, b.T)
	return ids, pos, err
}

// Targets uploads the targets to dev, registered in s: prev (N), the flat
// positions predicting them, and tgt (N, 1), their ids.
func (b *Batch) Targets(s *torch.Scope, dev gotch.Device) (prev, tgt *ts.Tensor, err error) {
	n := int64(len(b.Prev))
	if prev, err = Upload(s, dev, b.Prev, n); err != nil {
		return nil, nil, err
	}
	tgt, err = Upload(s, dev, b.Tgt, n, 1)
	return prev, tgt, err
}

// Upload makes a tensor of shape from vals on dev, registered in s.
func Upload(s *torch.Scope, dev gotch.Device, vals []int64, shape ...int64) (*ts.Tensor, error) {
	t, err := torch.Int64s(vals, dev, shape...)
	if err != nil {
		return nil, err
	}
	return s.Add(t), nil
}
