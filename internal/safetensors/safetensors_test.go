package safetensors

import (
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestWriteOpen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	in := []Tensor{
		{Name: "b", DType: "BF16", Shape: []int64{2}, Data: []byte{0x80, 0x3f, 0x00, 0x40}},
		{Name: "a", DType: "F32", Shape: []int64{1, 2}, Data: []byte{0, 0, 128, 63, 0, 0, 0, 64}},
	}
	if err := Write(path, in, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	c, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, want := range in {
		got := c.Tensors[want.Name]
		if got == nil || got.DType != want.DType || !reflect.DeepEqual(got.Shape, want.Shape) || string(got.Data) != string(want.Data) {
			t.Fatalf("%s: got %+v", want.Name, got)
		}
	}
	raw, _ := os.ReadFile(path)
	n := binary.LittleEndian.Uint64(raw)
	if (8+n)%8 != 0 {
		t.Fatalf("data not 8-aligned: header %d", n)
	}
	var h map[string]json.RawMessage
	json.Unmarshal(raw[8:8+n], &h)
	if string(h["__metadata__"]) != `{"format":"pt"}` {
		t.Fatalf("metadata %s", h["__metadata__"])
	}
}

func TestShards(t *testing.T) {
	dir := t.TempDir()
	Write(filepath.Join(dir, "m-1.safetensors"), []Tensor{{Name: "x", DType: "U8", Shape: []int64{1}, Data: []byte{7}}}, nil)
	Write(filepath.Join(dir, "m-2.safetensors"), []Tensor{{Name: "y", DType: "U8", Shape: []int64{1}, Data: []byte{9}}}, nil)
	os.WriteFile(filepath.Join(dir, "model.safetensors.index.json"), []byte(`{"weight_map":{"x":"m-1.safetensors","y":"m-2.safetensors"}}`), 0o644)
	c, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Tensors["x"].Data[0] != 7 || c.Tensors["y"].Data[0] != 9 {
		t.Fatal("wrong shard contents")
	}
}

func TestCorrupt(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.safetensors")
	Write(good, []Tensor{{Name: "w", DType: "F32", Shape: []int64{4}, Data: make([]byte, 16)}}, nil)
	raw, _ := os.ReadFile(good)
	cases := map[string][]byte{
		"truncated":   raw[:len(raw)-4],
		"tiny":        raw[:5],
		"huge header": append([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}, raw[8:]...),
		"bad json":    append(append([]byte(nil), raw[:8]...), []byte(strings.Repeat("x", len(raw)-8))...),
	}
	for name, data := range cases {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
		os.WriteFile(p, data, 0o644)
		if _, err := Open(p); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: got %v, want an error naming the file", name, err)
		}
	}
	if _, err := OpenDir(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no model.safetensors") {
		t.Errorf("empty folder: %v", err)
	}
}
