package formats

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow/ipc"
)

func sampleTokens() []Token {
	return []Token{
		{ID: "a", InputIDs: []int32{1, 2, 3}, LossMask: Mask{0, 1, 1}, Meta: json.RawMessage(`{"src":"x.jsonl:1","tags":["law"]}`)},
		{ID: "b:2", InputIDs: []int32{7}, LossMask: Mask{0}},
		{ID: "中文", InputIDs: []int32{151643, 0, 5}, LossMask: Mask{0, 0, 1}, Meta: json.RawMessage(`"plain"`)},
	}
}

func samplePacked() []Packed {
	return []Packed{
		{InputIDs: []int32{5, 6, 7, 8, 0}, PositionIDs: []int32{0, 1, 0, 1, 0}, SegmentIDs: []int32{1, 1, 2, 2, 0},
			LossMask: Mask{0, 1, 0, 1, 0}, DocIDs: []string{"a", "b"}},
		{InputIDs: []int32{9}, PositionIDs: []int32{0}, SegmentIDs: []int32{1}, LossMask: Mask{0}, DocIDs: []string{"c"}},
	}
}

func sampleScores() []Score {
	free := float32(2.5)
	return []Score{
		{ID: "a", Loss: []float32{0.1, 3.25, 16}, Entropy: []float32{0.5, 1e-7, 2}, NTargets: 3, MeanLoss: 6.45, PPL: 632.7,
			MeanEntropy: 0.8333333, FracKnown: 1.0 / 3, FracLearning: 1.0 / 3, FracCut: 1.0 / 3,
			PromptFreeLoss: []float32{1, 2, 4.5}, PromptFreeMeanLoss: &free, Meta: json.RawMessage(`{"k":1}`)},
		{ID: "b", Loss: []float32{2}, Entropy: []float32{1}, NTargets: 1, MeanLoss: 2, PPL: 7.389056, MeanEntropy: 1, FracLearning: 1},
	}
}

