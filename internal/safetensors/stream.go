package safetensors

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// WriteStream is Write for tensors made one at a time: headers gives every
// tensor's name, dtype and shape (Data unused), and fill returns a tensor's
// data when its turn comes, in name order, so that only one tensor need be
// in memory (converting a GGUF file dequantises each on demand). Like Write
// it goes through a temp file renamed at the end.
func WriteStream(path string, headers []Tensor, metadata map[string]string, fill func(t *Tensor) ([]byte, error)) error {
	sorted := append([]Tensor(nil), headers...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	header := map[string]any{}
	if len(metadata) > 0 {
		header["__metadata__"] = metadata
	}
	var off int64
	for _, t := range sorted {
		width, ok := DTypeSize[t.DType]
		if !ok {
			return fmt.Errorf("tensor %q: unsupported dtype %q", t.Name, t.DType)
		}
		if _, dup := header[t.Name]; dup {
			return fmt.Errorf("tensor %q appears twice", t.Name)
		}
		shape := t.Shape
		if shape == nil {
			shape = []int64{}
		}
		n := Numel(t.Shape) * int64(width)
		header[t.Name] = headerEntry{DType: t.DType, Shape: shape, DataOffsets: [2]int64{off, off + n}}
		off += n
	}
	h, err := json.Marshal(header)
	if err != nil {
		return err
	}
	for len(h)%8 != 0 { // the data starts 8-aligned, as safetensors writes it
		h = append(h, ' ')
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	fail := func(err error) error {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil { // CreateTemp makes it private
		return fail(err)
	}
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(h)))
	if _, err := tmp.Write(append(n[:], h...)); err != nil {
		return fail(err)
	}
	for i := range sorted {
		t := &sorted[i]
		data, err := fill(t)
		if err != nil {
			return fail(err)
		}
		if want := Numel(t.Shape) * int64(DTypeSize[t.DType]); want != int64(len(data)) {
			return fail(fmt.Errorf("tensor %q: %s%v needs %d bytes, got %d", t.Name, t.DType, t.Shape, want, len(data)))
		}
		if _, err := tmp.Write(data); err != nil {
			return fail(err)
		}
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
