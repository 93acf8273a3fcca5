package main

import (
	"fmt"

	"github.com/ytrain/ytrain/internal/bpe"
)

// defaultSystem is the system turn SmolLM2-135M-Instruct's chat template
// adds when a conversation has none: every training sequence carries it.
const defaultSystem = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"

// tokenCounts are what one epoch of the training set costs.
type tokenCounts struct {
	records                  int
	sequence, answer         int // summed over records
	windows                  int // --token-batch 10 steps: ⌈targets/10⌉ per record
	windowPasses             int // Σ windows × sequence: each window re-runs the whole sequence
	meanSequence, meanAnswer float64
}

// countTokenRecords counts ChatML sequences as SmolLM2's template renders
// them: <|im_start|>ROLE\nTEXT<|im_end|>\n for system, user and assistant,
// each special token one id; the targets are the answer, <|im_end|> and
// its newline.
func countTokenRecords(encode func(string) []int32, train []record) tokenCounts {
	n := func(s string) int { return len(encode(s)) }
	fixed := 6 + n("system\n") + n("user\n") + n("assistant\n") + 3*n("\n") + n(defaultSystem)
	var c tokenCounts
	for _, r := range train {
		a := n(r.Output) + 2
		s := fixed + n(r.Instruction) + a - 2
		c.records++
		c.sequence += s
		c.answer += a
		c.windows += (a + 9) / 10
		c.windowPasses += (a + 9) / 10 * s
	}
	if c.records > 0 {
		c.meanSequence = float64(c.sequence) / float64(c.records)
		c.meanAnswer = float64(c.answer) / float64(c.records)
	}
	return c
}

// countTokens loads a tokenizer and reports the training set's tokens.
func countTokens(path string, train []record) (string, error) {
	tok, err := bpe.Load(path)
	if err != nil {
		return "", err
	}
	c := countTokenRecords(tok.Encode, train)
	return fmt.Sprintf("tokens (%s): %d records, %.1f per sequence (%.1f answer targets), %d per epoch fused; windowed (--token-batch 10) %d steps and %d token passes per epoch (%.1f× fused)",
		path, c.records, c.meanSequence, c.meanAnswer, c.sequence, c.windows, c.windowPasses, float64(c.windowPasses)/float64(c.sequence)), nil
}
