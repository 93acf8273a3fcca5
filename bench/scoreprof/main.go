// Command scoreprof is score's work (read records, forward, per-target loss
// and entropy, write JSON Lines) under Go's CPU profiler, so bench/score.sh
// can say where score's time goes: the decoder (model.HiddenNoGrad), the LM
// head (model.Logits) with log-softmax and entropy, chunk by chunk
// (model.headChunk), and data handling (reading, batching, writing). With
// one libtorch thread the samples taken inside libtorch land on the Go call
// that entered it.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/ytrain/ytrain/formats"
	"github.com/ytrain/ytrain/internal/model"
	"github.com/ytrain/ytrain/internal/scoring"
	"github.com/ytrain/ytrain/internal/seq"
)

func main() {
	runtime.LockOSThread()
	dir := flag.String("model", "", "model folder")
	batch := flag.Int("batch-tokens", 4096, "padded tokens per forward pass")
	threads := flag.Int("threads", 1, "libtorch threads")
	prof := flag.String("o", "score.pprof", "CPU profile written here")
	flag.Parse()
	m, err := model.OpenInference(*dir, "cpu", "auto", *threads)
	check(err)
	defer m.Close()
	f, err := os.Create(*prof)
	check(err)
	check(pprof.StartCPUProfile(f))
	start := time.Now()
	w := formats.NewWriter(io.Discard, formats.JSONL, formats.ScoreCodec)
	sc := &scoring.Scorer{M: m, BatchTokens: *batch, Emit: w.Write}
	for _, p := range flag.Args() {
		check(seq.Each(p, os.Stdin, m.Cfg.Limits(), sc.Add))
	}
	check(sc.Close())
	check(w.Close())
	el := time.Since(start).Seconds()
	pprof.StopCPUProfile()
	check(f.Close())
	fmt.Printf("scoreprof: %d tokens in %.1fs (%.0f tokens/s)\n", sc.Tokens, el, float64(sc.Tokens)/el)
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "scoreprof:", err)
		os.Exit(1)
	}
}
