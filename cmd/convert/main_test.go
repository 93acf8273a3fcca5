package main

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/ytrain/ytrain/internal/gguf"
	"github.com/ytrain/ytrain/internal/testenv"
)

// TestMain lets the test binary run as convert and as gguf-fixture, which
// writes the scripts' GGUF files: binary files do not belong in a txtar.
func TestMain(m *testing.M) {
	testenv.Main(m, map[string]func(){"convert": main, "gguf-fixture": fixture})
}

// TestScripts runs testdata/*.txtar: good_* for files convert
// accepts, fail_* for those it must reject with a clear message, a
// non-zero exit and no output folder.
func TestScripts(t *testing.T) {
	testscript.Run(t, testenv.Scripts(t, "convert"))
}

// fixture writes gguf.TinyLlama to a file: gguf-fixture [flags] OUT.
func fixture() {
	fs := flag.NewFlagSet("gguf-fixture", flag.ExitOnError)
	tied := fs.Bool("tied", false, "no output.weight")
	pre := fs.String("pre", "smollm", "tokenizer.ggml.pre")
	arch := fs.String("arch", "llama", "general.architecture")
	truncate := fs.Int("truncate", 0, "drop this many bytes from the end")
	keep := fs.Int("keep", 0, "keep only this many bytes (0: all)")
	fs.Parse(os.Args[1:])
	o := gguf.Tiny{Layers: 2, Hidden: 32, Heads: 4, KVHeads: 2, Inter: 48, Tied: *tied, Pre: *pre, Arch: *arch, Seed: 1}
	b, _ := gguf.TinyLlama(o)
	data := b.Bytes()
	data = data[:max(0, len(data)-*truncate)]
	if *keep > 0 {
		data = data[:min(*keep, len(data))]
	}
	if err := os.WriteFile(fs.Arg(0), data, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}
