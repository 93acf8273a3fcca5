package seq

import (
	"strings"
	"testing"

	"github.com/ytrain/ytrain/formats"
)

func TestLimits(t *testing.T) {
	tok := &formats.Token{ID: "a", InputIDs: []int32{1, 2, 3, 4, 5}, LossMask: formats.Mask{0, 1, 1, 1, 1}}
	for _, c := range []struct {
		lim  Limits
		want string
	}{
		{Limits{Vocab: 10, MaxPos: 5}, ""},
		{Limits{Vocab: 10}, ""},
		{Limits{Vocab: 5, MaxPos: 8}, "input_ids[4] = 5 is outside the model's vocabulary of 5"},
		{Limits{Vocab: 10, MaxPos: 4}, "position 4 (at 4 of 5 tokens) is beyond the model's max_position_embeddings 4"},
	} {
		err := c.lim.Check(FromToken(tok))
		if (err == nil) != (c.want == "") || err != nil && !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want %q", c.lim, err, c.want)
		}
	}
	// a packed row's positions restart with each document: its length alone is no limit
	p := FromPacked(&formats.Packed{InputIDs: []int32{1, 2, 3, 4, 5, 6}, PositionIDs: []int32{0, 1, 2, 0, 1, 2},
		SegmentIDs: []int32{1, 1, 1, 2, 2, 2}, LossMask: formats.Mask{0, 1, 1, 0, 1, 1}, DocIDs: []string{"a", "b"}})
	if err := (Limits{Vocab: 10, MaxPos: 3}).Check(p); err != nil {
		t.Errorf("packed row: %v", err)
	}
}

func TestNames(t *testing.T) {
	one := []*Seq{{Docs: []Doc{{ID: "a"}}}}
	if got := Names(one); got != `record "a"` {
		t.Errorf("got %s", got)
	}
	var many []*Seq
	for _, id := range []string{"a", "b", "c", "d", "e", "f", "g"} {
		many = append(many, &Seq{Docs: []Doc{{ID: id}}})
	}
	if got := Names(many); got != `records "a", "b", "c", "d", "e", and 2 more` {
		t.Errorf("got %s", got)
	}
}
