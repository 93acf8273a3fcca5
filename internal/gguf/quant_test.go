package gguf

import (
	"encoding/binary"
	"math"
	"math/rand"
	"testing"
)

// Every binary16 value converts exactly: sign·mantissa·2^exponent
// computed in float64 for the finite ones.
func TestHalfToFloat(t *testing.T) {
	for h := range 1 << 16 {
		got := halfToFloat(uint16(h))
		exp, mant := h>>10&0x1f, float64(h&0x3ff)
		sign := 1.0
		if h>>15 == 1 {
			sign = -1
		}
		var want float64
		switch {
		case exp == 0x1f && mant == 0:
			want = math.Inf(int(sign))
		case exp == 0x1f:
			if !math.IsNaN(float64(got)) {
				t.Fatalf("%#04x: %v, want NaN", h, got)
			}
			continue
		case exp == 0:
			want = sign * mant * math.Pow(2, -24)
		default:
			want = sign * (1 + mant/1024) * math.Pow(2, float64(exp-15))
		}
		if float64(got) != want || math.Signbit(float64(got)) != (sign < 0) {
			t.Fatalf("%#04x: %v, want %v", h, got, want)
		}
	}
}

// randomBlocks are n blocks of type t with random bits, except that each
// f16 scale is a modest finite value (random bits would give NaNs).
func randomBlocks(rng *rand.Rand, t GGMLType, n int) []byte {
	tr := typeTraits[t]
	b := make([]byte, n*tr.bytes)
	rng.Read(b)
	var scales []int // byte offsets of f16 scales in a block
	switch t {
	case Q4_0, Q8_0, Q5_0:
		scales = []int{0}
	case Q4_1, Q5_1, Q4_K, Q5_K:
		scales = []int{0, 2}
	case Q6_K:
		scales = []int{208}
	}
	for i := range n {
		for _, s := range scales {
			// exponent 8…19 (2^-7…2^4), random sign and mantissa
			h := uint16(rng.Intn(2))<<15 | uint16(8+rng.Intn(12))<<10 | uint16(rng.Intn(1024))
			binary.LittleEndian.PutUint16(b[i*tr.bytes+s:], h)
		}
	}
	return b
}

