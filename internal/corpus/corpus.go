// Package corpus reads the training data people bring, in the shapes they
// bring it, and hands tokenize one normalised Example at a time.
//
// File encodings (--input-encoding): json, a JSON array; jsonl, JSON Lines;
// csv, CSV with a header row; txt, plain text (one document per non-empty
// line, for continued pre-training). Record shapes,
// recognised per record (not from the first record of a file):
//
//   - conversations: "conversations" or "messages", a list of turns with
//     "role"/"from" and "content"/"value"; roles system, user/human,
//     assistant/gpt/bot; every turn is kept.
//   - alpaca: "instruction", optional "input" (joined to the instruction by
//     a newline), "output", optional "system" and "history" ([[q, a], ...]).
//   - prompt/response: "prompt" and "response" (or "completion").
//   - text: "text" (or "output") for continued pre-training.
//
// An "id" (string or number) names the record; without one the record is
// named FILE:N, its 1-based position in the file. A "meta" value is carried
// through to the output untouched.
package corpus

import (
	"errors"

	"github.com/ytrain/ytrain/internal/chat"
)

// Objective is what the records are read for: a training objective
// (tokenize and train --objective sft, cpt or text), or Prompt, the prompts
// generate answers.
type Objective int

const (
	SFT    Objective = iota + 1 // conversations with assistant turns to train on
	CPT                         // documents for continued pre-training
	Text                        // plain text to encode as is
	Prompt                      // conversations to answer; a final assistant turn is the reference
)

// Example is one input record in normalised form.
type Example struct {
	ID        string
	Where     string // FILE:LINE of the record, for messages
	Messages  []chat.Message
	Text      string
	Reference string // Prompt: the dropped final answer, if any
	Meta      []byte // compact JSON or nil
}

// ErrEmptyAnswer marks a record whose answer is empty: tokenize reports and
// skips these rather than failing the run.
var ErrEmptyAnswer = errors.New("empty answer")

// ErrRecord marks an error in one record (a shape, a type, a JSON line that
// does not parse): the records after it can still be read, and the readers'
// All goes on to them, so that tokenize --skip-invalid can count it and
// go on. Any other error (a file that does not open, a JSON array whose
// syntax breaks, a read error) ends the file.
var ErrRecord = errors.New("invalid record")

// recordError is an error of one record: errors.Is(err, ErrRecord) holds,
// and its text is the cause's alone.
type recordError struct{ error }

func (e recordError) Unwrap() error      { return e.error }
func (recordError) Is(target error) bool { return target == ErrRecord }

// badRecord marks err, which names its record, as an ErrRecord.
func badRecord(err error) error { return recordError{err} }
