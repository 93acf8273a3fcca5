package packing

import (
	"fmt"
	"math/rand"
	"reflect"
	"testing"

	"github.com/ytrain/ytrain/formats"
)

func randomDocs(rng *rand.Rand, n, maxLen int) []formats.Token {
	docs := make([]formats.Token, n)
	for i := range docs {
		l := 1 + rng.Intn(maxLen)
		d := formats.Token{ID: fmt.Sprintf("d%d", i), InputIDs: make([]int32, l), LossMask: make(formats.Mask, l)}
		for t := range d.InputIDs {
			d.InputIDs[t] = int32(rng.Intn(50000))
			if t > 0 {
				d.LossMask[t] = uint8(rng.Intn(2))
			}
		}
		docs[i] = d
	}
	return docs
}

func pack(t *testing.T, opt Options, docs []formats.Token) ([]formats.Packed, Stats) {
	t.Helper()
	var rows []formats.Packed
	p, err := New(opt, func(r *formats.Packed) error {
		if err := r.Validate(); err != nil {
			t.Fatalf("row %d invalid: %v", len(rows), err)
		}
		if len(r.InputIDs) != opt.Length {
			t.Fatalf("row of %d tokens, want %d", len(r.InputIDs), opt.Length)
		}
		rows = append(rows, *r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range docs {
		if err := p.Add(&docs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Flush(); err != nil {
		t.Fatal(err)
	}
	return rows, p.Stats
}

// unpack joins each document's segments back together, in the order their
// documents first appear.
func unpack(rows []formats.Packed) (order []string, docs map[string]*formats.Token) {
	docs = map[string]*formats.Token{}
	for _, r := range rows {
		for t, s := range r.SegmentIDs {
			if s == 0 {
				continue
			}
			id := r.DocIDs[s-1]
			d, ok := docs[id]
			if !ok {
				d = &formats.Token{ID: id}
				docs[id] = d
				order = append(order, id)
			}
			d.InputIDs = append(d.InputIDs, r.InputIDs[t])
			d.LossMask = append(d.LossMask, r.LossMask[t])
		}
	}
	return order, docs
}

func TestNoTokenLostOrDuplicated(t *testing.T) {
	for _, strat := range []Strategy{NextFit, BestFit} {
		rng := rand.New(rand.NewSource(1))
		docs := randomDocs(rng, 400, 300)
		const n = 128
		rows, st := pack(t, Options{Length: n, Strategy: strat, OpenRows: 8}, docs)
		order, got := unpack(rows)
		if len(got) != len(docs) {
			t.Fatalf("%v: %d documents back, want %d", strat, len(got), len(docs))
		}
		var lost int64
		for _, d := range docs {
			g := got[d.ID]
			if !reflect.DeepEqual(g.InputIDs, d.InputIDs) {
				t.Fatalf("%v: %s: ids differ after unpacking", strat, d.ID)
			}
			for t0 := 0; t0 < len(d.LossMask); t0++ {
				want := d.LossMask[t0]
				if t0%n == 0 { // a chunk start loses its target
					lost += int64(want)
					want = 0
				}
				if g.LossMask[t0] != want {
					t.Fatalf("%v: %s: loss_mask[%d] = %d, want %d", strat, d.ID, t0, g.LossMask[t0], want)
				}
			}
		}
		if lost != st.LostTargets {
			t.Errorf("%v: LostTargets %d, counted %d", strat, st.LostTargets, lost)
		}
		if strat == NextFit {
			for i, id := range order {
				if id != docs[i].ID {
					t.Fatalf("next-fit changed the order at %d: %s, want %s", i, id, docs[i].ID)
				}
			}
		}
		t.Logf("%v: %d rows, fill %.3f", strat, st.Rows, float64(st.Tokens)/float64(st.Tokens+st.Padding))
	}
}

func TestBestFitPacksTighter(t *testing.T) {
	docs := randomDocs(rand.New(rand.NewSource(2)), 2000, 100)
	_, next := pack(t, Options{Length: 256, Strategy: NextFit}, docs)
	_, best := pack(t, Options{Length: 256, Strategy: BestFit}, docs)
	if best.Rows >= next.Rows {
		t.Fatalf("best-fit used %d rows, next-fit %d", best.Rows, next.Rows)
	}
}

func TestTruncate(t *testing.T) {
	doc := formats.Token{ID: "long", InputIDs: []int32{1, 2, 3, 4, 5, 6, 7}, LossMask: formats.Mask{0, 1, 1, 1, 1, 1, 1}}
	rows, st := pack(t, Options{Length: 4, Strategy: NextFit, Truncate: true}, []formats.Token{doc})
	want := formats.Packed{InputIDs: []int32{1, 2, 3, 4}, PositionIDs: []int32{0, 1, 2, 3}, SegmentIDs: []int32{1, 1, 1, 1},
		LossMask: formats.Mask{0, 1, 1, 1}, DocIDs: []string{"long"}}
	if len(rows) != 1 || !reflect.DeepEqual(rows[0], want) || st.TruncatedTokens != 3 {
		t.Fatalf("got %+v, %+v", rows, st)
	}
}

func TestPaddingAtEnd(t *testing.T) {
	docs := []formats.Token{
		{ID: "a", InputIDs: []int32{1, 2}, LossMask: formats.Mask{0, 1}},
		{ID: "b", InputIDs: []int32{3, 4, 5}, LossMask: formats.Mask{0, 1, 1}},
		{ID: "c", InputIDs: []int32{6, 7, 8, 9}, LossMask: formats.Mask{0, 0, 1, 1}},
	}
	rows, _ := pack(t, Options{Length: 6, Strategy: NextFit, PadID: 99}, docs)
	want := []formats.Packed{
		{InputIDs: []int32{1, 2, 3, 4, 5, 99}, PositionIDs: []int32{0, 1, 0, 1, 2, 0}, SegmentIDs: []int32{1, 1, 2, 2, 2, 0},
			LossMask: formats.Mask{0, 1, 0, 1, 1, 0}, DocIDs: []string{"a", "b"}},
		{InputIDs: []int32{6, 7, 8, 9, 99, 99}, PositionIDs: []int32{0, 1, 2, 3, 0, 0}, SegmentIDs: []int32{1, 1, 1, 1, 0, 0},
			LossMask: formats.Mask{0, 0, 1, 1, 0, 0}, DocIDs: []string{"c"}},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Fatalf("got %+v", rows)
	}
}

func TestBadLength(t *testing.T) {
	if _, err := New(Options{Length: 0}, nil); err == nil {
		t.Fatal("pack length 0 accepted")
	}
}
