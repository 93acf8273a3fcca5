package gguf

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"strings"
)

// GGMLType is a tensor's storage type: a float width or a block quantisation.
type GGMLType uint32

// The ggml types this package knows the size of (ggml.h's enum ggml_type).
const (
	F32  GGMLType = 0
	F16  GGMLType = 1
	Q4_0 GGMLType = 2
	Q4_1 GGMLType = 3
	Q5_0 GGMLType = 6
	Q5_1 GGMLType = 7
	Q8_0 GGMLType = 8
	Q8_1 GGMLType = 9
	Q2_K GGMLType = 10
	Q3_K GGMLType = 11
	Q4_K GGMLType = 12
	Q5_K GGMLType = 13
	Q6_K GGMLType = 14
	Q8_K GGMLType = 15
	I8   GGMLType = 24
	I16  GGMLType = 25
	I32  GGMLType = 26
	I64  GGMLType = 27
	F64  GGMLType = 28
	BF16 GGMLType = 30
)

// traits: a block of `block` values takes `bytes` bytes.
type traits struct {
	name         string
	block, bytes int
}

const qk = 256 // values in a K-quant super-block

// typeTraits are the sizes of the types whose tensors Open accepts (the
// IQ* and ternary types are left out: their sizes would let Open skip over
// them, but nothing here reads them, so they are refused as unknown).
var typeTraits = map[GGMLType]traits{
	F32: {"F32", 1, 4}, F16: {"F16", 1, 2}, BF16: {"BF16", 1, 2}, F64: {"F64", 1, 8},
	I8: {"I8", 1, 1}, I16: {"I16", 1, 2}, I32: {"I32", 1, 4}, I64: {"I64", 1, 8},
	Q4_0: {"Q4_0", 32, 2 + 16}, Q4_1: {"Q4_1", 32, 2 + 2 + 16},
	Q5_0: {"Q5_0", 32, 2 + 4 + 16}, Q5_1: {"Q5_1", 32, 2 + 2 + 4 + 16},
	Q8_0: {"Q8_0", 32, 2 + 32}, Q8_1: {"Q8_1", 32, 4 + 4 + 32},
	Q2_K: {"Q2_K", qk, 2 + 2 + qk/16 + qk/4},
	Q3_K: {"Q3_K", qk, 2 + qk/4 + qk/8 + 12},
	Q4_K: {"Q4_K", qk, 2 + 2 + qk/2 + 12},
	Q5_K: {"Q5_K", qk, 2 + 2 + qk/2 + qk/8 + 12},
	Q6_K: {"Q6_K", qk, 2 + qk/2 + qk/4 + qk/16},
	Q8_K: {"Q8_K", qk, 4 + qk + qk/8},
}

func (t GGMLType) String() string {
	if tr, ok := typeTraits[t]; ok {
		return tr.name
	}
	return fmt.Sprintf("ggml type %d", uint32(t))
}

// dequantizer turns whole blocks of src into len(dst) values.
type dequantizer func(src []byte, dst []float32)

var dequantizers = map[GGMLType]dequantizer{
	F32: deqF32, F16: deqF16, BF16: deqBF16,
	Q8_0: deqQ8_0, Q4_0: deqQ4_0, Q4_1: deqQ4_1, Q5_0: deqQ5_0, Q5_1: deqQ5_1,
	Q4_K: deqQ4_K, Q5_K: deqQ5_K, Q6_K: deqQ6_K,
}

