package bpe

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"

	"github.com/ytrain/ytrain/internal/chat"
)

var trainSentences = []string{
	"The quick brown fox jumps over the lazy dog.",
	"A tokenizer splits text into pieces that a model can read.",
	"Byte pair encoding merges the most frequent pair of tokens again and again.",
	"Every byte of the input has a token, so nothing is ever unknown.",
	"She sells sea shells by the sea shore, and the shells she sells are surely sea shells.",
	"In the beginning the training loop reads the data, then it computes the loss.",
	"Models learn from examples; the more examples they see, the better they generalize.",
	"It's a small world after all, isn't it? We'll see what they've done.",
	"The weather today is sunny with a chance of rain in the evening.",
	"Numbers like 42, 1024 and 3.14159 are split into single digits.",
	"Please remember to save your work before you close the window.",
	"He walked along the river, thinking about the questions he had not answered.",
	"The library opens at nine o'clock and closes at six in the evening.",
	"Learning rates that are too large make the training unstable.",
	"They were reading the same book, but they understood it differently.",
	"A good answer is short, correct, and easy to understand.",
	"The committee will meet again next Tuesday to discuss the proposal.",
	"Water boils at one hundred degrees at sea level.",
	"What is the capital of France? The capital of France is Paris.",
	"Write a function that returns the sum of two numbers.",
}

// trainTexts builds a small English-like corpus from the sentences, with a few chat
// turns whose special tokens must not be learned.
func trainTexts() []string {
	var texts []string
	n := len(trainSentences)
	for i := range 150 {
		var b strings.Builder
		for k := range 4 {
			b.WriteString(trainSentences[(i*7+k*13)%n])
			b.WriteString(" ")
		}
		b.WriteString("\n")
		texts = append(texts, b.String())
	}
	for i := range 20 {
		texts = append(texts, "<|im_start|>user\n"+trainSentences[i%n]+"<|im_end|>\n<|im_start|>assistant\n"+trainSentences[(i+1)%n]+"<|im_end|>\n")
	}
	return texts
}

// unseenTexts are not in the corpus; their bytes must still round-trip.
var unseenTexts = []string{
	"Completely different words: zebra, xylophone, quartz.",
	"日本語のテキストと中文文本，以及한국어.",
	"Emoji 🙂👍🏽 and symbols ∑∫√ ≠ ≤ ≥ — “quotes” «guillemets».",
	"Ünïcödé dïäcrïtïcs, e\u0301 decomposed, Ελληνικά, русский, עברית, العربية.",
	"tabs\tand\r\nwindows line ends\n\n\n   spaces   \u00a0nbsp\u3000ideographic",
	"control \x00\x01\x1f\x7f bytes and 1234567890",
	"<|im_start|><|im_end|><|endoftext|> specials <|im_end",
}

// trainTest trains, writes the files and loads them back.
func trainTest(t *testing.T, texts []string, o TrainOptions) (tok *Tokenizer, dir string) {
	t.Helper()
	tr, err := Train(slices.Values(texts), o)
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	if err := WriteTokenizer(dir, tr); err != nil {
		t.Fatal(err)
	}
	if tok, err = Load(dir); err != nil {
		t.Fatal(err)
	}
	return tok, dir
}

func TestTrain(t *testing.T) {
	texts := trainTexts()
	o := TrainOptions{VocabSize: 600}
	tok, _ := trainTest(t, texts, o)
	if tok.VocabSize() != o.VocabSize {
		t.Errorf("vocab size %d, want %d", tok.VocabSize(), o.VocabSize)
	}
	specials := []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>"}
	for i, a := range tok.AddedTokens() {
		want := AddedToken{Content: specials[i], ID: int32(o.VocabSize - 3 + i), Special: true}
		if a != want {
			t.Errorf("added token %d = %+v, want %+v", i, a, want)
		}
		if ids := tok.Encode("x" + a.Content + "x"); len(ids) != 3 || ids[1] != a.ID {
			t.Errorf("%q encodes to %v", a.Content, ids)
		}
	}
	for tokStr, id := range tok.model.vocab {
		if id >= 256 && strings.Contains(tokStr, "|") {
			t.Errorf("token %d %q was learned from a special token", id, tokStr)
		}
	}

	for _, s := range append(texts, unseenTexts...) {
		if got, want := tok.Decode(tok.Encode(s)), norm.NFC.String(s); got != want {
			t.Errorf("Decode(Encode(%q)) = %q", clip(want), clip(got))
		}
	}
	nBytes, nToks := 0, 0
	for _, s := range texts {
		nBytes += len(s)
		nToks += len(tok.Encode(s))
	}
	if ratio := float64(nBytes) / float64(nToks); ratio < 2 {
		t.Errorf("compression %.2f bytes per token, want > 2", ratio)
	}

	// Every byte, valid UTF-8 or not, has a token.
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	var got []byte
	for _, id := range tok.Encode(string(all)) {
		got = append(got, tok.decoded[id]...)
	}
	if !bytes.Equal(got, all) {
		t.Errorf("the 256 bytes encode to tokens of %q", got)
	}
}

