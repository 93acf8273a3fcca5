package gguf

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
)

// Builder assembles a GGUF file (version 3) in memory, laid out as gguf-py's
// GGUFWriter lays it out. It exists for fixtures: the tests here and
// convert's scripts build small files with it, including broken ones.
type Builder struct {
	Alignment int // 0: 32
	kv        bytes.Buffer
	nKV       int
	tensors   []builderTensor
}

type builderTensor struct {
	name string
	dims []uint64
	typ  GGMLType
	data []byte
}

// Set adds a metadata key. v's Go type picks the GGUF type: uint8 … int64,
// float32, float64, bool, string, or a slice of one of them (an array).
func (b *Builder) Set(key string, v any) {
	b.nKV++
	putStr(&b.kv, key)
	putValue(&b.kv, v)
}

// AddTensor adds a tensor: dims in ggml order (fastest first), data already
// encoded in typ.
func (b *Builder) AddTensor(name string, typ GGMLType, dims []uint64, data []byte) {
	b.tensors = append(b.tensors, builderTensor{name, dims, typ, data})
}

// AddF32 adds a float32 tensor of PyTorch shape shape (reversed into dims).
func (b *Builder) AddF32(name string, shape []int64, v []float32) {
	dims := make([]uint64, len(shape))
	for i, d := range shape {
		dims[len(shape)-1-i] = uint64(d)
	}
	data := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(x))
	}
	b.AddTensor(name, F32, dims, data)
}

// Bytes is the file.
func (b *Builder) Bytes() []byte {
	align := b.Alignment
	if align == 0 {
		align = defaultAlign
	}
	var out bytes.Buffer
	le := binary.LittleEndian
	binary.Write(&out, le, uint32(magic))
	binary.Write(&out, le, uint32(3))
	binary.Write(&out, le, uint64(len(b.tensors)))
	binary.Write(&out, le, uint64(b.nKV))
	out.Write(b.kv.Bytes())
	off := 0
	for _, t := range b.tensors {
		putStr(&out, t.name)
		binary.Write(&out, le, uint32(len(t.dims)))
		for _, d := range t.dims {
			binary.Write(&out, le, d)
		}
		binary.Write(&out, le, uint32(t.typ))
		binary.Write(&out, le, uint64(off))
		off += (len(t.data) + align - 1) / align * align
	}
	pad := func() {
		for out.Len()%align != 0 {
			out.WriteByte(0)
		}
	}
	pad()
	for _, t := range b.tensors {
		out.Write(t.data)
		pad()
	}
	return out.Bytes()
}

func putStr(w *bytes.Buffer, s string) {
	binary.Write(w, binary.LittleEndian, uint64(len(s)))
	w.WriteString(s)
}

func putValue(w *bytes.Buffer, v any) {
	le := binary.LittleEndian
	typeOf := func(v any) ValueType {
		switch v.(type) {
		case uint8:
			return TypeUint8
		case int8:
			return TypeInt8
		case uint16:
			return TypeUint16
		case int16:
			return TypeInt16
		case uint32:
			return TypeUint32
		case int32:
			return TypeInt32
		case float32:
			return TypeFloat32
		case bool:
			return TypeBool
		case string:
			return TypeString
		case uint64:
			return TypeUint64
		case int64:
			return TypeInt64
		case float64:
			return TypeFloat64
		}
		panic(fmt.Sprintf("gguf.Builder: no GGUF type for %T", v))
	}
	scalar := func(v any) {
		switch x := v.(type) {
		case string:
			putStr(w, x)
		case bool:
			if x {
				w.WriteByte(1)
			} else {
				w.WriteByte(0)
			}
		default:
			binary.Write(w, le, x)
		}
	}
	array := func(elem ValueType, n int, item func(i int) any) {
		binary.Write(w, le, uint32(TypeArray))
		binary.Write(w, le, uint32(elem))
		binary.Write(w, le, uint64(n))
		for i := range n {
			scalar(item(i))
		}
	}
	switch x := v.(type) {
	case []string:
		array(TypeString, len(x), func(i int) any { return x[i] })
	case []int32:
		array(TypeInt32, len(x), func(i int) any { return x[i] })
	case []uint32:
		array(TypeUint32, len(x), func(i int) any { return x[i] })
	case []int64:
		array(TypeInt64, len(x), func(i int) any { return x[i] })
	case []float32:
		array(TypeFloat32, len(x), func(i int) any { return x[i] })
	case []bool:
		array(TypeBool, len(x), func(i int) any { return x[i] })
	default:
		binary.Write(w, le, uint32(typeOf(v)))
		scalar(v)
	}
}
