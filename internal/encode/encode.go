// Package encode turns corpus Examples into token records: chat-templated
// conversations with their loss masks for SFT, documents with EOS for
// continued pre-training, or plain text.
package encode

import (
	"errors"
	"fmt"

	"github.com/ytrain/ytrain/formats"
	"github.com/ytrain/ytrain/internal/bpe"
	"github.com/ytrain/ytrain/internal/chat"
	"github.com/ytrain/ytrain/internal/corpus"
)

// Options are the tokenize switches that shape a record.
type Options struct {
	Objective corpus.Objective
	LastOnly  bool   // SFT: train only the last assistant turn
	System    string // SFT: system prompt for records without their own
	Thinking  bool   // SFT: enable_thinking for the template
	MaxLen    int    // 0 = no limit
	Truncate  bool   // cut over-long records to MaxLen instead of skipping them
	EOS       int32  // CPT: appended to every document
}

// ErrTooLong marks a record over MaxLen, reported and skipped by tokenize.
var ErrTooLong = errors.New("too long")

// Encoder is safe for concurrent use.
type Encoder struct {
	tok *bpe.Tokenizer
	tpl *chat.Template
	opt Options
}

func New(tok *bpe.Tokenizer, tpl *chat.Template, opt Options) *Encoder {
	return &Encoder{tok: tok, tpl: tpl, opt: opt}
}

// Encode tokenizes one example. Errors wrapping ErrTooLong or
// corpus.ErrEmptyAnswer are for a counted skip; others are the record's fault.
func (e *Encoder) Encode(ex *corpus.Example) (*formats.Token, error) {
	var rec *formats.Token
	var err error
	switch e.opt.Objective {
	case corpus.SFT:
		rec, err = e.conversation(ex)
	case corpus.CPT:
		rec = document(ex, append(e.tok.Encode(ex.Text), e.opt.EOS))
	default:
		rec = document(ex, e.tok.Encode(ex.Text))
	}
	if err != nil {
		return nil, err
	}
	if e.opt.MaxLen > 0 && len(rec.InputIDs) > e.opt.MaxLen {
		if !e.opt.Truncate {
			return nil, fmt.Errorf("%w: %d tokens > --max-len %d", ErrTooLong, len(rec.InputIDs), e.opt.MaxLen)
		}
		rec.InputIDs, rec.LossMask = rec.InputIDs[:e.opt.MaxLen], rec.LossMask[:e.opt.MaxLen]
		if rec.LossMask.Targets() == 0 {
			return nil, fmt.Errorf("%w: no target left within --max-len %d", ErrTooLong, e.opt.MaxLen)
		}
	}
	return rec, nil
}

// document makes every token but the first a target.
func document(ex *corpus.Example, ids []int32) *formats.Token {
	mask := make(formats.Mask, len(ids))
	for i := 1; i < len(mask); i++ {
		mask[i] = 1
	}
	return &formats.Token{ID: ex.ID, InputIDs: ids, LossMask: mask, Meta: ex.Meta}
}

// conversation tokenizes the full rendering once (special tokens atomic) and
// marks as targets the tokens that start inside an assistant turn's span.
func (e *Encoder) conversation(ex *corpus.Example) (*formats.Token, error) {
	msgs := ex.Messages
	if e.opt.System != "" && (len(msgs) == 0 || msgs[0].Role != "system") {
		msgs = append([]chat.Message{{Role: "system", Content: e.opt.System}}, msgs...)
	}
	full, spans, err := e.tpl.Spans(msgs, e.opt.LastOnly, chat.Options{EnableThinking: e.opt.Thinking})
	if err != nil {
		return nil, err
	}
	ids, starts := e.tok.EncodeOffsets(full)
	mask := make(formats.Mask, len(ids))
	s := 0
	for t := 1; t < len(ids); t++ {
		for s < len(spans) && int(starts[t]) >= spans[s].End {
			s++
		}
		if s < len(spans) && int(starts[t]) >= spans[s].Start {
			mask[t] = 1
		}
	}
	if mask.Targets() == 0 {
		return nil, errors.New("no answer token to train on")
	}
	return &formats.Token{ID: ex.ID, InputIDs: ids, LossMask: mask, Meta: ex.Meta}, nil
}
