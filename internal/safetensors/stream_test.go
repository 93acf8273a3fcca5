package safetensors

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// WriteStream writes the same bytes as Write, asking for each tensor's data
// in name order; a failing fill or a wrong-sized tensor leaves no file.
func TestWriteStream(t *testing.T) {
	dir := t.TempDir()
	in := []Tensor{
		{Name: "b", DType: "BF16", Shape: []int64{2}, Data: []byte{0x80, 0x3f, 0x00, 0x40}},
		{Name: "a", DType: "F32", Shape: []int64{1, 2}, Data: []byte{0, 0, 128, 63, 0, 0, 0, 64}},
	}
	meta := map[string]string{"format": "pt"}
	whole, streamed := filepath.Join(dir, "whole.safetensors"), filepath.Join(dir, "streamed.safetensors")
	if err := Write(whole, in, meta); err != nil {
		t.Fatal(err)
	}
	byName := map[string][]byte{}
	headers := make([]Tensor, len(in))
	for i, x := range in {
		byName[x.Name] = x.Data
		headers[i] = Tensor{Name: x.Name, DType: x.DType, Shape: x.Shape}
	}
	var order []string
	err := WriteStream(streamed, headers, meta, func(h *Tensor) ([]byte, error) {
		order = append(order, h.Name)
		return byName[h.Name], nil
	})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(whole)
	b, _ := os.ReadFile(streamed)
	if !bytes.Equal(a, b) {
		t.Errorf("WriteStream wrote %d bytes unlike Write's %d", len(b), len(a))
	}
	if len(order) != 2 || order[0] != "a" || order[1] != "b" {
		t.Errorf("fill called for %v, want [a b]", order)
	}

	for name, fill := range map[string]func(*Tensor) ([]byte, error){
		"failing fill": func(*Tensor) ([]byte, error) { return nil, errors.New("boom") },
		"short data":   func(*Tensor) ([]byte, error) { return []byte{1}, nil },
	} {
		p := filepath.Join(dir, "bad.safetensors")
		if err := WriteStream(p, headers, nil, fill); err == nil {
			t.Errorf("%s: no error", name)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 2 {
			t.Errorf("%s: left %d files, want only the two good ones", name, len(entries))
		}
	}
}
