package formats

import (
	"bufio"
	"bytes"
	"io"
	"testing"
)

// The readers must reject any input with an error, never panic or loop, and
// whatever they accept must survive a round trip through both encodings.
func FuzzReadJSONL(f *testing.F) {
	f.Add([]byte(`{"id":"a","input_ids":[1,2,3],"loss_mask":[0,1,1],"meta":{"k":1}}` + "\n"))
	f.Add([]byte(`{"id":"a","input_ids":[1],"loss_mask":[0]}` + "\n\n" + `{"id":"b","input_ids":[2,3],"loss_mask":[0,0]}`))
	f.Add([]byte(`{"id":"a","input_ids":"x"}`))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzRead(t, data) })
}

func FuzzReadArrow(f *testing.F) {
	data := encode(f, Arrow, TokenCodec, sampleTokens())
	f.Add(data)
	f.Add(data[:len(data)/2])
	f.Fuzz(func(t *testing.T, data []byte) { fuzzRead(t, data) })
}

func fuzzRead(t *testing.T, data []byte) {
	r, err := NewReader(bytes.NewReader(data), "fuzz", TokenCodec)
	if err != nil {
		return
	}
	defer r.Close()
	var recs []Token
	for rec, err := range r.All() {
		if err != nil {
			return
		}
		recs = append(recs, *rec)
	}
	for _, f := range []Encoding{JSONL, Arrow} {
		out := encode(t, f, TokenCodec, recs)
		if len(recs) > 0 {
			if err := readAll(bytes.NewReader(out)); err != nil {
				t.Fatalf("%v output of accepted records does not read back: %v", f, err)
			}
		}
	}
}

// Score records, the third reader: JSON Lines or Arrow, any bytes.
func FuzzReadScores(f *testing.F) {
	f.Add([]byte(`{"id":"a","loss":[1,2],"entropy":[0.5,0.25],"n_targets":2,"mean_loss":1.5}` + "\n"))
	f.Add([]byte(`{"id":"a","input_ids":[1],"loss_mask":[0]}` + "\n"))
	f.Add(encode(f, Arrow, ScoreCodec, sampleScores()))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data), "fuzz", ScoreCodec)
		if err != nil {
			return
		}
		defer r.Close()
		var recs []Score
		for rec, err := range r.All() {
			if err != nil {
				break
			}
			recs = append(recs, *rec)
		}
		var buf bytes.Buffer
		w := NewWriter(&buf, JSONL, ScoreCodec)
		for i := range recs {
			if err := w.Write(&recs[i]); err != nil {
				return // non-finite values: refused by the JSON writer, not a crash
			}
		}
		w.Close()
	})
}

// PeekKind with a small read buffer: first lines of any length are read
// whole and handed back with the rest, byte for byte.
func FuzzPeekKind(f *testing.F) {
	f.Add([]byte(`{"id":"a","input_ids":[1,2,3],"loss_mask":[0,1,1]}` + "\n" + `{"id":"b"}`))
	f.Add([]byte("\n\n  " + `{"loss":[1],"id":"x","entropy":[1],"n_targets":1}`))
	f.Add(encode(f, Arrow, ScoreCodec, sampleScores()))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, br, _ := PeekKind(bufio.NewReaderSize(bytes.NewReader(data), 16))
		all, err := io.ReadAll(br)
		if err != nil || !bytes.Equal(all, data) {
			t.Fatalf("read back %d of %d bytes: %v", len(all), len(data), err)
		}
	})
}
