// Command longctx times one CPT training step (forward, mean cross-entropy,
// backward) of the demo's base model shape on one packed row of each of
// -lengths tokens, and prints tokens/s and the attention path the decoder
// took. The row holds documents of -doc tokens (0: one document), and
// attention runs per document as score and train run it (model.Docs: cost
// Σ doc_len²); -mask times the explicit block-diagonal T×T mask instead
// (cost T², the path before per-document attention).
//
//	go run ./bench/longctx                                       # the default libtorch
//	LD_LIBRARY_PATH=build/shim-system go run ./bench/longctx     # Debian's 1.13
package main

import (
	"flag"
	"fmt"
	"math/rand"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"

	"github.com/ytrain/ytrain/internal/model"
	"github.com/ytrain/ytrain/internal/seq"
	"github.com/ytrain/ytrain/internal/tinymodel"
	"github.com/ytrain/ytrain/internal/torch"
)

func main() {
	runtime.LockOSThread()
	lengths := flag.String("lengths", "1024,4096,16384", "row lengths in tokens")
	doc := flag.Int("doc", 512, "tokens per packed document (0: the row is one document)")
	steps := flag.Int("steps", 2, "timed steps per length (after one warm-up step)")
	threads := flag.Int("threads", 1, "libtorch threads")
	maxGB := flag.Float64("max-gb", 8, "skip a length whose explicit attention would hold more GB of scores")
	useMask := flag.Bool("mask", false, "attend under the explicit T×T mask instead of per document")
	flag.Parse()
	torch.SetThreads(*threads)
	dir, err := os.MkdirTemp("", "longctx-model")
	check(err)
	defer os.RemoveAll(dir)
	// a 1.9M-parameter tiny Qwen3 (the first demo base's shape; demo/base is d 256)
	spec := tinymodel.Spec{Arch: "Qwen3ForCausalLM", Vocab: 2048, Hidden: 192, Layers: 4, Heads: 6, KVHeads: 2, Inter: 512, Tied: true, Seed: 1}
	check(tinymodel.Write(dir, spec))
	m, err := model.Load(dir, gotch.CPU, gotch.Float)
	check(err)
	defer m.Close()
	for _, p := range m.Params {
		p.MustRequiresGrad_(true)
	}
	names, err := torch.Stubbed()
	check(err)
	path := "SDPA"
	if slices.Contains(names, "atg_scaled_dot_product_attention") {
		path = "explicit"
	}
	layout := "per document"
	if *useMask {
		layout = "T×T mask"
	}
	fmt.Printf("longctx: %s; attention %s, %s; %d-token documents; %d thread(s)\n", torch.ShimInfo(), path, layout, *doc, *threads)
	for _, f := range strings.Split(*lengths, ",") {
		T, err := strconv.Atoi(f)
		check(err)
		// explicit attention keeps (nH, L, L) float32 scores and probabilities per layer for backward
		L := T
		if !*useMask && *doc > 0 {
			L = min(T, *doc)
		}
		if gb := float64(spec.Heads*L*T*4*2*spec.Layers) / 1e9; path == "explicit" && gb > *maxGB {
			fmt.Printf("T %6d: skipped (explicit attention would hold ~%.0f GB; -max-gb %g)\n", T, gb, *maxGB)
			continue
		}
		var took time.Duration
		for i := 0; i <= *steps; i++ {
			d := step(m, T, *doc, spec.Vocab, int64(i), *useMask)
			if i > 0 {
				took += d
			}
		}
		per := took / time.Duration(*steps)
		fmt.Printf("T %6d: %8.2f s/step  %8.0f tokens/s\n", T, per.Seconds(), float64(T)/per.Seconds())
	}
}

// step runs forward and backward on one random packed row and returns the time.
func step(m *model.Model, T, doc, vocab int, seed int64, useMask bool) time.Duration {
	rng := rand.New(rand.NewSource(seed))
	ids, pos, seg, tgt := make([]int64, T), make([]int64, T), make([]int64, T), make([]int64, T)
	for t := range ids {
		ids[t] = int64(rng.Intn(vocab))
		if doc > 0 {
			pos[t], seg[t] = int64(t%doc), int64(t/doc+1)
		} else {
			pos[t], seg[t] = int64(t), 1
		}
	}
	for t := range tgt { // next token in the same document; -100 elsewhere
		tgt[t] = -100
		if t+1 < T && seg[t+1] == seg[t] {
			tgt[t] = ids[t+1]
		}
	}
	start := time.Now()
	s := &torch.Scope{}
	defer s.Drop()
	idT, err := torch.Int64s(ids, m.Device, 1, int64(T))
	check(err)
	posT, err := torch.Int64s(pos, m.Device, 1, int64(T))
	check(err)
	segT, err := torch.Int64s(seg, m.Device, 1, int64(T))
	check(err)
	tgtT, err := torch.Int64s(tgt, m.Device, int64(T))
	check(err)
	s.Add(idT)
	s.Add(posT)
	s.Add(segT)
	s.Add(tgtT)
	lay := model.Docs(&seq.Batch{B: 1, T: int64(T), Seg: seg})
	if useMask {
		lay = &model.Layout{Mask: model.Mask(s, segT)}
	}
	h, err := m.Hidden(s, idT, posT, lay, nil)
	check(err)
	logits := s.Add(m.Logits(s, h).MustView([]int64{int64(T), int64(vocab)}, false))
	loss, err := logits.CrossEntropyLoss(tgtT, ts.None, 1, -100, 0, false) // mean
	check(err)
	check(s.Add(loss).Backward())
	for _, p := range m.Params {
		if g, err := p.Grad(false); err == nil && g.MustDefined() {
			g.MustZero_()
			g.MustDrop()
		}
	}
	return time.Since(start)
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "longctx:", err)
		os.Exit(1)
	}
}
