package tinymodel

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/ytrain/ytrain/internal/safetensors"
)

// Reference is an independent float64 forward pass of a float32 checkpoint,
// written from the transformers modeling code and sharing nothing with the
// decoder in package model, which tests compare against it.
type Reference struct {
	c refConfig
	w map[string][]float64
}

type refConfig struct {
	Hidden      int         `json:"hidden_size"`
	Inter       int         `json:"intermediate_size"`
	Layers      int         `json:"num_hidden_layers"`
	Heads       int         `json:"num_attention_heads"`
	KVHeads     int         `json:"num_key_value_heads"`
	HeadDim     int         `json:"head_dim"`
	Vocab       int         `json:"vocab_size"`
	RMSEps      float64     `json:"rms_norm_eps"`
	RopeTheta   float64     `json:"rope_theta"`
	RopeScaling *refScaling `json:"rope_scaling"`
	Arch        []string    `json:"architectures"`
}

type refScaling struct {
	Factor         float64 `json:"factor"`
	LowFreqFactor  float64 `json:"low_freq_factor"`
	HighFreqFactor float64 `json:"high_freq_factor"`
	OriginalMaxPos float64 `json:"original_max_position_embeddings"`
}

// NewReference loads dir's config.json and F32 model.safetensors.
func NewReference(dir string) (*Reference, error) {
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, err
	}
	var c refConfig
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, err
	}
	ck, err := safetensors.OpenDir(dir)
	if err != nil {
		return nil, err
	}
	defer ck.Close()
	r := &Reference{c: c, w: map[string][]float64{}}
	for name, t := range ck.Tensors {
		if t.DType != "F32" {
			return nil, fmt.Errorf("reference reads F32 checkpoints only")
		}
		v := make([]float64, len(t.Data)/4)
		for i := range v {
			v[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:])))
		}
		r.w[name] = v
	}
	return r, nil
}

// linear: y[o] = Σ_i W[o][i] x[i] + b[o], W stored (out, in).
func linear(W, b, x []float64, out int) []float64 {
	in := len(x)
	y := make([]float64, out)
	for o := 0; o < out; o++ {
		s := 0.0
		for i := 0; i < in; i++ {
			s += W[o*in+i] * x[i]
		}
		if b != nil {
			s += b[o]
		}
		y[o] = s
	}
	return y
}

func rms(x, w []float64, eps float64) []float64 {
	ss := 0.0
	for _, v := range x {
		ss += v * v
	}
	r := 1 / math.Sqrt(ss/float64(len(x))+eps)
	y := make([]float64, len(x))
	for i := range x {
		y[i] = w[i] * x[i] * r
	}
	return y
}

// invFreq follows transformers' default and "llama3" rope initialisation.
func (r *Reference) invFreq(hd int) []float64 {
	inv := make([]float64, hd/2)
	for i := range inv {
		f := 1 / math.Pow(r.c.RopeTheta, float64(2*i)/float64(hd))
		if s := r.c.RopeScaling; s != nil {
			wl := 2 * math.Pi / f
			if wl > s.OriginalMaxPos/s.LowFreqFactor {
				f /= s.Factor
			} else if wl >= s.OriginalMaxPos/s.HighFreqFactor {
				sm := (s.OriginalMaxPos/wl - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor)
				f = (1-sm)*f/s.Factor + sm*f
			}
		}
		inv[i] = f
	}
	return inv
}

// rotate applies RoPE to one head vector at position p.
func (r *Reference) rotate(x []float64, p int) []float64 {
	hd := len(x)
	inv := r.invFreq(hd)
	y := make([]float64, hd)
	for i := 0; i < hd/2; i++ {
		a := float64(p) * inv[i]
		cs, sn := math.Cos(a), math.Sin(a)
		y[i] = x[i]*cs - x[i+hd/2]*sn
		y[i+hd/2] = x[i+hd/2]*cs + x[i]*sn
	}
	return y
}