func encode[T any](t testing.TB, f Encoding, c *Codec[T], recs []T) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf, f, c)
	for i := range recs {
		if err := w.Write(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func decode[T any](t *testing.T, data []byte, c *Codec[T]) []T {
	t.Helper()
	r, err := NewReader(bytes.NewReader(data), "test", c)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []T
	for rec, err := range r.All() {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, *rec)
	}
	return out
}

// JSON Lines → Arrow → JSON Lines must give back the same bytes, for both record kinds.
func TestRoundTrip(t *testing.T) {
	t.Run("token", func(t *testing.T) { roundTrip(t, TokenCodec, sampleTokens()) })
	t.Run("packed", func(t *testing.T) { roundTrip(t, PackedCodec, samplePacked()) })
	t.Run("score", func(t *testing.T) { roundTrip(t, ScoreCodec, sampleScores()) })
}

func roundTrip[T any](t *testing.T, c *Codec[T], recs []T) {
	j1 := encode(t, JSONL, c, recs)
	fromJSON := decode(t, j1, c)
	if !reflect.DeepEqual(fromJSON, recs) {
		t.Fatalf("JSONL decode:\n got %+v\nwant %+v", fromJSON, recs)
	}
	a := encode(t, Arrow, c, fromJSON)
	if !bytes.HasPrefix(a, arrowStreamMagic) {
		t.Fatalf("Arrow stream does not start with the continuation marker: % x", a[:8])
	}
	fromArrow := decode(t, a, c)
	if !reflect.DeepEqual(fromArrow, recs) {
		t.Fatalf("Arrow decode:\n got %+v\nwant %+v", fromArrow, recs)
	}
	if j2 := encode(t, JSONL, c, fromArrow); !bytes.Equal(j1, j2) {
		t.Fatalf("JSONL after Arrow differs:\n%s\n%s", j1, j2)
	}
}

// Many records span several Arrow batches; order and content survive.
func TestArrowBatches(t *testing.T) {
	var recs []Token
	for i := 0; i < 3*batchRows+7; i++ {
		recs = append(recs, Token{ID: strings.Repeat("x", i%5+1) + string(rune('a'+i%26)), InputIDs: []int32{int32(i), 1}, LossMask: Mask{0, 1}})
	}
	if got := decode(t, encode(t, Arrow, TokenCodec, recs), TokenCodec); !reflect.DeepEqual(got, recs) {
		t.Fatal("records differ after a multi-batch Arrow round trip")
	}
}

func TestJSONLWritesNumbersForMask(t *testing.T) {
	got := string(encode(t, JSONL, TokenCodec, sampleTokens()[:1]))
	want := `{"id":"a","input_ids":[1,2,3],"loss_mask":[0,1,1],"meta":{"src":"x.jsonl:1","tags":["law"]}}` + "\n"
	if got != want {
		t.Fatalf("got %s want %s", got, want)
	}
}

func TestReadErrors(t *testing.T) {
	packedArrow := encode(t, Arrow, PackedCodec, samplePacked())
	cases := []struct {
		name, in, want string
	}{
		{"empty", "", "test: empty input"},
		{"blank lines only", "\n\n", "test: empty input"},
		{"malformed", `{"id":"a","input_ids":[1,2],"loss_mask":[0,1]}` + "\n" + `{"id":"b",` + "\n", "test:2: unexpected end of JSON input"},
		{"wrong type", `{"id":"a","input_ids":"12","loss_mask":[0,1]}`, `test:1: field "input_ids": got JSON string`},
		{"mask value", `{"id":"a","input_ids":[1,2],"loss_mask":[0,2]}`, "test:1: loss_mask[1] = 2, want 0 or 1"},
		{"first target", `{"id":"a","input_ids":[1,2],"loss_mask":[1,1]}`, "loss_mask[0] must be 0"},
		{"length mismatch", `{"id":"a","input_ids":[1,2],"loss_mask":[0]}`, `record "a": 2 input_ids but 1 loss_mask values`},
		{"missing id", `{"input_ids":[1,2],"loss_mask":[0,1]}`, "test:1: empty id"},
		{"invalid utf8", "{\"id\":\"\xff\",\"input_ids\":[1],\"loss_mask\":[0]}", "test:1: invalid UTF-8"},
		{"json array", `[{"id":"a"}]`, "test:1: want one JSON object per line"},
		{"arrow file header only", "ARROW1\x00\x00", "truncated Arrow file"},
		{"wrong record kind", string(packedArrow), `this is a "packed" stream, want "token" records`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := readAll(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestPackedValidate(t *testing.T) {
	bad := []struct {
		name string
		mod  func(*Packed)
		want string
	}{
		{"target on padding", func(p *Packed) { p.LossMask[4] = 1 }, "padding is a target"},
		{"segment after padding", func(p *Packed) { p.SegmentIDs[4] = 2; p.PositionIDs[4] = 2 }, ""},
		{"target at segment start", func(p *Packed) { p.LossMask[2] = 1 }, "must start with position 0 and no target"},
		{"positions", func(p *Packed) { p.PositionIDs[1] = 5 }, "not consecutive"},
		{"doc ids", func(p *Packed) { p.DocIDs = p.DocIDs[:1] }, "2 segments but 1 doc_ids"},
		{"skipped segment", func(p *Packed) { p.SegmentIDs[2], p.SegmentIDs[3] = 3, 3 }, "segment 3 follows 1"},
	}
	for _, tc := range bad {
		p := samplePacked()[0]
		tc.mod(&p)
		err := p.Validate()
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: unexpected error %v", tc.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
}

func readAll(r io.Reader) error {
	rd, err := NewReader(r, "test", TokenCodec)
	if err != nil {
		return err
	}
	defer rd.Close()
	for _, err := range rd.All() {
		if err != nil {
			return err
		}
	}
	return nil
}

func TestInputsConcatenate(t *testing.T) {
	dir := t.TempDir()
	recs := sampleTokens()
	a := filepath.Join(dir, "a.jsonl")
	os.WriteFile(a, encode(t, JSONL, TokenCodec, recs[:2]), 0o644)
	in := OpenInputs([]string{a, "-"}, bytes.NewReader(encode(t, Arrow, TokenCodec, recs[2:])), TokenCodec)
	defer in.Close()
	var got []Token
	for rec, err := range in.All() {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, *rec)
	}
	if !reflect.DeepEqual(got, recs) {
		t.Fatalf("got %+v", got)
	}
}

func TestOutputEncoding(t *testing.T) {
	f, _ := os.CreateTemp(t.TempDir(), "stdout")
	defer f.Close()
	for _, tc := range []struct {
		flag, out string
		want      Encoding
	}{
		{"", "x.arrow", Arrow}, {"", "x.jsonl", JSONL}, {"", "x", JSONL},
		{"", "", Arrow}, // stdout is a file here, not a terminal
		{"jsonl", "x.arrow", JSONL}, {"arrow", "", Arrow},
	} {
		if got, err := OutputEncoding(tc.flag, tc.out, f); err != nil || got != tc.want {
			t.Errorf("OutputEncoding(%q, %q) = %v, %v; want %v", tc.flag, tc.out, got, err, tc.want)
		}
	}
	if _, err := OutputEncoding("csv", "", f); err == nil {
		t.Error("--encoding csv accepted")
	}
}

// WriteFile's file appears whole when fn succeeds and not at all when it
// fails or panics: no partial file, no temp file left.
func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.jsonl")
	failed := errors.New("failed half way")
	err := WriteFile(path, nil, func(w io.Writer) error {
		io.WriteString(w, "partial")
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Error("output visible before fn returned")
		}
		return failed
	})
	if err != failed {
		t.Fatalf("got %v, want fn's error", err)
	}
	func() {
		defer func() { recover() }()
		WriteFile(path, nil, func(w io.Writer) error { io.WriteString(w, "partial"); panic("bug") })
	}()
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("a failed and a panicking fn left %v", ents)
	}
	if err := WriteBytes(path, []byte("done")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "done" {
		t.Fatalf("got %q", b)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v, want an ordinary file's 0644", fi.Mode().Perm())
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("temp files left: %v", ents)
	}
	var stdout strings.Builder
	if err := WriteFile("-", &stdout, func(w io.Writer) error { _, err := io.WriteString(w, "out"); return err }); err != nil || stdout.String() != "out" {
		t.Fatalf(`"-": %v, stdout %q`, err, stdout.String())
	}
}

func TestPeekKind(t *testing.T) {
	cases := map[string][]byte{
		"token":  encode(t, Arrow, TokenCodec, sampleTokens()),
		"packed": encode(t, Arrow, PackedCodec, samplePacked()),
		"score":  encode(t, Arrow, ScoreCodec, sampleScores()),
	}
	for kind, arrowData := range cases {
		for _, data := range [][]byte{arrowData, encodeJSONL(t, kind)} {
			br := bufio.NewReaderSize(bytes.NewReader(data), 1<<16)
			got, br, err := PeekKind(br)
			if err != nil || got != kind {
				t.Fatalf("PeekKind = %q, %v; want %q", got, err, kind)
			}
			if b, _ := br.Peek(len(data)); !bytes.Equal(b, data) {
				t.Fatal("PeekKind consumed input")
			}
		}
	}
	if _, _, err := PeekKind(bufio.NewReader(strings.NewReader(`{"text":"x"}`))); err == nil {
		t.Fatal("a text record taken for a record kind")
	}
}

func encodeJSONL(t *testing.T, kind string) []byte {
	switch kind {
	case "token":
		return encode(t, JSONL, TokenCodec, sampleTokens())
	case "packed":
		return encode(t, JSONL, PackedCodec, samplePacked())
	}
	return encode(t, JSONL, ScoreCodec, sampleScores())
}

// A first JSON line longer than the read buffer (a 4096-token packed row of
// 6-digit ids is ~70 KB) is read whole, and handed back with the rest.
func TestPeekKindLongFirstLine(t *testing.T) {
	rec := Token{ID: "long", InputIDs: make([]int32, 20000), LossMask: make(Mask, 20000)}
	for i := range rec.InputIDs {
		rec.InputIDs[i] = 151000 + int32(i%600)
	}
	data := encode(t, JSONL, TokenCodec, []Token{rec, rec})
	if len(data) < 1<<17 {
		t.Fatalf("test data of %d bytes is not long", len(data))
	}
	got, br, err := PeekKind(bufio.NewReaderSize(bytes.NewReader(data), 1<<16))
	if err != nil || got != "token" {
		t.Fatalf("PeekKind = %q, %v", got, err)
	}
	all, _ := io.ReadAll(br)
	if !bytes.Equal(all, data) {
		t.Fatalf("read back %d bytes of %d", len(all), len(data))
	}
}

// A stream that stops at a batch boundary, without the end-of-stream
// marker ytrain always writes, is an error that names the file and how far
// it got: a writer that stopped half way left a partial input.
func TestArrowWithoutEndMarker(t *testing.T) {
	recs := make([]Token, 1280) // two batches: 1024 + 256
	for i := range recs {
		recs[i] = Token{ID: fmt.Sprint(i), InputIDs: []int32{1, 2}, LossMask: Mask{0, 1}}
	}
	data := encode(t, Arrow, TokenCodec, recs)
	// cut after the schema and the first batch: walk the messages
	cr := &countingReader{r: bytes.NewReader(data)}
	g := &guardedMessages{r: cr}
	for i := 0; i < 2; i++ {
		if _, err := g.Message(); err != nil {
			t.Fatal(err)
		}
	}
	read := func(b []byte) (int, error) {
		rd, err := NewReader(bytes.NewReader(b), "cut.arrow", TokenCodec)
		if err != nil {
			t.Fatal(err)
		}
		defer rd.Close()
		n := 0
		for _, err := range rd.All() {
			if err != nil {
				return n, err
			}
			n++
		}
		return n, nil
	}
	if n, err := read(data); n != 1280 || err != nil {
		t.Fatalf("whole stream: %d records, %v", n, err)
	}
	if n, err := read(data[:cr.n]); n != 1024 || err == nil ||
		!strings.Contains(err.Error(), "cut.arrow: the Arrow stream ends after record 1024 without its end-of-stream marker") {
		t.Fatalf("cut stream: %d records, %v", n, err)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// A JSON Lines file of another record kind is refused by name, as an Arrow
// stream's schema is.
func TestJSONLKindChecked(t *testing.T) {
	data := encode(t, JSONL, TokenCodec, sampleTokens())
	rd, err := NewReader(bytes.NewReader(data), "tokens.jsonl", ScoreCodec)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	if _, err := rd.Next(); err == nil || !strings.Contains(err.Error(), "tokens.jsonl:1: a token record, want score records") {
		t.Fatalf("got %v", err)
	}
}

// arrowFile rewrites an Arrow stream as an Arrow IPC file with arrow's own
// writer, which puts no end-of-stream marker before the footer; withEOS
// adds one there, as pyarrow writes it.
func arrowFile(t *testing.T, stream []byte, withEOS bool) []byte {
	t.Helper()
	r, err := ipc.NewReader(bytes.NewReader(stream))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	f, err := os.Create(filepath.Join(t.TempDir(), "x.arrow")) // the writer wants to seek
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := ipc.NewFileWriter(f, ipc.WithSchema(r.Schema()))
	if err != nil {
		t.Fatal(err)
	}
	for r.Next() {
		if err := w.Write(r.Record()); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if !withEOS {
		return b
	}
	n := int(binary.LittleEndian.Uint32(b[len(b)-10:]))
	start := len(b) - 10 - n
	return append(append(append([]byte{}, b[:start]...), 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0), b[start:]...)
}

// Arrow IPC files read like streams, front to back, with or without an
// end-of-stream marker before the footer; a cut-off file is an error.
func TestArrowFile(t *testing.T) {
	recs := sampleTokens()
	stream := encode(t, Arrow, TokenCodec, recs)
	for _, eos := range []bool{false, true} {
		file := arrowFile(t, stream, eos)
		if !bytes.HasPrefix(file, []byte("ARROW1")) {
			t.Fatalf("not an Arrow file: % x", file[:8])
		}
		if got := decode(t, file, TokenCodec); !reflect.DeepEqual(got, recs) {
			t.Fatalf("Arrow file (end-of-stream marker %v):\n got %+v\nwant %+v", eos, got, recs)
		}
		kind, _, err := PeekKind(bufio.NewReader(bytes.NewReader(file)))
		if err != nil || kind != "token" {
			t.Fatalf("PeekKind of an Arrow file = %q, %v", kind, err)
		}
		for _, cut := range []int{len(file) - 1, len(file) - 12, len(file) / 2} {
			err := readAll(bytes.NewReader(file[:cut]))
			if err == nil || !strings.Contains(err.Error(), "truncated") && !strings.Contains(err.Error(), "corrupt") {
				t.Errorf("file cut at %d of %d bytes (end-of-stream marker %v): error %v, want truncated or corrupt", cut, len(file), eos, err)
			}
		}
	}
	packedFile := arrowFile(t, encode(t, Arrow, PackedCodec, samplePacked()), false)
	if err := readAll(bytes.NewReader(packedFile)); err == nil || !strings.Contains(err.Error(), `this is a "packed" stream`) {
		t.Errorf("packed Arrow file read as tokens: %v", err)
	}
}
