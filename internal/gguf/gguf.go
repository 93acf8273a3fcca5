// Package gguf reads GGUF files, the model format of llama.cpp and ollama,
// and converts llama ones into a Hugging Face model folder (convert.go).
//
// A GGUF file is a header (magic, version, counts), key-value metadata, a
// table of tensor infos (name, dims, type, offset), then the tensor data,
// aligned. Open reads and checks everything but the data; a truncated or
// corrupt file is an error naming the file, the key or the tensor, never a
// panic: every length and offset is checked against the file's size before
// anything is allocated or sliced.
package gguf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
)

// magic is "GGUF" read as a little-endian uint32.
const magic = 0x46554747

// ValueType is the type of a metadata value.
type ValueType uint32

// The metadata value types of the GGUF specification.
const (
	TypeUint8 ValueType = iota
	TypeInt8
	TypeUint16
	TypeInt16
	TypeUint32
	TypeInt32
	TypeFloat32
	TypeBool
	TypeString
	TypeArray
	TypeUint64
	TypeInt64
	TypeFloat64
)

var valueTypeNames = [...]string{"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "bool", "string", "array", "uint64", "int64", "float64"}

func (t ValueType) String() string {
	if int(t) < len(valueTypeNames) {
		return valueTypeNames[t]
	}
	return fmt.Sprintf("type %d", uint32(t))
}

// size is the width of a scalar type; strings and arrays have none.
func (t ValueType) size() int64 {
	switch t {
	case TypeUint8, TypeInt8, TypeBool:
		return 1
	case TypeUint16, TypeInt16:
		return 2
	case TypeUint32, TypeInt32, TypeFloat32:
		return 4
	case TypeUint64, TypeInt64, TypeFloat64:
		return 8
	}
	return 0
}

// Value is one metadata value. Scalars are held as int64 (every integer
// type; uint64 values past MaxInt64 as uint64), float64, bool or string;
// arrays as []int64, []float64, []bool or []string, with Elem the type of
// their elements.
type Value struct {
	Type ValueType
	Elem ValueType // arrays only
	V    any
}

// File is an open GGUF file: its metadata and tensor table, with the data
// read on demand (ReadTensor), so that converting one costs one tensor's
// memory at a time.
type File struct {
	Path    string
	Version uint32
	KV      map[string]Value
	Keys    []string // in file order
	Tensors []*Tensor
	byName  map[string]*Tensor
	f       *os.File
	size    int64
	data    int64 // where the tensor data starts
}

// Tensor is one entry of the tensor table. Dims are in ggml's order, the
// fastest-varying first: the reverse of the PyTorch shape.
type Tensor struct {
	Name   string
	Dims   []uint64
	Type   GGMLType
	Offset uint64 // from the start of the data section
	Bytes  int64  // size of its data
}

// Numel is the tensor's element count.
func (t *Tensor) Numel() int64 {
	n := int64(1)
	for _, d := range t.Dims {
		n *= int64(d)
	}
	return n
}

// Shape is the PyTorch shape: Dims reversed.
func (t *Tensor) Shape() []int64 {
	s := make([]int64, len(t.Dims))
	for i, d := range t.Dims {
		s[len(s)-1-i] = int64(d)
	}
	return s
}

// Limits that no real file comes near; they keep a corrupt count from
// turning into a huge allocation or loop.
const (
	maxDims       = 4 // GGML_MAX_DIMS
	maxNameLen    = 64 << 10
	maxAlignment  = 1 << 20
	defaultAlign  = 32
	maxTensorElem = 1 << 48
)

// Open reads path's header, metadata and tensor table and checks that every
// tensor's data lies inside the file.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	gf := &File{Path: path, KV: map[string]Value{}, byName: map[string]*Tensor{}, f: f, size: st.Size()}
	if err := gf.parse(); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return gf, nil
}

// Close closes the file.
func (f *File) Close() error { return f.f.Close() }

// Tensor returns the tensor named name, or nil.
func (f *File) Tensor(name string) *Tensor { return f.byName[name] }

// reader reads the header through a buffer, counting its position so that
// every length can be checked against what is left of the file.
type reader struct {
	r    *bufio.Reader
	pos  int64
	size int64
}

var errTruncated = errors.New("unexpected end of file (truncated?)")

func (r *reader) left() int64 { return r.size - r.pos }

