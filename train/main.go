// Package train is the train command: a Hugging Face model fine-tuned on
// token records (SFT) or packed rows (CPT), every target token's gradient
// weighted by its own loss (NLIRG) or another scheme, written as PEFT
// adapters or HF model folders.
//
//	tokenize --tokenizer MODEL data.jsonl -o tokens.arrow && train --model MODEL --output run1 tokens.arrow
package train

import (
	"github.com/ytrain/ytrain/internal/cli"
	"github.com/ytrain/ytrain/internal/torch"
	"github.com/ytrain/ytrain/internal/training"
)

// Main runs train with os.Args and exits.
func Main() { cli.Main("train", run) }

func run(args []string) error {
	fs := cli.Flags("train", training.Usage)
	var f training.Flags
	var tf cli.Torch
	f.Register(fs)
	tf.Flags(fs)
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
