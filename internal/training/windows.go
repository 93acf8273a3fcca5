package training

// Windows splits a document's target positions into the token_batch windows
// of SFT: consecutive runs of n targets, the last one shorter, each trained
// by one optimizer step. Every target is covered, end-of-turn token included,
// as in Y-Trainer v1 (docs/nlirg.md §2.1; Y-Trainer v1's trailing empty chunk, a
// step on nothing, is not reproduced). n ≤ 0 gives one window with every target; no
// targets give no windows. The windows share targets' memory.
func Windows(targets []int, n int) [][]int {
	if len(targets) == 0 {
		return nil
	}
	if n <= 0 {
		n = len(targets)
	}
	var ws [][]int
	for s := 0; s < len(targets); s += n {
		e := min(s+n, len(targets))
		ws = append(ws, targets[s:e:e])
	}
	return ws
}

// WindowsV2 reproduces Y-Trainer v2's coverage (docs/nlirg.md §2.2), for comparing
// numbers with it: max(1, floor(len/n)) windows of n targets, the remainder
// dropped unless there are fewer than n targets, and each window losing its
// last target to the exclusive-end slice. n is Y-Trainer v2's token_size,
// ceil(token_batch / world_size). A window can come out empty (n = 1); it is
// kept, since Y-Trainer v2 still takes its step. n ≤ 0, on which it divides by zero,
// gives one window with every target but the last. No targets give no
// windows. The windows share targets' memory.
func WindowsV2(targets []int, n int) [][]int {
	if len(targets) == 0 {
		return nil
	}
	if n <= 0 {
		n = len(targets)
	}
	k := max(1, len(targets)/n)
	ws := make([][]int, k)
	for w := range ws {
		e := min((w+1)*n, len(targets)) - 1
		ws[w] = targets[w*n : e : e]
	}
	return ws
}