func supportedTypes() string {
	var names []string
	for t := range dequantizers {
		names = append(names, t.String())
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// Dequantize turns src, whole blocks of type t, into dst. It errors when
// the sizes disagree or t is not one it reads.
//
// The arithmetic is float32, in the order of gguf-py's quants.py (which
// transformers dequantises with), so that both give the same bits; each
// product is rounded with an explicit float32 conversion, which keeps Go
// from fusing it into the following add.
func Dequantize(t GGMLType, src []byte, dst []float32) error {
	deq, ok := dequantizers[t]
	if !ok {
		return fmt.Errorf("type %s cannot be dequantised (supported: %s)", t, supportedTypes())
	}
	tr := typeTraits[t]
	if len(dst)%tr.block != 0 || len(src) != len(dst)/tr.block*tr.bytes {
		return fmt.Errorf("%s: %d bytes do not hold %d values", t, len(src), len(dst))
	}
	deq(src, dst)
	return nil
}

var le = binary.LittleEndian

func f16(b []byte) float32 { return halfToFloat(le.Uint16(b)) }

// halfToFloat converts IEEE binary16 bits to float32 exactly.
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // inf, NaN
		return math.Float32frombits(sign | 0xff<<23 | mant<<13)
	case exp == 0 && mant == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: normalise
		e := uint32(127 - 15 + 1)
		for mant&0x400 == 0 {
			mant <<= 1
			e--
		}
		return math.Float32frombits(sign | e<<23 | (mant&0x3ff)<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

func deqF32(src []byte, dst []float32) {
	for i := range dst {
		dst[i] = math.Float32frombits(le.Uint32(src[4*i:]))
	}
}

func deqF16(src []byte, dst []float32) {
	for i := range dst {
		dst[i] = f16(src[2*i:])
	}
}

func deqBF16(src []byte, dst []float32) {
	for i := range dst {
		dst[i] = math.Float32frombits(uint32(le.Uint16(src[2*i:])) << 16)
	}
}

// Q8_0: f16 scale d, 32 int8 q; w = d·q.
func deqQ8_0(src []byte, dst []float32) {
	for b := 0; b < len(dst)/32; b++ {
		blk, out := src[b*34:(b+1)*34], dst[b*32:(b+1)*32]
		d := f16(blk)
		for i := range 32 {
			out[i] = float32(int8(blk[2+i])) * d
		}
	}
}

// Q4_0: f16 scale d, 16 bytes of 4-bit q (low nibbles are values 0-15,
// high nibbles 16-31); w = d·(q-8).
func deqQ4_0(src []byte, dst []float32) {
	for b := 0; b < len(dst)/32; b++ {
		blk, out := src[b*18:(b+1)*18], dst[b*32:(b+1)*32]
		d := f16(blk)
		for i := range 16 {
			q := blk[2+i]
			out[i] = d * float32(int8(q&0xf)-8)
			out[i+16] = d * float32(int8(q>>4)-8)
		}
	}
}

// Q4_1: f16 scale d, f16 min m, 4-bit q as in Q4_0; w = d·q + m.
func deqQ4_1(src []byte, dst []float32) {
	for b := 0; b < len(dst)/32; b++ {
		blk, out := src[b*20:(b+1)*20], dst[b*32:(b+1)*32]
		d, m := f16(blk), f16(blk[2:])
		for i := range 16 {
			q := blk[4+i]
			out[i] = float32(d*float32(q&0xf)) + m
			out[i+16] = float32(d*float32(q>>4)) + m
		}
	}
}

// Q5_0: f16 d, 32 high bits (uint32), 16 bytes of low nibbles; w = d·(q-16).
func deqQ5_0(src []byte, dst []float32) {
	for b := 0; b < len(dst)/32; b++ {
		blk, out := src[b*22:(b+1)*22], dst[b*32:(b+1)*32]
		d, qh := f16(blk), le.Uint32(blk[2:])
		for i := range 16 {
			q := blk[6+i]
			lo := q&0xf | byte(qh>>i&1)<<4
			hi := q>>4 | byte(qh>>(i+16)&1)<<4
			out[i] = d * float32(int8(lo)-16)
			out[i+16] = d * float32(int8(hi)-16)
		}
	}
}

// Q5_1: f16 d, f16 m, high bits and nibbles as Q5_0; w = d·q + m.
func deqQ5_1(src []byte, dst []float32) {
	for b := 0; b < len(dst)/32; b++ {
		blk, out := src[b*24:(b+1)*24], dst[b*32:(b+1)*32]
		d, m, qh := f16(blk), f16(blk[2:]), le.Uint32(blk[4:])
		for i := range 16 {
			q := blk[8+i]
			lo := q&0xf | byte(qh>>i&1)<<4
			hi := q>>4 | byte(qh>>(i+16)&1)<<4
			out[i] = float32(d*float32(lo)) + m
			out[i+16] = float32(d*float32(hi)) + m
		}
	}
}

// scaleMinK unpacks the eight 6-bit scales and mins of a Q4_K or Q5_K block
// from its 12 scale bytes.
func scaleMinK(s []byte) (sc, mn [8]uint8) {
	for j := range 4 {
		sc[j] = s[j] & 63
		mn[j] = s[j+4] & 63
		sc[j+4] = s[j+8]&0xf | (s[j]>>6)<<4
		mn[j+4] = s[j+8]>>4 | (s[j+4]>>6)<<4
	}
	return sc, mn
}

// Q4_K: super-blocks of 256: f16 d, f16 dmin, 12 scale bytes, 128 bytes of
// nibbles; 8 sub-blocks of 32, w = (d·sc)·q - dmin·m.
func deqQ4_K(src []byte, dst []float32) {
	for b := 0; b < len(dst)/qk; b++ {
		blk, out := src[b*144:(b+1)*144], dst[b*qk:(b+1)*qk]
		d, dmin := f16(blk), f16(blk[2:])
		sc, mn := scaleMinK(blk[4:16])
		qs := blk[16:]
		for j := range 8 { // sub-block j: nibbles of bytes 32·(j/2)…, low for even j
			dl, ml := d*float32(sc[j]), dmin*float32(mn[j])
			shift := 4 * uint(j%2)
			for i := range 32 {
				q := qs[32*(j/2)+i] >> shift & 0xf
				out[32*j+i] = float32(dl*float32(q)) - ml
			}
		}
	}
}

// Q5_K: Q4_K plus 32 bytes of high bits (bit j of byte i for sub-block j).
func deqQ5_K(src []byte, dst []float32) {
	for b := 0; b < len(dst)/qk; b++ {
		blk, out := src[b*176:(b+1)*176], dst[b*qk:(b+1)*qk]
		d, dmin := f16(blk), f16(blk[2:])
		sc, mn := scaleMinK(blk[4:16])
		qh, qs := blk[16:48], blk[48:]
		for j := range 8 {
			dl, ml := d*float32(sc[j]), dmin*float32(mn[j])
			shift := 4 * uint(j%2)
			for i := range 32 {
				q := qs[32*(j/2)+i]>>shift&0xf | (qh[i]>>uint(j)&1)<<4
				out[32*j+i] = float32(dl*float32(q)) - ml
			}
		}
	}
}

// Q6_K: 128 bytes of low nibbles, 64 of high 2-bit pairs, 16 int8 scales,
// f16 d; 16 sub-blocks of 16, w = (d·sc)·(q-32).
func deqQ6_K(src []byte, dst []float32) {
	for b := 0; b < len(dst)/qk; b++ {
		blk, out := src[b*210:(b+1)*210], dst[b*qk:(b+1)*qk]
		ql, qh, scales := blk[:128], blk[128:192], blk[192:208]
		d := f16(blk[208:])
		for n := range 2 { // two halves of 128 values
			for g := range 4 { // groups of 32 within a half
				for i := range 32 {
					lo := ql[64*n+32*(g%2)+i] >> (4 * uint(g/2)) & 0xf
					hi := qh[32*n+i] >> (2 * uint(g)) & 3
					q := int8(lo|hi<<4) - 32
					idx := 128*n + 32*g + i
					out[idx] = d * float32(int8(scales[idx/16])) * float32(q)
				}
			}
		}
	}
}
