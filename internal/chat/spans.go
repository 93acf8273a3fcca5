package chat

import (
	"errors"
	"fmt"
	"strings"
)

// Span is the byte range [Start, End) of the rendered conversation that holds the
// training targets of msgs[Turn], an assistant turn.
type Span struct {
	Turn       int
	Start, End int
}

// Spans renders the whole conversation (no generation prompt) and returns it with the
// target span of every assistant turn, or of the last one only if lastOnly.
//
// The targets of assistant turn i run from the end of its generation prompt through its
// end-of-turn token inclusive; nothing else. With p = Render(msgs[:i], true):
//
//   - If p is a prefix of the full text, the turn starts at len(p). This is the usual
//     case; for Qwen3 without thinking, p ends with the empty "<think>\n\n</think>\n\n"
//     block, which is therefore not a target.
//   - Otherwise the turn is rendered differently from the generation prompt, e.g. Qwen3
//     renders an answer's own "<think>…</think>" instead of the empty block, and drops
//     reasoning from earlier turns. The targets then start right after the generation
//     prompt's role header: the prompt's suffix is p minus Render(msgs[:i], false) (from
//     where the two diverge), and the header is that suffix's first line plus any line
//     breaks right after it – "<|im_start|>assistant\n" for Qwen3/ChatML,
//     "<|start_header_id|>assistant<|end_header_id|>\n\n" for Llama 3. So an answer's
//     reasoning is trained. The header must lie within the common prefix of p and the
//     full text, otherwise the template renders the history itself differently and the
//     turn cannot be located: that is an error, not a guess.
//
// A span ends right after the first EndOfTurn() at or after its start.
func (t *Template) Spans(msgs []Message, lastOnly bool, o Options) (full string, spans []Span, err error) {
	full, err = t.Render(msgs, false, o)
	if err != nil {
		return "", nil, err
	}
	var turns []int
	for i, m := range msgs {
		if m.Role == "assistant" {
			turns = append(turns, i)
		}
	}
	if len(turns) == 0 {
		return "", nil, errors.New("chat: the conversation has no assistant turn")
	}
	if lastOnly {
		turns = turns[len(turns)-1:]
	}
	prevEnd := 0
	for _, i := range turns {
		start, err := t.targetStart(msgs, i, full, o)
		if err != nil {
			return "", nil, err
		}
		if start < prevEnd {
			return "", nil, fmt.Errorf("chat: assistant turn %d starts inside the previous turn's targets", i)
		}
		k := strings.Index(full[start:], t.eot)
		if k < 0 {
			return "", nil, fmt.Errorf("chat: assistant turn %d: no %q after it", i, t.eot)
		}
		if k == 0 {
			return "", nil, fmt.Errorf("chat: assistant turn %d is empty: nothing to train but %q", i, t.eot)
		}
		end := start + k + len(t.eot)
		spans = append(spans, Span{Turn: i, Start: start, End: end})
		prevEnd = end
	}
	return full, spans, nil
}

// targetStart is where assistant turn i's targets begin in full (see Spans).
func (t *Template) targetStart(msgs []Message, i int, full string, o Options) (int, error) {
	prompt, err := t.Render(msgs[:i], true, o)
	if err != nil {
		return 0, err
	}
	if strings.HasPrefix(full, prompt) {
		return len(prompt), nil
	}
	history, err := t.Render(msgs[:i], false, o)
	if err != nil {
		return 0, err
	}
	from := commonPrefix(prompt, history)
	start := from + headerLen(prompt[from:])
	if start == from || start > commonPrefix(prompt, full) {
		return 0, fmt.Errorf("chat: assistant turn %d: cannot find where it starts (the template renders the earlier turns differently once it follows)", i)
	}
	return start, nil
}

// headerLen is the length of the role header that opens a generation prompt: its first
// line and the line breaks right after it (all of it if it has no line break).
func headerLen(genPrompt string) int {
	n := strings.IndexByte(genPrompt, '\n')
	if n < 0 {
		return len(genPrompt)
	}
	n++
	for n < len(genPrompt) && (genPrompt[n] == '\n' || genPrompt[n] == '\r') {
		n++
	}
	return n
}

func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}
