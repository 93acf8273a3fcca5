// Command rss shows that the compute plane's memory stays flat: it runs
// -calls forward passes (model + per-token scoring) of a small model and
// prints the process RSS as it goes, and the growth from the first 10% of
// calls to the end. gotch frees tensors in finalizers the Go GC barely runs;
// without the explicit per-step drops RSS grows without bound.
package main

import (
	"flag"
	"fmt"
	"math/rand"
	"os"
	"runtime"
	"strings"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"

	"github.com/ytrain/ytrain/formats"
	"github.com/ytrain/ytrain/internal/model"
	"github.com/ytrain/ytrain/internal/scoring"
	"github.com/ytrain/ytrain/internal/seq"
	"github.com/ytrain/ytrain/internal/tinymodel"
)

func main() {
	runtime.LockOSThread()
	calls := flag.Int("calls", 10000, "forward calls")
	flag.Parse()
	dir, err := os.MkdirTemp("", "rss-model")
	check(err)
	defer os.RemoveAll(dir)
	check(tinymodel.Write(dir, tinymodel.Spec{Arch: "Qwen3ForCausalLM", Vocab: 512, Seed: 1}))
	m, err := model.Load(dir, gotch.CPU, gotch.Float)
	check(err)
	defer m.Close()
	ts.MustGradSetEnabled(false)
	sc := &scoring.Scorer{M: m, BatchTokens: 64, Emit: func(*formats.Score) error { return nil }}
	rng := rand.New(rand.NewSource(1))
	doc := formats.Token{ID: "d", InputIDs: make([]int32, 32), LossMask: make(formats.Mask, 32)}
	var base int64
	for i := 1; i <= *calls; i++ {
		for k := range doc.InputIDs {
			doc.InputIDs[k], doc.LossMask[k] = int32(rng.Intn(512)), uint8(min(k, 1))
		}
		check(sc.Add(seq.FromToken(&doc)))
		check(sc.Flush()) // one forward pass per call
		if i == *calls/10 {
			base = rss()
		}
		if i%(*calls/10) == 0 {
			fmt.Printf("calls %6d  rss %6.1f MB\n", i, float64(rss())/(1<<20))
		}
	}
	end := rss()
	fmt.Printf("rss growth from call %d to %d: %+.1f MB (%.3fx)\n", *calls/10, *calls, float64(end-base)/(1<<20), float64(end)/float64(base))
}

// rss reads the resident set size from /proc.
func rss() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	check(err)
	var size, res int64
	fmt.Sscan(strings.TrimSpace(string(b)), &size, &res)
	return res * int64(os.Getpagesize())
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "rss:", err)
		os.Exit(1)
	}
}