// The reference dequantisers below follow ggml-quants.c's
// dequantize_row_* loops (a different walk over the bits than quant.go's,
// which follows gguf-py); both must give the same float32 bits.
func refDequant(t GGMLType, src []byte) []float32 {
	var y []float32
	h := func(b []byte) float32 { return halfToFloat(binary.LittleEndian.Uint16(b)) }
	switch t {
	case Q8_0:
		for x := src; len(x) > 0; x = x[34:] {
			d := h(x)
			for j := range 32 {
				y = append(y, float32(int8(x[2+j]))*d)
			}
		}
	case Q4_0, Q4_1:
		bs := map[GGMLType]int{Q4_0: 18, Q4_1: 20}[t]
		for x := src; len(x) > 0; x = x[bs:] {
			d := h(x)
			qs := x[2:]
			var m float32
			if t == Q4_1 {
				m, qs = h(x[2:]), x[4:]
			}
			out := make([]float32, 32)
			for j := range 16 {
				if t == Q4_0 {
					out[j] = float32(int(qs[j]&0xf)-8) * d
					out[j+16] = float32(int(qs[j]>>4)-8) * d
				} else {
					out[j] = float32(float32(qs[j]&0xf)*d) + m
					out[j+16] = float32(float32(qs[j]>>4)*d) + m
				}
			}
			y = append(y, out...)
		}
	case Q5_0, Q5_1:
		bs := map[GGMLType]int{Q5_0: 22, Q5_1: 24}[t]
		for x := src; len(x) > 0; x = x[bs:] {
			d := h(x)
			rest := x[2:]
			var m float32
			if t == Q5_1 {
				m, rest = h(x[2:]), x[4:]
			}
			qh := binary.LittleEndian.Uint32(rest)
			qs := rest[4:]
			out := make([]float32, 32)
			for j := range 16 {
				xh0 := byte((qh >> j) << 4 & 0x10)
				xh1 := byte((qh >> (j + 12)) & 0x10)
				x0, x1 := qs[j]&0xf|xh0, qs[j]>>4|xh1
				if t == Q5_0 {
					out[j] = float32(int(x0)-16) * d
					out[j+16] = float32(int(x1)-16) * d
				} else {
					out[j] = float32(float32(x0)*d) + m
					out[j+16] = float32(float32(x1)*d) + m
				}
			}
			y = append(y, out...)
		}
	case Q4_K, Q5_K:
		bs := map[GGMLType]int{Q4_K: 144, Q5_K: 176}[t]
		getScaleMin := func(j int, q []byte) (uint8, uint8) {
			if j < 4 {
				return q[j] & 63, q[j+4] & 63
			}
			return q[j+4]&0xf | (q[j-4]>>6)<<4, q[j+4]>>4 | (q[j]>>6)<<4
		}
		for x := src; len(x) > 0; x = x[bs:] {
			d, mn := h(x), h(x[2:])
			scales := x[4:16]
			ql, qh := x[16:], []byte(nil)
			if t == Q5_K {
				qh, ql = x[16:48], x[48:]
			}
			is := 0
			u1, u2 := byte(1), byte(2)
			for j := 0; j < qk; j += 64 {
				sc, m := getScaleMin(is, scales)
				d1, m1 := d*float32(sc), mn*float32(m)
				sc, m = getScaleMin(is+1, scales)
				d2, m2 := d*float32(sc), mn*float32(m)
				for l := range 32 {
					q := ql[l] & 0xf
					if qh != nil && qh[l]&u1 != 0 {
						q += 16
					}
					y = append(y, float32(d1*float32(q))-m1)
				}
				for l := range 32 {
					q := ql[l] >> 4
					if qh != nil && qh[l]&u2 != 0 {
						q += 16
					}
					y = append(y, float32(d2*float32(q))-m2)
				}
				ql = ql[32:]
				is += 2
				u1 <<= 2
				u2 <<= 2
			}
		}
	case Q6_K:
		for x := src; len(x) > 0; x = x[210:] {
			d := h(x[208:])
			ql, qh, sc := x[:128], x[128:192], x[192:208]
			out := make([]float32, qk)
			o := out
			for n := 0; n < qk; n += 128 {
				for l := range 32 {
					is := l / 16
					q1 := int8(ql[l]&0xf|(qh[l]>>0&3)<<4) - 32
					q2 := int8(ql[l+32]&0xf|(qh[l]>>2&3)<<4) - 32
					q3 := int8(ql[l]>>4|(qh[l]>>4&3)<<4) - 32
					q4 := int8(ql[l+32]>>4|(qh[l]>>6&3)<<4) - 32
					o[l] = d * float32(int8(sc[is])) * float32(q1)
					o[l+32] = d * float32(int8(sc[is+2])) * float32(q2)
					o[l+64] = d * float32(int8(sc[is+4])) * float32(q3)
					o[l+96] = d * float32(int8(sc[is+6])) * float32(q4)
				}
				o, ql, qh, sc = o[128:], ql[64:], qh[32:], sc[8:]
			}
			y = append(y, out...)
		}
	}
	return y
}

func TestDequantizeMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for _, ty := range []GGMLType{Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K} {
		src := randomBlocks(rng, ty, 9)
		want := refDequant(ty, src)
		got := make([]float32, 9*typeTraits[ty].block)
		if err := Dequantize(ty, src, got); err != nil {
			t.Fatal(err)
		}
		if len(want) != len(got) {
			t.Fatalf("%s: reference gave %d values, want %d", ty, len(want), len(got))
		}
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Errorf("%s: value %d = %v, reference %v", ty, i, got[i], want[i])
				break
			}
		}
	}
}

