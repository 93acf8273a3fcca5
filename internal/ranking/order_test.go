package ranking

import (
	"reflect"
	"testing"
)

func TestArrange(t *testing.T) {
	// ascending with ties in input order: 1 (0.1), 4 (0.3), 0 (0.5), 2 (0.5), 3 (0.9)
	scores := []float64{0.5, 0.1, 0.5, 0.9, 0.3}
	above := 0.5
	for _, c := range []struct {
		name string
		plan Plan
		want []int
		drop Dropped
	}{
		{"asc", Plan{}, []int{1, 4, 0, 2, 3}, Dropped{}},
		{"desc keeps ties in input order", Plan{Desc: true}, []int{3, 0, 2, 4, 1}, Dropped{}},
		{"drop-above", Plan{Desc: true, DropAbove: &above}, []int{0, 2, 4, 1}, Dropped{Above: 1}},
		{"drop-worst 0.4 = 2 of 5", Plan{DropWorst: 0.4}, []int{1, 4, 0}, Dropped{Worst: 2}},
		{"then drop-worst of what is left", Plan{DropAbove: &above, DropWorst: 0.25}, []int{1, 4, 0}, Dropped{Above: 1, Worst: 1}},
		{"band low", Plan{Band: Band{"low", 0.4}}, []int{1, 4}, Dropped{Band: 3}},
		{"band mid", Plan{Band: Band{"mid", 0.6}}, []int{4, 0, 2}, Dropped{Band: 2}},
		{"band high", Plan{Band: Band{"high", 0.2}}, []int{3}, Dropped{Band: 4}},
		{"band mid, odd drop: one more above", Plan{Band: Band{"mid", 0.4}}, []int{4, 0}, Dropped{Band: 3}},
		{"interleave:2", Plan{Desc: true, Interleave: 2}, []int{3, 4, 0, 1, 2}, Dropped{}},
	} {
		got, drop := Arrange(scores, c.plan)
		if !reflect.DeepEqual(got, c.want) || drop != c.drop {
			t.Errorf("%s: order %v dropped %+v, want %v %+v", c.name, got, drop, c.want, c.drop)
		}
	}
}

func TestInterleave(t *testing.T) {
	ord := []int{0, 1, 2, 3, 4, 5, 6}
	// strata of 3, 2, 2: (0 1 2) (3 4) (5 6)
	if got := interleave(ord, 3); !reflect.DeepEqual(got, []int{0, 3, 5, 1, 4, 6, 2}) {
		t.Errorf("K=3: %v", got)
	}
	if got := interleave(ord, 7); !reflect.DeepEqual(got, ord) {
		t.Errorf("K=n: %v", got)
	}
	if got := interleave(ord, 10); !reflect.DeepEqual(got, ord) {
		t.Errorf("K>n: %v", got)
	}
	if got := interleave([]int{0, 1, 2, 3, 4, 5}, 2); !reflect.DeepEqual(got, []int{0, 3, 1, 4, 2, 5}) {
		t.Errorf("K=2: %v", got)
	}
}

func TestParse(t *testing.T) {
	if b, err := ParseBand("mid:0.8"); err != nil || b != (Band{"mid", 0.8}) {
		t.Errorf("mid:0.8: %v %v", b, err)
	}
	for _, s := range []string{"mid", "middle:0.5", "low:0", "high:1.5", "low:x"} {
		if _, err := ParseBand(s); err == nil {
			t.Errorf("--keep-band %s accepted", s)
		}
	}
	if k, err := ParseMix("interleave:4"); err != nil || k != 4 {
		t.Errorf("interleave:4: %v %v", k, err)
	}
	if k, err := ParseMix("none"); err != nil || k != 0 {
		t.Errorf("none: %v %v", k, err)
	}
	for _, s := range []string{"interleave", "interleave:0", "shuffle:2", "4"} {
		if _, err := ParseMix(s); err == nil {
			t.Errorf("--mix %s accepted", s)
		}
	}
}