// Logits returns (T, V) logits for one row of ids with positions and
// segments (attention stays within a segment, causally).
func (r *Reference) Logits(ids, pos, seg []int) [][]float64 {
	c := r.c
	D, hd, nH, nKV := c.Hidden, c.HeadDim, c.Heads, c.KVHeads
	T := len(ids)
	h := make([][]float64, T)
	E := r.w["model.embed_tokens.weight"]
	for t, id := range ids {
		h[t] = append([]float64(nil), E[id*D:(id+1)*D]...)
	}
	for l := 0; l < c.Layers; l++ {
		p := fmt.Sprintf("model.layers.%d.", l)
		W := func(n string) []float64 { return r.w[p+n] }
		q := make([][][]float64, T) // [t][head][hd]
		k := make([][][]float64, T)
		v := make([][][]float64, T)
		for t := 0; t < T; t++ {
			x := rms(h[t], W("input_layernorm.weight"), c.RMSEps)
			qa := linear(W("self_attn.q_proj.weight"), W("self_attn.q_proj.bias"), x, nH*hd)
			ka := linear(W("self_attn.k_proj.weight"), W("self_attn.k_proj.bias"), x, nKV*hd)
			va := linear(W("self_attn.v_proj.weight"), W("self_attn.v_proj.bias"), x, nKV*hd)
			for hh := 0; hh < nH; hh++ {
				qh := qa[hh*hd : (hh+1)*hd]
				if r.c.Arch[0] == "Qwen3ForCausalLM" {
					qh = rms(qh, W("self_attn.q_norm.weight"), c.RMSEps)
				}
				q[t] = append(q[t], r.rotate(qh, pos[t]))
			}
			for hh := 0; hh < nKV; hh++ {
				kh := ka[hh*hd : (hh+1)*hd]
				if r.c.Arch[0] == "Qwen3ForCausalLM" {
					kh = rms(kh, W("self_attn.k_norm.weight"), c.RMSEps)
				}
				k[t] = append(k[t], r.rotate(kh, pos[t]))
				v[t] = append(v[t], va[hh*hd:(hh+1)*hd])
			}
		}
		next := make([][]float64, T)
		for t := 0; t < T; t++ {
			att := make([]float64, 0, nH*hd)
			for hh := 0; hh < nH; hh++ {
				g := hh / (nH / nKV)
				var ws []float64
				var js []int
				mx := math.Inf(-1)
				for j := 0; j <= t; j++ {
					if seg[j] != seg[t] {
						continue
					}
					s := 0.0
					for d := 0; d < hd; d++ {
						s += q[t][hh][d] * k[j][g][d]
					}
					s /= math.Sqrt(float64(hd))
					ws, js = append(ws, s), append(js, j)
					mx = math.Max(mx, s)
				}
				sum := 0.0
				for i := range ws {
					ws[i] = math.Exp(ws[i] - mx)
					sum += ws[i]
				}
				o := make([]float64, hd)
				for i, j := range js {
					for d := 0; d < hd; d++ {
						o[d] += ws[i] / sum * v[j][g][d]
					}
				}
				att = append(att, o...)
			}
			a := linear(W("self_attn.o_proj.weight"), nil, att, D)
			x := make([]float64, D)
			for d := range x {
				x[d] = h[t][d] + a[d]
			}
			y := rms(x, W("post_attention_layernorm.weight"), c.RMSEps)
			I := c.Inter
			g := linear(W("mlp.gate_proj.weight"), nil, y, I)
			u := linear(W("mlp.up_proj.weight"), nil, y, I)
			for i := range g {
				g[i] = g[i] / (1 + math.Exp(-g[i])) * u[i]
			}
			m := linear(W("mlp.down_proj.weight"), nil, g, D)
			for d := range x {
				x[d] += m[d]
			}
			next[t] = x
		}
		h = next
	}
	lm := r.w["lm_head.weight"]
	if lm == nil {
		lm = E
	}
	out := make([][]float64, T)
	for t := range h {
		out[t] = linear(lm, nil, rms(h[t], r.w["model.norm.weight"], c.RMSEps), c.Vocab)
	}
	return out
}
