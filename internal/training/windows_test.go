package training

import (
	"slices"
	"testing"
)

func positions(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = 100 + i // target positions after a prompt
	}
	return s
}

func count(ws [][]int) (n int) {
	for _, w := range ws {
		n += len(w)
	}
	return n
}

func TestWindows(t *testing.T) {
	ws := Windows(positions(25), 10)
	if len(ws) != 3 || !slices.Equal(ws[2], []int{120, 121, 122, 123, 124}) || !slices.Equal(slices.Concat(ws...), positions(25)) {
		t.Errorf("Windows(25, 10) = %v", ws)
	}
	// docs/nlirg.md §2.2's last column: every target trained; no trailing empty chunk.
	for _, c := range []struct{ n, windows int }{{7, 1}, {10, 1}, {25, 3}, {30, 3}, {101, 11}} {
		ws := Windows(positions(c.n), 10)
		if len(ws) != c.windows || count(ws) != c.n {
			t.Errorf("Windows(%d, 10): %d windows, %d tokens", c.n, len(ws), count(ws))
		}
	}
	if ws := Windows(positions(5), 0); len(ws) != 1 || len(ws[0]) != 5 {
		t.Errorf("Windows(5, 0) = %v", ws)
	}
	if ws := Windows(nil, 10); ws != nil {
		t.Errorf("Windows(nil) = %v", ws)
	}
	// Appending to a window must not clobber the next one.
	ws = Windows(positions(4), 2)
	_ = append(ws[0], -1)
	if ws[1][0] != 102 {
		t.Error("windows alias each other")
	}
}

func TestWindowsV2(t *testing.T) {
	// docs/nlirg.md §2.2's table, ts = 10: windows, tokens trained, relative indices never trained.
	for _, c := range []struct {
		n, windows, trained int
		never               []int
	}{
		{7, 1, 6, []int{6}},
		{10, 1, 9, []int{9}},
		{25, 2, 18, []int{9, 19, 20, 21, 22, 23, 24}},
		{30, 3, 27, []int{9, 19, 29}},
		{101, 10, 90, []int{9, 19, 29, 39, 49, 59, 69, 79, 89, 99, 100}},
	} {
		ws := WindowsV2(positions(c.n), 10)
		if len(ws) != c.windows || count(ws) != c.trained {
			t.Errorf("WindowsV2(%d, 10): %d windows, %d tokens, want %d, %d", c.n, len(ws), count(ws), c.windows, c.trained)
		}
		trained := slices.Concat(ws...)
		var never []int
		for _, p := range positions(c.n) {
			if !slices.Contains(trained, p) {
				never = append(never, p-100)
			}
		}
		if !slices.Equal(never, c.never) {
			t.Errorf("WindowsV2(%d, 10) never trains %v, want %v", c.n, never, c.never)
		}
	}
	// ts = 1 (10 GPUs, token_batch 10): every window is empty, but the steps remain.
	if ws := WindowsV2(positions(5), 1); len(ws) != 5 || count(ws) != 0 {
		t.Errorf("WindowsV2(5, 1) = %v", ws)
	}
	if ws := WindowsV2(positions(5), 0); len(ws) != 1 || !slices.Equal(ws[0], positions(4)) {
		t.Errorf("WindowsV2(5, 0) = %v", ws)
	}
	if ws := WindowsV2(nil, 10); ws != nil {
		t.Errorf("WindowsV2(nil) = %v", ws)
	}
}
