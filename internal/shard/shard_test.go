package shard

import (
	"slices"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	for _, c := range []struct {
		flag string
		env  map[string]string
		want Shard
		err  string
	}{
		{"", nil, Shard{0, 1}, ""},
		{"", map[string]string{"WORLD_SIZE": "1", "RANK": "0"}, Shard{0, 1}, ""},
		{"", map[string]string{"WORLD_SIZE": "4", "RANK": "3"}, Shard{3, 4}, ""},
		{"1/2", map[string]string{"WORLD_SIZE": "4", "RANK": "3"}, Shard{1, 2}, ""}, // the flag wins
		{"0/1", nil, Shard{0, 1}, ""},
		{"2/2", nil, Shard{}, `--shard "2/2"`},
		{"-1/2", nil, Shard{}, `--shard "-1/2"`},
		{"1", nil, Shard{}, `--shard "1"`},
		{"1/0", nil, Shard{}, `--shard "1/0"`},
		{"", map[string]string{"WORLD_SIZE": "4"}, Shard{}, `RANK="", WORLD_SIZE="4"`},
	} {
		got, err := Resolve(c.flag, env(c.env))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("Resolve(%q, %v) err = %v, want %q", c.flag, c.env, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("Resolve(%q, %v) = %v, %v; want %v", c.flag, c.env, got, err, c.want)
		}
	}
}

func TestOutput(t *testing.T) {
	for _, c := range []struct {
		s          Shard
		path, want string
	}{
		{Shard{1, 4}, "out/data.arrow", "out/data-00001-of-00004.arrow"},
		{Shard{0, 2}, "scores", "scores-00000-of-00002"},
		{Shard{0, 1}, "data.arrow", "data.arrow"},
		{Shard{1, 2}, "", ""},
		{Shard{}, "x.jsonl", "x.jsonl"},
	} {
		if got := c.s.Output(c.path); got != c.want {
			t.Errorf("%v.Output(%q) = %q, want %q", c.s, c.path, got, c.want)
		}
	}
}

// Every way of cutting covers each record exactly once, in order.
func TestRangeAndPickPartition(t *testing.T) {
	for total := 0; total < 30; total++ {
		var cuts []int
		for k := 0; k < total; k += 1 + k%4 { // uneven cut points
			cuts = append(cuts, k)
		}
		for n := 1; n < 9; n++ {
			for _, pick := range []bool{false, true} {
				next := 0
				for i := range n {
					s := Shard{i, n}
					lo, hi := s.Range(total)
					if pick {
						lo, hi = s.Pick(cuts, total)
					}
					if lo != next || hi < lo || hi > total {
						t.Fatalf("total %d, %v (pick %v): [%d, %d) after %d", total, s, pick, lo, hi, next)
					}
					if pick && lo != 0 && lo != total && !slices.Contains(cuts, lo) {
						t.Fatalf("total %d, %v: starts at %d, not a cut of %v", total, s, lo, cuts)
					}
					next = hi
				}
				if next != total {
					t.Fatalf("total %d, n %d (pick %v): ends at %d", total, n, pick, next)
				}
			}
		}
	}
	if lo, hi := (Shard{1, 3}).Range(10); lo != 3 || hi != 6 {
		t.Errorf("1/3 of 10 = [%d, %d)", lo, hi)
	}
	if lo, hi := (Shard{1, 2}).Pick([]int{0, 3, 8}, 10); lo != 3 || hi != 10 {
		t.Errorf("1/2 of 10 cut at 3, 8 = [%d, %d), want the nearer cut 3", lo, hi)
	}
}

func TestDevice(t *testing.T) {
	env := func(k string) string {
		if k == "LOCAL_RANK" {
			return "3"
		}
		return ""
	}
	none := func(string) string { return "" }
	for _, c := range []struct {
		in   string
		get  func(string) string
		want string
	}{
		{"cuda", env, "cuda:3"}, {"cuda:1", env, "cuda:1"}, {"cpu", env, "cpu"}, {"cuda", none, "cuda"},
	} {
		if got := Device(c.in, c.get); got != c.want {
			t.Errorf("Device(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
