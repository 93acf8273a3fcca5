// Command demodata writes the bundled demo and experiment data, the same
// bytes for the same seed and flags on every machine.
//
//	go run ./tools/demodata -o testdata/demo [--seed 1] [--noise 0.2] [--train 600] [--test 100] [--general-kb 1500]
//
// Files:
//   - general.train.txt, general.heldout.txt: generated everyday prose, one
//     paragraph a line (tokenize --kind cpt), a tenth held out to measure
//     forgetting
//   - domain.train.jsonl: alpaca SFT records about fictional laws, answers in
//     heavy templates, a --noise share mislabelled (meta.noisy)
//   - domain.train.txt: the same records as prose lines, for pre-training a
//     base model on another seed's facts
//   - domain.test.jsonl: {id, prompt, reference, meta.fact}, questions about
//     the same facts in paraphrases training never uses (evaluate --match
//     contains --normalize)
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/ytrain/ytrain/formats"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "demodata:", err)
		os.Exit(1)
	}
}

func run(args []string, stderr io.Writer) error {
	var o options
	fs := pflag.NewFlagSet("demodata", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Int64Var(&o.seed, "seed", 1, "random seed")
	fs.Float64Var(&o.noise, "noise", 0.2, "share of mislabelled training answers")
	fs.IntVar(&o.train, "train", 600, "domain training records")
	fs.IntVar(&o.test, "test", 100, "domain test questions")
	fs.IntVar(&o.generalKB, "general-kb", 1500, "size of the general corpus in KiB, train and held-out together")
	dir := fs.StringP("output", "o", "", "folder to write (required; made if missing)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil
		}
		return err
	}
	if *dir == "" {
		return errors.New("-o is required")
	}
	files, summary, err := build(o)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		if err := write(filepath.Join(*dir, f.name), f.data); err != nil {
			return err
		}
	}
	fmt.Fprintf(stderr, "demodata: %s: %s\n", *dir, summary)
	return nil
}

// write replaces path whole or leaves it as it was.
func write(path string, data []byte) error {
	out, err := formats.CreateOutput(path, nil)
	if err != nil {
		return err
	}
	defer out.Abort()
	if _, err := out.Write(data); err != nil {
		return err
	}
	return out.Commit()
}