// f32ToHalf rounds to the nearest binary16 (ties to even), for the test
// quantisers; normal range only.
func f32ToHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23&0xff) - 127 + 15
	mant := b & 0x7fffff
	if f == 0 {
		return sign
	}
	if exp <= 0 || exp >= 31 {
		panic("f32ToHalf: out of the test's range")
	}
	h := uint32(exp)<<10 | mant>>13
	rest := mant & 0x1fff
	if rest > 0x1000 || rest == 0x1000 && h&1 == 1 {
		h++
	}
	return sign | uint16(h)
}

// Quantising real-valued data with ggml's Q8_0, Q4_0 and Q4_1 rules and
// dequantising it gives every value back within half a quantisation step
// (a step where Q4_0 clips):
// the scale and offset conventions of each block type are the right ones.
func TestQuantRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewSource(8))
	const n = 32 * 16
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	for _, ty := range []GGMLType{Q8_0, Q4_0, Q4_1} {
		tr := typeTraits[ty]
		src := make([]byte, 0, n/32*tr.bytes)
		steps := make([]float32, n/32)
		for b := 0; b < n/32; b++ {
			blk := x[32*b : 32*b+32]
			lo, hi, amax, imax := blk[0], blk[0], float32(0), 0
			for i, v := range blk {
				lo, hi = min(lo, v), max(hi, v)
				if a := float32(math.Abs(float64(v))); a > amax {
					amax, imax = a, i
				}
			}
			var d, m float32
			var q [32]int
			switch ty {
			case Q8_0:
				d = amax / 127
				for i, v := range blk {
					q[i] = int(math.Round(float64(v / d)))
				}
			case Q4_0:
				d = blk[imax] / -8
				for i, v := range blk {
					q[i] = min(15, int(v/d+8.5))
				}
			case Q4_1:
				d, m = (hi-lo)/15, lo
				for i, v := range blk {
					q[i] = min(15, int((v-lo)/d+0.5))
				}
			}
			dh := f32ToHalf(d)
			steps[b] = float32(math.Abs(float64(halfToFloat(dh))))
			src = binary.LittleEndian.AppendUint16(src, dh)
			switch ty {
			case Q8_0:
				for _, v := range q {
					src = append(src, byte(int8(v)))
				}
			case Q4_1:
				src = binary.LittleEndian.AppendUint16(src, f32ToHalf(m))
				fallthrough
			case Q4_0:
				for i := range 16 {
					src = append(src, byte(q[i])|byte(q[i+16])<<4)
				}
			}
		}
		got := make([]float32, n)
		if err := Dequantize(ty, src, got); err != nil {
			t.Fatal(err)
		}
		for i, v := range x {
			// half a step, plus what rounding d and m to f16 moves a value;
			// Q4_0's q-8 spans -8…7 steps, so on the side opposite the
			// block's largest magnitude a value may be clipped by a step
			tol := steps[i/32]*0.5 + 0.01
			if ty == Q4_0 {
				tol = steps[i/32] + 0.01
			}
			if d := math.Abs(float64(got[i] - v)); d > float64(tol) {
				t.Errorf("%s: value %d = %v, want %v ± %v", ty, i, got[i], v, tol)
				break
			}
		}
	}
}

func TestDequantizeSizes(t *testing.T) {
	if err := Dequantize(Q8_0, make([]byte, 33), make([]float32, 32)); err == nil {
		t.Error("33 bytes of Q8_0 accepted for 32 values")
	}
	if err := Dequantize(Q4_K, make([]byte, 144), make([]float32, 255)); err == nil {
		t.Error("255 values of Q4_K accepted")
	}
	if err := Dequantize(Q2_K, make([]byte, 84), make([]float32, 256)); err == nil {
		t.Error("Q2_K dequantised")
	}
	v := make([]float32, 2)
	if err := Dequantize(BF16, []byte{0x80, 0x3f, 0x00, 0xc0}, v); err != nil || v[0] != 1 || v[1] != -2 {
		t.Errorf("BF16 3f80, c000 = %v, %v; want 1, -2", v, err)
	}
	if err := Dequantize(F16, []byte{0x00, 0x3c, 0x00, 0xc0}, v); err != nil || v[0] != 1 || v[1] != -2 {
		t.Errorf("F16 3c00, c000 = %v, %v; want 1, -2", v, err)
	}
}
