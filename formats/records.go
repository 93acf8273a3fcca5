package formats

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Token is one tokenized document. LossMask[t] == 1 means InputIDs[t] is a
// training target predicted from position t-1, so LossMask[0] is always 0.
type Token struct {
	ID       string          `json:"id"`
	InputIDs []int32         `json:"input_ids"`
	LossMask Mask            `json:"loss_mask"`
	Meta     json.RawMessage `json:"meta,omitempty"` // compact JSON, carried through untouched
}

// Packed holds whole documents (or chunks of long ones) laid end to end in
// one row of fixed length. Documents are numbered 1..k in SegmentIDs in pack
// order, 0 marks padding at the end; PositionIDs restart at 0 for every
// segment; LossMask is 0 on padding and on each segment's first token, whose
// predecessor belongs to another segment. DocIDs[s-1] is the ID of segment s.
type Packed struct {
	InputIDs    []int32  `json:"input_ids"`
	PositionIDs []int32  `json:"position_ids"`
	SegmentIDs  []int32  `json:"segment_ids"`
	LossMask    Mask     `json:"loss_mask"`
	DocIDs      []string `json:"doc_ids"`
}

// Mask is a 0/1 list. It is its own type so that JSON writes numbers, not
// the base64 string encoding/json uses for []uint8.
type Mask []uint8

func (m Mask) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 2*len(m)+2)
	b = append(b, '[')
	for i, v := range m {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, uint64(v), 10)
	}
	return append(b, ']'), nil
}

func (m *Mask) UnmarshalJSON(b []byte) error {
	var v []uint8
	// Decode through []int so that base64 strings are rejected as the wrong type.
	var ints []int
	if err := json.Unmarshal(b, &ints); err != nil {
		return err
	}
	if ints != nil {
		v = make([]uint8, len(ints))
	}
	for i, x := range ints {
		if x != 0 && x != 1 {
			return fmt.Errorf("loss_mask[%d] = %d, want 0 or 1", i, x)
		}
		v[i] = uint8(x)
	}
	*m = v
	return nil
}

// Targets counts the positions that are training targets.
func (m Mask) Targets() int {
	n := 0
	for _, v := range m {
		n += int(v)
	}
	return n
}

func (r *Token) Validate() error {
	switch {
	case r.ID == "":
		return errors.New("empty id")
	case len(r.InputIDs) == 0:
		return fmt.Errorf("record %q: empty input_ids", r.ID)
	case len(r.LossMask) != len(r.InputIDs):
		return fmt.Errorf("record %q: %d input_ids but %d loss_mask values", r.ID, len(r.InputIDs), len(r.LossMask))
	case r.LossMask[0] != 0:
		return fmt.Errorf("record %q: loss_mask[0] must be 0 (the first token has no predecessor)", r.ID)
	}
	if err := validMask(r.LossMask); err != nil {
		return fmt.Errorf("record %q: %w", r.ID, err)
	}
	if err := validIDs(r.InputIDs); err != nil {
		return fmt.Errorf("record %q: %w", r.ID, err)
	}
	if r.Meta != nil && !json.Valid(r.Meta) {
		return fmt.Errorf("record %q: meta is not valid JSON", r.ID)
	}
	return nil
}

func (r *Packed) Validate() error {
	n := len(r.InputIDs)
	if n == 0 {
		return errors.New("empty input_ids")
	}
	if len(r.PositionIDs) != n || len(r.SegmentIDs) != n || len(r.LossMask) != n {
		return fmt.Errorf("lengths differ: input_ids %d, position_ids %d, segment_ids %d, loss_mask %d",
			n, len(r.PositionIDs), len(r.SegmentIDs), len(r.LossMask))
	}
	if err := validMask(r.LossMask); err != nil {
		return err
	}
	if err := validIDs(r.InputIDs); err != nil {
		return err
	}
	seg, pad := int32(0), false
	for t, s := range r.SegmentIDs {
		switch {
		case s == 0:
			pad = true
			if r.LossMask[t] != 0 {
				return fmt.Errorf("position %d: padding is a target", t)
			}
		case pad:
			return fmt.Errorf("position %d: segment %d after padding (padding only at the end)", t, s)
		case s == seg+1:
			seg = s
			if r.PositionIDs[t] != 0 || r.LossMask[t] != 0 {
				return fmt.Errorf("position %d: segment %d must start with position 0 and no target", t, s)
			}
		case s == seg:
			if t == 0 || r.PositionIDs[t] != r.PositionIDs[t-1]+1 {
				return fmt.Errorf("position %d: position_ids not consecutive within segment %d", t, s)
			}
		default:
			return fmt.Errorf("position %d: segment %d follows %d (segments are numbered 1..k in order)", t, s, seg)
		}
	}
	if int(seg) != len(r.DocIDs) {
		return fmt.Errorf("%d segments but %d doc_ids", seg, len(r.DocIDs))
	}
	return nil
}

func validMask(m Mask) error {
	for i, v := range m {
		if v > 1 {
			return fmt.Errorf("loss_mask[%d] = %d, want 0 or 1", i, v)
		}
	}
	return nil
}

func validIDs(ids []int32) error {
	for i, v := range ids {
		if v < 0 {
			return fmt.Errorf("input_ids[%d] = %d is negative", i, v)
		}
	}
	return nil
}

// Score holds a document's per-target curves from a model: Loss[k] is the
// cross-entropy of the k-th target token and Entropy[k] the entropy (nats) of
// the same predictive distribution, so the two curves are aligned.
type Score struct {
	ID          string    `json:"id"`
	Loss        []float32 `json:"loss"`
	Entropy     []float32 `json:"entropy"`
	NTargets    int32     `json:"n_targets"`
	MeanLoss    float32   `json:"mean_loss"`
	PPL         float32   `json:"ppl"`
	MeanEntropy float32   `json:"mean_entropy"`
	// Shares of targets in the four NLIRG loss regions, known, learning,
	// hard and cut off (docs/nlirg.md §1.2).
	FracKnown    float32 `json:"frac_known"`
	FracLearning float32 `json:"frac_learning"`
	FracHard     float32 `json:"frac_hard"`
	FracCut      float32 `json:"frac_cut"`
	// The answer scored without its prompt (score --prompt-free), for IFD.
	PromptFreeLoss     []float32       `json:"prompt_free_loss,omitempty"`
	PromptFreeMeanLoss *float32        `json:"prompt_free_mean_loss,omitempty"`
	Meta               json.RawMessage `json:"meta,omitempty"`
}

func (r *Score) Validate() error {
	switch {
	case r.ID == "":
		return errors.New("empty id")
	case len(r.Loss) != int(r.NTargets) || len(r.Entropy) != int(r.NTargets):
		return fmt.Errorf("record %q: n_targets %d but %d loss and %d entropy values", r.ID, r.NTargets, len(r.Loss), len(r.Entropy))
	case r.PromptFreeLoss != nil && len(r.PromptFreeLoss) != int(r.NTargets):
		return fmt.Errorf("record %q: n_targets %d but %d prompt_free_loss values", r.ID, r.NTargets, len(r.PromptFreeLoss))
	}
	return nil
}
