// Command tokenize is the Go side of bench/tokenize.sh: it builds the benchmark corpus,
// and measures internal/bpe's encoding throughput on it, checking the ids against HF's.
//
//	go run ./bench/tokenize -mkcorpus corpus.jsonl -shared ../shared -goroot "$(go env GOROOT)"
//	go run ./bench/tokenize -tok tokenizer.json -corpus corpus.jsonl -threads 1 -hf hf.ids.jsonl
//
// It prints one line of key=value pairs: mbps (best warm pass), cold_mbps (first pass),
// tokens, docs, bytes and, with -hf, mismatches (documents whose ids differ from HF's);
// with -mkcorpus, docs and bytes.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/ytrain/ytrain/internal/bpe"
	"github.com/ytrain/ytrain/internal/testenv"
)

func main() {
	log.SetFlags(0)
	mkcorpus := flag.String("mkcorpus", "", "write the benchmark corpus (JSONL documents) to this file and exit")
	shared := flag.String("shared", "../shared", "shared fixtures folder (for -mkcorpus)")
	goroot := flag.String("goroot", "", "Go source tree to take code from (for -mkcorpus)")
	tokPath := flag.String("tok", "", "tokenizer.json")
	corpus := flag.String("corpus", "", "corpus: one JSON string per line")
	threads := flag.Int("threads", 0, "encoding goroutines (0: all cores)")
	passes := flag.Int("passes", 4, "passes over the corpus; the first is cold")
	hf := flag.String("hf", "", "HF ids (one JSON array per line) to compare with")
	flag.Parse()

	if *mkcorpus != "" {
		if err := makeCorpus(*mkcorpus, *shared, *goroot); err != nil {
			log.Fatal(err)
		}
		return
	}
	if *tokPath == "" || *corpus == "" {
		log.Fatal("need -tok and -corpus, or -mkcorpus")
	}
	docs, err := testenv.DecodeJSONL[string](*corpus)
	if err != nil {
		log.Fatal(err)
	}
	size := 0
	for _, d := range docs {
		size += len(d)
	}
	workers := *threads
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	tok, err := bpe.Load(*tokPath)
	if err != nil {
		log.Fatal(err)
	}

	var ids [][]int32
	var cold, best time.Duration
	for p := range max(*passes, 2) {
		var d time.Duration
		d, ids = encodeAll(tok, docs, workers)
		switch {
		case p == 0:
			cold = d
		case p == 1 || d < best:
			best = d
		}
	}
	tokens := 0
	for _, x := range ids {
		tokens += len(x)
	}
	mbps := func(d time.Duration) float64 { return float64(size) / 1e6 / d.Seconds() }
	fmt.Printf("mbps=%.2f cold_mbps=%.2f tokens=%d docs=%d bytes=%d", mbps(best), mbps(cold), tokens, len(docs), size)
	if *hf != "" {
		want, err := testenv.DecodeJSONL[[]int32](*hf)
		if err != nil {
			log.Fatal(err)
		}
		if len(want) != len(ids) {
			log.Fatalf("%s has %d lines, the corpus %d", *hf, len(want), len(ids))
		}
		bad := 0
		for i := range ids {
			if !slices.Equal(ids[i], want[i]) {
				bad++
			}
		}
		fmt.Printf(" mismatches=%d", bad)
	}
	fmt.Println()
}

// encodeAll encodes the documents with the given number of goroutines.
func encodeAll(tok *bpe.Tokenizer, docs []string, workers int) (time.Duration, [][]int32) {
	out := make([][]int32, len(docs))
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(docs); i = int(next.Add(1) - 1) {
				out[i] = tok.Encode(docs[i])
			}
		})
	}
	wg.Wait()
	return time.Since(start), out
}

// makeCorpus writes about 4 MB of documents of 0.5-8 KB: the golden strings (many
// scripts, chat markup, whitespace edge cases), Debian licence and copyright texts, and
// Go source. It is deterministic for a given machine.
func makeCorpus(out, shared, goroot string) error {
	var texts []string
	for _, name := range []string{"corpus", "stress"} {
		lines, err := testenv.DecodeJSONL[string](filepath.Join(shared, "tokenizers", "golden", name+".jsonl"))
		if err != nil {
			return err
		}
		texts = append(texts, strings.Join(lines, "\n\n"))
	}
	add := func(pattern string, limit int) error {
		paths, err := filepath.Glob(pattern)
		if err != nil {
			return err
		}
		var b strings.Builder
		for _, p := range paths {
			if data, err := os.ReadFile(p); err == nil && b.Len() < limit {
				b.Write(data)
			}
		}
		texts = append(texts, b.String())
		return nil
	}
	if err := add("/usr/share/common-licenses/*", 1<<20); err != nil {
		return err
	}
	if err := add("/usr/share/doc/*/copyright", 1<<20); err != nil {
		return err
	}
	if goroot != "" {
		var b strings.Builder
		err := filepath.WalkDir(filepath.Join(goroot, "src"), func(p string, d fs.DirEntry, err error) error {
			if b.Len() >= 1300<<10 {
				return fs.SkipAll
			}
			if err == nil && strings.HasSuffix(p, ".go") && !strings.Contains(p, "testdata") {
				data, err := os.ReadFile(p)
				b.Write(data)
				return err
			}
			return err
		})
		if err != nil && !errors.Is(err, fs.SkipAll) {
			return err
		}
		texts = append(texts, b.String())
	}

	f, err := os.Create(out)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	docs, size := 0, 0
	seed := uint32(1)
	for _, text := range texts {
		text = strings.ToValidUTF8(text, "\uFFFD")
		for text != "" {
			seed = seed*1664525 + 1013904223 // a fixed LCG: the same documents every run
			n := min(len(text), 512+int(seed>>8)%(8<<10-512))
			for n < len(text) && !utf8.RuneStart(text[n]) {
				n++
			}
			line, _ := json.Marshal(text[:n])
			w.Write(line)
			w.WriteByte('\n')
			docs, size = docs+1, size+n
			text = text[n:]
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Printf("docs=%d bytes=%d\n", docs, size)
	return f.Close()
}