func (r *reader) bytes(n int64) ([]byte, error) {
	if n < 0 || n > r.left() {
		return nil, errTruncated
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r.r, b); err != nil {
		return nil, errTruncated
	}
	r.pos += n
	return b, nil
}

func (r *reader) u32() (uint32, error) {
	b, err := r.bytes(4)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

func (r *reader) u64() (uint64, error) {
	b, err := r.bytes(8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

func (r *reader) str() (string, error) {
	n, err := r.u64()
	if err != nil {
		return "", err
	}
	if n > uint64(r.left()) {
		return "", fmt.Errorf("string of %d bytes runs past the end of the file (%d bytes left)", n, r.left())
	}
	b, err := r.bytes(int64(n))
	return string(b), err
}

func (f *File) parse() error {
	r := &reader{r: bufio.NewReaderSize(f.f, 1<<16), size: f.size}
	m, err := r.u32()
	if err != nil {
		return fmt.Errorf("not a GGUF file (%d bytes)", f.size)
	}
	if m != magic {
		return fmt.Errorf("not a GGUF file: bad magic %q (want \"GGUF\")", binary.LittleEndian.AppendUint32(nil, m))
	}
	if f.Version, err = r.u32(); err != nil {
		return fmt.Errorf("header: %w", err)
	}
	switch {
	case f.Version == 2 || f.Version == 3:
	case f.Version&0xffff == 0 && f.Version != 0:
		return fmt.Errorf("GGUF version %d looks byte-swapped: big-endian GGUF files are not supported", f.Version)
	default:
		return fmt.Errorf("GGUF version %d is not supported (want 2 or 3)", f.Version)
	}
	nTensors, err := r.u64()
	if err != nil {
		return fmt.Errorf("header: %w", err)
	}
	nKV, err := r.u64()
	if err != nil {
		return fmt.Errorf("header: %w", err)
	}
	// each key-value pair takes at least 12 bytes, each tensor info 24
	if nKV > uint64(r.left()/12) {
		return fmt.Errorf("header: %d metadata keys cannot fit in %d bytes (corrupt or truncated)", nKV, r.left())
	}
	if nTensors > uint64(r.left()/24) {
		return fmt.Errorf("header: %d tensors cannot fit in %d bytes (corrupt or truncated)", nTensors, r.left())
	}
	for i := uint64(0); i < nKV; i++ {
		key, err := r.str()
		if err != nil {
			return fmt.Errorf("metadata key %d of %d: %w", i, nKV, err)
		}
		v, err := r.value()
		if err != nil {
			return fmt.Errorf("metadata %q: %w", key, err)
		}
		if _, dup := f.KV[key]; dup {
			return fmt.Errorf("metadata %q appears twice", key)
		}
		f.KV[key] = v
		f.Keys = append(f.Keys, key)
	}
	align := uint64(defaultAlign)
	if v, ok := f.KV["general.alignment"]; ok {
		a, isInt := v.V.(int64)
		if !isInt || a <= 0 || a > maxAlignment || a&(a-1) != 0 {
			return fmt.Errorf("general.alignment %v: want a power of two up to %d", v.V, maxAlignment)
		}
		align = uint64(a)
	}
	for i := uint64(0); i < nTensors; i++ {
		t, err := r.tensorInfo()
		if err != nil {
			if t != nil && t.Name != "" {
				return fmt.Errorf("tensor %q: %w", t.Name, err)
			}
			return fmt.Errorf("tensor %d of %d: %w", i, nTensors, err)
		}
		if _, dup := f.byName[t.Name]; dup {
			return fmt.Errorf("tensor %q appears twice", t.Name)
		}
		f.Tensors = append(f.Tensors, t)
		f.byName[t.Name] = t
	}
	f.data = int64((uint64(r.pos) + align - 1) / align * align)
	body := f.size - f.data
	for _, t := range f.Tensors {
		if t.Offset%align != 0 {
			return fmt.Errorf("tensor %q (%s): offset %d is not a multiple of the alignment %d", t.Name, t.Type, t.Offset, align)
		}
		if body < 0 || t.Offset > uint64(body) || uint64(t.Bytes) > uint64(body)-t.Offset {
			return fmt.Errorf("tensor %q (%s%v, %d bytes at data offset %d) runs past the end of the file: the data section has %d bytes (truncated?)",
				t.Name, t.Type, t.Dims, t.Bytes, t.Offset, max(body, 0))
		}
	}
	return nil
}

func (r *reader) tensorInfo() (*Tensor, error) {
	name, err := r.str()
	if err != nil {
		return nil, fmt.Errorf("name: %w", err)
	}
	if len(name) > maxNameLen {
		return nil, fmt.Errorf("name of %d bytes is too long", len(name))
	}
	t := &Tensor{Name: name}
	nd, err := r.u32()
	if err != nil {
		return t, err
	}
	if nd == 0 || nd > maxDims {
		return t, fmt.Errorf("%d dimensions: want 1 to %d", nd, maxDims)
	}
	n := uint64(1)
	for range nd {
		d, err := r.u64()
		if err != nil {
			return t, err
		}
		t.Dims = append(t.Dims, d)
		if d == 0 || d > maxTensorElem || n > maxTensorElem/d {
			return t, fmt.Errorf("dims %v: empty or too large", t.Dims)
		}
		n *= d
	}
	typ, err := r.u32()
	if err != nil {
		return t, err
	}
	t.Type = GGMLType(typ)
	if t.Offset, err = r.u64(); err != nil {
		return t, err
	}
	tr, ok := typeTraits[t.Type]
	if !ok {
		return t, fmt.Errorf("unknown tensor type %s", t.Type)
	}
	if t.Dims[0]%uint64(tr.block) != 0 {
		return t, fmt.Errorf("%s rows of %d values are not whole %d-value blocks", t.Type, t.Dims[0], tr.block)
	}
	t.Bytes = int64(n / uint64(tr.block) * uint64(tr.bytes))
	return t, nil
}

func (r *reader) value() (Value, error) {
	t, err := r.u32()
	if err != nil {
		return Value{}, err
	}
	vt := ValueType(t)
	if vt != TypeArray {
		v, err := r.scalar(vt)
		return Value{Type: vt, V: v}, err
	}
	et, err := r.u32()
	if err != nil {
		return Value{}, err
	}
	elem := ValueType(et)
	n, err := r.u64()
	if err != nil {
		return Value{}, err
	}
	width := elem.size()
	switch {
	case elem == TypeString:
		width = 8 // at least its length
	case elem == TypeArray:
		return Value{}, errors.New("arrays of arrays are not supported")
	case width == 0:
		return Value{}, fmt.Errorf("array of unknown %s", elem)
	}
	if n > uint64(r.left()/width) {
		return Value{}, fmt.Errorf("array of %d %s values runs past the end of the file (%d bytes left)", n, elem, r.left())
	}
	v := Value{Type: TypeArray, Elem: elem}
	switch elem {
	case TypeString:
		a := make([]string, n)
		for i := range a {
			if a[i], err = r.str(); err != nil {
				return v, fmt.Errorf("element %d: %w", i, err)
			}
		}
		v.V = a
	case TypeFloat32, TypeFloat64:
		a := make([]float64, n)
		for i := range a {
			x, err := r.scalar(elem)
			if err != nil {
				return v, err
			}
			a[i] = x.(float64)
		}
		v.V = a
	case TypeBool:
		a := make([]bool, n)
		for i := range a {
			x, err := r.scalar(elem)
			if err != nil {
				return v, err
			}
			a[i] = x.(bool)
		}
		v.V = a
	default:
		a := make([]int64, n)
		for i := range a {
			x, err := r.scalar(elem)
			if err != nil {
				return v, err
			}
			switch x := x.(type) {
			case int64:
				a[i] = x
			default:
				return v, fmt.Errorf("element %d: %v does not fit an int64", i, x)
			}
		}
		v.V = a
	}
	return v, nil
}

func (r *reader) scalar(t ValueType) (any, error) {
	if t == TypeString {
		return r.str()
	}
	w := t.size()
	if w == 0 {
		return nil, fmt.Errorf("unknown value %s", t)
	}
	b, err := r.bytes(w)
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	switch t {
	case TypeUint8:
		return int64(b[0]), nil
	case TypeInt8:
		return int64(int8(b[0])), nil
	case TypeUint16:
		return int64(le.Uint16(b)), nil
	case TypeInt16:
		return int64(int16(le.Uint16(b))), nil
	case TypeUint32:
		return int64(le.Uint32(b)), nil
	case TypeInt32:
		return int64(int32(le.Uint32(b))), nil
	case TypeUint64:
		if u := le.Uint64(b); u > math.MaxInt64 {
			return u, nil
		} else {
			return int64(u), nil
		}
	case TypeInt64:
		return int64(le.Uint64(b)), nil
	case TypeFloat32:
		// the shortest decimal that is this float32, so that 1e-5 stored
		// as float32 reads as 1e-5, not 9.999999747378752e-06
		f := math.Float32frombits(le.Uint32(b))
		x, _ := strconv.ParseFloat(strconv.FormatFloat(float64(f), 'g', -1, 32), 64)
		return x, nil
	case TypeFloat64:
		return math.Float64frombits(le.Uint64(b)), nil
	case TypeBool:
		if b[0] > 1 {
			return nil, fmt.Errorf("bool byte %d", b[0])
		}
		return b[0] == 1, nil
	}
	return nil, fmt.Errorf("unknown value %s", t)
}

// ReadTensor returns the raw bytes of t's data.
func (f *File) ReadTensor(t *Tensor) ([]byte, error) {
	b := make([]byte, t.Bytes)
	if _, err := f.f.ReadAt(b, f.data+int64(t.Offset)); err != nil {
		return nil, fmt.Errorf("%s: tensor %q (%s): %w", f.Path, t.Name, t.Type, err)
	}
	return b, nil
}

// Float32 returns t's values, dequantised, in PyTorch's row-major order.
func (f *File) Float32(t *Tensor) ([]float32, error) {
	if _, ok := dequantizers[t.Type]; !ok {
		return nil, fmt.Errorf("%s: tensor %q has type %s, which cannot be dequantised (supported: %s)", f.Path, t.Name, t.Type, supportedTypes())
	}
	b, err := f.ReadTensor(t)
	if err != nil {
		return nil, err
	}
	out := make([]float32, t.Numel())
	if err := Dequantize(t.Type, b, out); err != nil {
		return nil, fmt.Errorf("%s: tensor %q: %w", f.Path, t.Name, err)
	}
	return out, nil
}

// Metadata accessors: each reports whether the key is present and errors
// when it has another type.

// String returns a string value.
func (f *File) String(key string) (string, bool, error) {
	v, ok := f.KV[key]
	if !ok {
		return "", false, nil
	}
	s, isStr := v.V.(string)
	if !isStr {
		return "", true, fmt.Errorf("%s: metadata %q is a %s, want a string", f.Path, key, v.Type)
	}
	return s, true, nil
}

// Int returns an integer value (any of the integer types).
func (f *File) Int(key string) (int64, bool, error) {
	v, ok := f.KV[key]
	if !ok {
		return 0, false, nil
	}
	n, isInt := v.V.(int64)
	if !isInt || v.Type == TypeBool {
		return 0, true, fmt.Errorf("%s: metadata %q is a %s %v, want an integer", f.Path, key, v.Type, v.V)
	}
	return n, true, nil
}

// Float returns a float value; integers are accepted too.
func (f *File) Float(key string) (float64, bool, error) {
	v, ok := f.KV[key]
	if !ok {
		return 0, false, nil
	}
	switch x := v.V.(type) {
	case float64:
		return x, true, nil
	case int64:
		return float64(x), true, nil
	}
	return 0, true, fmt.Errorf("%s: metadata %q is a %s, want a number", f.Path, key, v.Type)
}

// Bool returns a bool value.
func (f *File) Bool(key string) (bool, bool, error) {
	v, ok := f.KV[key]
	if !ok {
		return false, false, nil
	}
	b, isBool := v.V.(bool)
	if !isBool {
		return false, true, fmt.Errorf("%s: metadata %q is a %s, want a bool", f.Path, key, v.Type)
	}
	return b, true, nil
}

// Strings returns an array of strings.
func (f *File) Strings(key string) ([]string, bool, error) {
	v, ok := f.KV[key]
	if !ok {
		return nil, false, nil
	}
	a, isArr := v.V.([]string)
	if !isArr {
		return nil, true, fmt.Errorf("%s: metadata %q is a %s of %s, want an array of strings", f.Path, key, v.Type, v.Elem)
	}
	return a, true, nil
}

// Ints returns an array of integers.
func (f *File) Ints(key string) ([]int64, bool, error) {
	v, ok := f.KV[key]
	if !ok {
		return nil, false, nil
	}
	a, isArr := v.V.([]int64)
	if !isArr {
		return nil, true, fmt.Errorf("%s: metadata %q is a %s of %s, want an array of integers", f.Path, key, v.Type, v.Elem)
	}
	return a, true, nil
}
