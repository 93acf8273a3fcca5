// Package safetensors reads and writes Hugging Face safetensors files.
// Reading maps the file into memory, so tensors can be wrapped without a copy
// (the mapping is private and writable: an in-place op copies the page
// instead of touching the file). Files are validated on open: a truncated or
// corrupt checkpoint is an error naming the file and tensor, never a crash.
package safetensors

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"syscall"
)

// Tensor is one named array. Data aliases the file mapping for tensors read
// from a File.
type Tensor struct {
	Name  string
	DType string // "F32", "BF16", "F16", ...
	Shape []int64
	Data  []byte
}

// DTypeSize is the byte width of each supported dtype.
var DTypeSize = map[string]int{
	"F64": 8, "F32": 4, "F16": 2, "BF16": 2,
	"I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1,
}

// Numel is the element count of a shape.
func Numel(shape []int64) int64 {
	n := int64(1)
	for _, d := range shape {
		n *= d
	}
	return n
}

// Encode stores float32 values as dtype "F32" or "BF16" (rounded to
// nearest even, as torch does).
func Encode(v []float32, dtype string) ([]byte, error) {
	switch dtype {
	case "F32":
		b := make([]byte, 4*len(v))
		for i, f := range v {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
		}
		return b, nil
	case "BF16":
		b := make([]byte, 2*len(v))
		for i, f := range v {
			binary.LittleEndian.PutUint16(b[2*i:], BF16(f))
		}
		return b, nil
	}
	return nil, fmt.Errorf("safetensors: cannot encode float32 values as %q", dtype)
}

// BF16 rounds f to bfloat16 bits (round to nearest even; NaN stays NaN).
func BF16(f float32) uint16 {
	u := math.Float32bits(f)
	if f != f {
		return uint16(u>>16) | 0x40
	}
	u += 0x7fff + (u>>16)&1
	return uint16(u >> 16)
}

// File is an open safetensors file.
type File struct {
	Path     string
	Tensors  map[string]*Tensor
	Metadata map[string]string
	mapped   []byte
}

