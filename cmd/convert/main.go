// Command convert turns a llama GGUF file (llama.cpp's and ollama's format)
// into a Hugging Face model folder that ytrain and transformers load:
// config.json, a float32 model.safetensors, tokenizer.json,
// tokenizer_config.json (with the chat template) and generation_config.json.
//
//	convert SmolLM2-135M-Instruct.Q4_1.gguf -o build/models/smollm2
package main

import (
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/ytrain/ytrain/internal/cli"
	"github.com/ytrain/ytrain/internal/gguf"
)

//go:embed usage.txt
var usage string

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

// run is convert, with its arguments and streams: the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return cli.Run("convert", stderr, func() error { return convert(args, stderr) })
}

func convert(args []string, stderr io.Writer) error {
	fs := cli.Flags("convert", usage, stderr)
	out := fs.StringP("output", "o", "", "output model folder (required)")
	quiet := fs.BoolP("quiet", "q", false, "no progress on stderr")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() != 1:
		return fmt.Errorf("want one GGUF file, got %d arguments (see --help)", fs.NArg())
	case *out == "":
		return errors.New("-o DIR is required")
	}
	progress := stderr
	if *quiet {
		progress = io.Discard
	}
	start := time.Now()
	sum, err := gguf.Convert(fs.Arg(0), *out, progress)
	if err != nil {
		return err
	}
	var types []string
	for t, n := range sum.Types {
		types = append(types, fmt.Sprintf("%d %s", n, t))
	}
	sort.Strings(types)
	c := sum.Config
	tied := ""
	if c.Tied {
		tied = ", tied embeddings"
	}
	fmt.Fprintf(progress, "convert: wrote %s in %.1fs: LlamaForCausalLM, %d layers, hidden %d, vocab %d%s; %d tensors (%s) as float32; tokenizer: %d tokens, %d merges, pre-tokenizer %q\n",
		*out, time.Since(start).Seconds(), c.Layers, c.Hidden, c.Vocab, tied, sum.Tensors, strings.Join(types, ", "), sum.Tokens, sum.Merges, sum.PreTok)
	return nil
}