func TestTrainChatConfig(t *testing.T) {
	tok, dir := trainTest(t, trainTexts(), TrainOptions{VocabSize: 400})
	tpl, err := chat.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if tpl.EOS() != "<|im_end|>" || tpl.EndOfTurn() != "<|im_end|>" {
		t.Errorf("eos %q, end of turn %q", tpl.EOS(), tpl.EndOfTurn())
	}
	msgs := []chat.Message{{Role: "user", Content: "Hi there"}, {Role: "assistant", Content: "Hello!"}}
	got, err := tpl.Render(msgs, true, chat.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := chat.ChatML().Render(msgs, true, chat.Options{})
	if got != want {
		t.Errorf("rendered %q, want %q", got, want)
	}
	start, _ := tok.TokenID("<|im_start|>")
	if ids := tok.Encode(got); ids[0] != start || tok.Decode(ids) != got {
		t.Errorf("chat encodes to %v", ids)
	}
}

// TestTrainMerges checks the merges of tiny corpora, the tie-break among them.
func TestTrainMerges(t *testing.T) {
	for _, tc := range []struct {
		texts   []string
		minFreq int
		want    [][2]string
	}{
		// Pieces "ab", " ab", " ab", " abc": a b (4 times), then Ġ ab (3); ab c occurs once.
		{[]string{"ab ab ab abc"}, 2, [][2]string{{"a", "b"}, {"Ġ", "ab"}}},
		// All pairs occur once: the smallest left token (" " < "x"), then right token.
		{[]string{"xy zw"}, 1, [][2]string{{"Ġ", "z"}, {"Ġz", "w"}, {"x", "y"}}},
		// Non-overlapping, left to right: "aaaa" becomes "aa aa", then "aaaa".
		{[]string{"aaaa"}, 1, [][2]string{{"a", "a"}, {"aa", "aa"}}},
	} {
		tr, err := Train(slices.Values(tc.texts), TrainOptions{VocabSize: 1000, MinFrequency: tc.minFreq})
		if err != nil {
			t.Fatal(err)
		}
		var f tokenizerFile
		if err := json.Unmarshal(tr.TokenizerJSON, &f); err != nil {
			t.Fatal(err)
		}
		got := make([][2]string, len(f.Model.Merges))
		for i, m := range f.Model.Merges {
			got[i] = m
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%q: merges %q, want %q", tc.texts, got, tc.want)
		}
		if n := len(f.Model.Vocab); n != 256+len(tc.want) {
			t.Errorf("%q: %d vocab entries", tc.texts, n)
		}
	}
}

// TestTrainDeterministic requires the same files for the same texts in another order.
func TestTrainDeterministic(t *testing.T) {
	texts := append(trainTexts(), unseenTexts...)
	o := TrainOptions{VocabSize: 500}
	a, err := Train(slices.Values(texts), o)
	if err != nil {
		t.Fatal(err)
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(texts), func(i, j int) { texts[i], texts[j] = texts[j], texts[i] })
	b, err := Train(slices.Values(texts), o)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.TokenizerJSON, b.TokenizerJSON) || !bytes.Equal(a.ConfigJSON, b.ConfigJSON) {
		t.Error("two trainings on the same texts differ")
	}
}

func TestTrainOptions(t *testing.T) {
	texts := trainTexts()
	// Training stops when no pair reaches MinFrequency.
	tok, _ := trainTest(t, texts, TrainOptions{VocabSize: 100000})
	if n := tok.VocabSize(); n >= 100000 || n <= 600 {
		t.Errorf("unbounded training gave %d ids", n)
	}
	tok, _ = trainTest(t, texts, TrainOptions{VocabSize: 1000, MinFrequency: 1 << 30})
	if n := tok.VocabSize(); n != 256+3 {
		t.Errorf("no merges, but %d ids", n)
	}
	tok, _ = trainTest(t, texts, TrainOptions{VocabSize: 300, Special: []string{"</s>"}, EOS: "</s>", Pad: "</s>", Pattern: gpt2Pattern})
	if a := tok.AddedTokens(); tok.VocabSize() != 300 || len(a) != 1 || a[0].ID != 299 {
		t.Errorf("custom specials: %d ids, added %+v", tok.VocabSize(), a)
	}

	for _, o := range []TrainOptions{
		{VocabSize: 258},
		{VocabSize: 300, MinFrequency: -1},
		{VocabSize: 300, Special: []string{"<|im_end|>", "<|endoftext|>", "<|im_end|>"}},
		{VocabSize: 300, Special: []string{""}},
		{VocabSize: 300, EOS: "</s>"},
		{VocabSize: 300, Pattern: `(`},
	} {
		if _, err := Train(slices.Values(texts), o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
	// "!" is a byte's token, so HF would give a special "!" its id.
	o := TrainOptions{VocabSize: 400, Special: []string{"!"}, EOS: "!", Pad: "!"}
	if _, err := Train(slices.Values(texts), o); err == nil {
		t.Error("a special token that is also a vocab token: no error")
	}
}

func ExampleTrain() {
	tr, err := Train(slices.Values([]string{"the cat sat on the mat", "the cat ate the rat", "a mat, a hat, a cat"}), TrainOptions{VocabSize: 300})
	if err != nil {
		panic(err)
	}
	dir, err := os.MkdirTemp("", "bpe")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	if err := WriteTokenizer(dir, tr); err != nil {
		panic(err)
	}
	tok, err := Load(dir)
	if err != nil {
		panic(err)
	}
	for _, id := range tok.Encode("the fat cat<|im_end|>") {
		fmt.Printf("%d %q\n", id, tok.Decode([]int32{id}))
	}
	// Output:
	// 258 "the"
	// 220 " "
	// 69 "f"
	// 256 "at"
	// 260 " cat"
	// 267 "<|im_end|>"
}
