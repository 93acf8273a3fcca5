// Command train: a Hugging Face model fine-tuned on
// token records (SFT) or packed rows (CPT), every target token's gradient
// weighted by its own loss (NLIRG) or another scheme, written as PEFT
// adapters or HF model folders.
//
//	tokenize --tokenizer MODEL data.jsonl -o tokens.arrow && train --model MODEL --output run1 tokens.arrow
package main

import (
	_ "embed"
	"io"
	"os"

	"github.com/ytrain/ytrain/internal/cli"
	"github.com/ytrain/ytrain/internal/torch"
	"github.com/ytrain/ytrain/internal/training"
)

//go:embed usage.txt
var usage string

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

// run is train, with its arguments and streams: the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return cli.Run("train", stderr, func() error { return trainMain(args, stdin, stdout, stderr) })
}

func trainMain(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := cli.Flags("train", usage, stderr)
	var f training.Flags
	var tf cli.Torch
	f.Register(fs)
	tf.Register(fs)
	cli.Alias(fs, "kind", "objective")
	if err := fs.Parse(args); err != nil {
		return err
	}
	f.Data, f.Device, f.DType = fs.Args(), tf.Device, tf.DType
	cfg, err := f.Finish()
	if err != nil {
		return err
	}
	torch.SetThreads(tf.Threads)
	cfg.Interrupt = cli.Interrupts()
	return training.Run(*cfg)
}