type headerEntry struct {
	DType       string   `json:"dtype"`
	Shape       []int64  `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

// maxHeader bounds the JSON header; real ones are well under a megabyte.
const maxHeader = 100 << 20

// Open maps path and checks its header against its size.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := st.Size()
	if size < 8 {
		return nil, fmt.Errorf("%s: not a safetensors file (%d bytes)", path, size)
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE)
	if err != nil {
		return nil, fmt.Errorf("%s: mmap: %w", path, err)
	}
	sf := &File{Path: path, Tensors: map[string]*Tensor{}, mapped: data}
	if err := sf.parse(); err != nil {
		sf.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return sf, nil
}

func (f *File) parse() error {
	n := binary.LittleEndian.Uint64(f.mapped)
	if n > maxHeader || int64(n) > int64(len(f.mapped))-8 {
		return fmt.Errorf("header length %d does not fit the file (corrupt or truncated)", n)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(f.mapped[8:8+n], &raw); err != nil {
		return fmt.Errorf("header: %w", err)
	}
	body := f.mapped[8+n:]
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &f.Metadata); err != nil {
				return fmt.Errorf("__metadata__: %w", err)
			}
			continue
		}
		var e headerEntry
		if err := json.Unmarshal(msg, &e); err != nil {
			return fmt.Errorf("tensor %q: %w", name, err)
		}
		width, ok := DTypeSize[e.DType]
		if !ok {
			return fmt.Errorf("tensor %q: unsupported dtype %q", name, e.DType)
		}
		for _, d := range e.Shape {
			if d < 0 {
				return fmt.Errorf("tensor %q: negative dimension in %v", name, e.Shape)
			}
		}
		b, end := e.DataOffsets[0], e.DataOffsets[1]
		if b < 0 || end < b || end > int64(len(body)) {
			return fmt.Errorf("tensor %q: data [%d, %d) outside the %d-byte body (truncated file?)", name, b, end, len(body))
		}
		if want := Numel(e.Shape) * int64(width); want != end-b {
			return fmt.Errorf("tensor %q: %s%v needs %d bytes, has %d", name, e.DType, e.Shape, want, end-b)
		}
		f.Tensors[name] = &Tensor{Name: name, DType: e.DType, Shape: e.Shape, Data: body[b:end:end]}
	}
	return nil
}

// Close unmaps the file; tensors read from it must no longer be used.
func (f *File) Close() error {
	if f.mapped == nil {
		return nil
	}
	err := syscall.Munmap(f.mapped)
	f.mapped = nil
	return err
}

// Write stores tensors (sorted by name, as the Python library does) through a
// temp file renamed at the end, so a crash never leaves half a checkpoint.
func Write(path string, tensors []Tensor, metadata map[string]string) error {
	for _, t := range tensors { // every size checked before the file is made
		if width, ok := DTypeSize[t.DType]; ok && Numel(t.Shape)*int64(width) != int64(len(t.Data)) {
			return fmt.Errorf("tensor %q: %s%v needs %d bytes, has %d", t.Name, t.DType, t.Shape, Numel(t.Shape)*int64(width), len(t.Data))
		}
	}
	return WriteStream(path, tensors, metadata, func(t *Tensor) ([]byte, error) { return t.Data, nil })
}

// Checkpoint is a model folder's weights: one model.safetensors, or the
// shards listed in model.safetensors.index.json.
type Checkpoint struct {
	Tensors map[string]*Tensor
	files   []*File
}

// OpenDir opens the weights of an HF model folder.
func OpenDir(dir string) (*Checkpoint, error) {
	c := &Checkpoint{Tensors: map[string]*Tensor{}}
	single := filepath.Join(dir, "model.safetensors")
	index := filepath.Join(dir, "model.safetensors.index.json")
	var shards []string
	if _, err := os.Stat(single); err == nil {
		shards = []string{single}
	} else if b, err := os.ReadFile(index); err == nil {
		var idx struct {
			WeightMap map[string]string `json:"weight_map"`
		}
		if err := json.Unmarshal(b, &idx); err != nil {
			return nil, fmt.Errorf("%s: %w", index, err)
		}
		seen := map[string]bool{}
		for _, f := range idx.WeightMap {
			if !seen[f] {
				seen[f] = true
				shards = append(shards, filepath.Join(dir, f))
			}
		}
		sort.Strings(shards)
	} else {
		return nil, fmt.Errorf("%s: no model.safetensors or model.safetensors.index.json", dir)
	}
	for _, s := range shards {
		f, err := Open(s)
		if err != nil {
			c.Close()
			return nil, err
		}
		c.files = append(c.files, f)
		for name, t := range f.Tensors {
			if _, dup := c.Tensors[name]; dup {
				c.Close()
				return nil, fmt.Errorf("%s: tensor %q is also in another shard", s, name)
			}
			c.Tensors[name] = t
		}
	}
	return c, nil
}

// Close unmaps every shard.
func (c *Checkpoint) Close() error {
	var first error
	for _, f := range c.files {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	c.files = nil
	return first
}

// FirstNonFinite returns the index of the first NaN or infinite element of
// a float tensor (F32, BF16 or F16), or -1. It reads the exponent bits of
// the raw data, about as fast as memory goes: cheap enough to check every
// weight on load.
func (t *Tensor) FirstNonFinite() int {
	switch t.DType {
	case "F32":
		for i := 0; i+4 <= len(t.Data); i += 4 {
			if binary.LittleEndian.Uint32(t.Data[i:])&0x7f800000 == 0x7f800000 {
				return i / 4
			}
		}
	case "BF16":
		for i := 0; i+2 <= len(t.Data); i += 2 {
			if binary.LittleEndian.Uint16(t.Data[i:])&0x7f80 == 0x7f80 {
				return i / 2
			}
		}
	case "F16":
		for i := 0; i+2 <= len(t.Data); i += 2 {
			if binary.LittleEndian.Uint16(t.Data[i:])&0x7c00 == 0x7c00 {
				return i / 2
			}
		}
	}
	return -1
}
