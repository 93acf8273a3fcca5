// Command world writes the bundled world of make demo and make experiment:
// the same bytes for the same seeds and flags on every machine.
//
//	go run ./tools/world -o DIR [--world-seed 1] [--seed 1] [--noise 0.2] [--facts-per-kind 16]
//
// The world seed fixes what the base model is pre-trained on (make base);
// the data seed fixes which facts the fine-tuning set teaches. Files:
//   - pretrain.jsonl: {"text"} documents of the base's corpus: general prose,
//     and facts about towns (general knowledge) and about 100 drugs of a
//     fictional formulary (the domain's language), as statements and as
//     ChatML questions and answers, so the base answers in the chat format
//   - bpe.jsonl: the texts the tokenizer is trained on: the corpus and more prose
//   - general.heldout.txt: held-out prose (general loss: forgetting)
//   - general.test.jsonl: town questions in paraphrases the corpus never used
//     for that town ({id, prompt, reference, meta.kind "general", meta.choices})
//   - domain.train.jsonl: alpaca SFT records teaching facts of three fact
//     kinds (meta.kind): new (a drug the base never saw), conflicting (the
//     base's corpus states another value) and consistent (the base already knows
//     it), answers in heavy templates, a --noise share mislabelled
//     (meta.noisy, meta.label)
//   - domain.val.jsonl, domain.test.jsonl: the same facts asked in
//     paraphrases training never uses (test: never shown to the base either)
//   - domain.trainq.jsonl: one training paraphrase per fact (over-fitting gap)
//   - domain.noisy.jsonl: the mislabelled prompts, reference the wrong label
//   - general.mix.jsonl: as many general instruction records as training
//     records, for the arm that mixes general data in
//   - *.test.choices.jsonl: every value of the pool as a candidate answer
//     (multiple-choice accuracy by log-likelihood: evaluate choices)
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/ytrain/ytrain/formats"
	"github.com/ytrain/ytrain/internal/cli"
)

func main() {
	os.Exit(cli.Run("world", os.Stderr, func() error { return run(os.Args[1:], os.Stderr) }))
}

func run(args []string, stderr io.Writer) error {
	var o options
	fs := pflag.NewFlagSet("world", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Int64Var(&o.worldSeed, "world-seed", 1, "seed of the base model's world (names, prior facts, prose)")
	fs.Int64Var(&o.seed, "seed", 1, "data seed: which facts the domain set teaches, its records and noise")
	fs.Float64Var(&o.noise, "noise", 0, "share of mislabelled training answers")
	fs.IntVar(&o.factsPerKind, "facts-per-kind", 16, "domain facts of each kind (new, conflicting, consistent)")
	fs.IntVar(&o.recordsPerFact, "records-per-fact", 8, "training records per domain fact")
	fs.IntVar(&o.generalTest, "general-test", 60, "general test questions")
	fs.IntVar(&o.generalKB, "general-kb", 120, "size of the general prose in KiB, train and held-out together")
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
		if err := formats.WriteBytes(filepath.Join(*dir, f.name), f.data); err != nil {
			return err
		}
	}
	fmt.Fprintf(stderr, "world: %s: %s\n", *dir, summary)
	return nil
}
