package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/ytrain/ytrain/formats"
	"github.com/ytrain/ytrain/internal/cli"
	"github.com/ytrain/ytrain/internal/evalmetrics"
)

// choices is multiple-choice accuracy by log-likelihood: each question's
// pick is its candidate answer with the lowest summed loss.
func choices(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := cli.Flags("evaluate choices", usage, stderr)
	scores := fs.StringArray("scores", nil, "score records of the tokenized candidate answers (Arrow or JSON Lines; repeatable)")
	by := fs.String("by", "meta.kind", `also summarise per value of this field ("" for none)`)
	output := fs.StringP("output", "o", "", "per-question results (JSON Lines); written whole or not at all")
	if err := fs.Parse(args); err != nil {
		return err
	}
	sum, rows, err := evalmetrics.ScoreChoices(fs.Args(), *scores, *by, stdin)
	if err != nil {
		return err
	}
	if *output != "" {
		err := formats.WriteFile(*output, stdout, func(w io.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetEscapeHTML(false)
			for _, r := range rows {
				if err := enc.Encode(r); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if err := printSummary(stdout, sum); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "evaluate choices: %d questions, %d candidates; accuracy %.4g, chance %.4g\n",
		sum.Questions, sum.Candidates, sum.Accuracy, sum.Chance)
	return nil
}
