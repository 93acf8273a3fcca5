package formats

import (
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
	var buf bytes.Buffer
	w := NewWriter(&buf, Arrow, TokenCodec)
	for _, r := range sampleTokens() {
		w.Write(&r)
	}
	w.Close()
	f.Add(buf.Bytes())
	f.Add(buf.Bytes()[:len(buf.Bytes())/2])
	f.Fuzz(func(t *testing.T, data []byte) { fuzzRead(t, data) })
}

func fuzzRead(t *testing.T, data []byte) {
	r, err := NewReader(bytes.NewReader(data), "fuzz", TokenCodec)
	if err != nil {
		return
	}
	defer r.Close()
	var recs []Token
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return
		}
		recs = append(recs, *rec)
	}
	for _, f := range []Format{JSONL, Arrow} {
		var buf bytes.Buffer
		w := NewWriter(&buf, f, TokenCodec)
		for i := range recs {
			if err := w.Write(&recs[i]); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if len(recs) > 0 {
			if err := readAll(&buf); err != nil {
				t.Fatalf("%v output of accepted records does not read back: %v", f, err)
			}
		}
	}
}
