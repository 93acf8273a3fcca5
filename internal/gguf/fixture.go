package gguf

import (
	"fmt"
	"math/rand"
)

// Tiny describes a small random llama for fixtures (TinyLlama).
type Tiny struct {
	Layers, Hidden, Heads, KVHeads, Inter int
	Tied                                  bool
	Pre                                   string // tokenizer.ggml.pre; "" for "smollm"
	Arch                                  string // general.architecture; "" for "llama"
	Seed                                  int64
}

// TinySpecials are the control tokens of TinyLlama's vocab, ids 0…2 as in
// SmolLM2's; TinyUser is its one user-defined token, id 3.
var (
	TinySpecials = []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>"}
	TinyUser     = "<tool>"
)

// TinyMerges are TinyLlama's merges, in byte-level form.
var TinyMerges = []string{"Ġ t", "h e", "Ġt he", "i n", "Ġ a", "e r", "Ġ s", "o n", "1 2"}

// TinyTemplate is TinyLlama's chat template (ChatML).
const TinyTemplate = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"

// byteLevel is GPT-2's bytes_to_unicode: the char that stands for each byte
// in a byte-level BPE vocab.
func byteLevel() (t [256]string) {
	next := rune(0x100)
	for b := range 256 {
		if b >= '!' && b <= '~' || b >= 0xA1 && b <= 0xAC || b >= 0xAE {
			t[b] = string(rune(b))
		} else {
			t[b] = string(next)
			next++
		}
	}
	return t
}

// TinyLlama builds the GGUF of a small random llama with a byte-level BPE
// vocab (specials, a user-defined token, all 256 bytes, the merged tokens),
// stored as convert_hf_to_gguf.py stores one: q and k rows permuted, F32.
// It also returns the weights under their Hugging Face names, unpermuted:
// what converting the file must give back.
func TinyLlama(o Tiny) (*Builder, map[string][]float32) {
	if o.Pre == "" {
		o.Pre = "smollm"
	}
	if o.Arch == "" {
		o.Arch = "llama"
	}
	rng := rand.New(rand.NewSource(o.Seed))
	tokens := append(append([]string{}, TinySpecials...), TinyUser)
	types := []int32{tokControl, tokControl, tokControl, tokUserDefined}
	for _, c := range byteLevel() {
		tokens = append(tokens, c)
		types = append(types, tokNormal)
	}
	for _, m := range TinyMerges {
		var a, b string
		fmt.Sscan(m, &a, &b)
		tokens = append(tokens, a+b)
		types = append(types, tokNormal)
	}
	vocab := len(tokens)
	hd := o.Hidden / o.Heads
	var bld Builder
	bld.Set("general.architecture", o.Arch)
	bld.Set("general.name", "tiny")
	bld.Set("llama.block_count", uint32(o.Layers))
	bld.Set("llama.context_length", uint32(256))
	bld.Set("llama.embedding_length", uint32(o.Hidden))
	bld.Set("llama.feed_forward_length", uint32(o.Inter))
	bld.Set("llama.attention.head_count", uint32(o.Heads))
	bld.Set("llama.attention.head_count_kv", uint32(o.KVHeads))
	bld.Set("llama.rope.freq_base", float32(100000))
	bld.Set("llama.attention.layer_norm_rms_epsilon", float32(1e-5))
	bld.Set("llama.rope.dimension_count", uint32(hd))
	bld.Set("llama.vocab_size", uint32(vocab))
	bld.Set("tokenizer.ggml.model", "gpt2")
	bld.Set("tokenizer.ggml.pre", o.Pre)
	bld.Set("tokenizer.ggml.tokens", tokens)
	bld.Set("tokenizer.ggml.token_type", types)
	bld.Set("tokenizer.ggml.merges", TinyMerges)
	bld.Set("tokenizer.ggml.bos_token_id", uint32(1))
	bld.Set("tokenizer.ggml.eos_token_id", uint32(2))
	bld.Set("tokenizer.ggml.unknown_token_id", uint32(0))
	bld.Set("tokenizer.ggml.padding_token_id", uint32(2))
	bld.Set("tokenizer.chat_template", TinyTemplate)

	hf := map[string][]float32{}
	add := func(gg, name string, shape []int64, heads int, norm bool) {
		n := int64(1)
		for _, d := range shape {
			n *= d
		}
		v := make([]float32, n)
		for i := range v {
			if norm {
				v[i] = 1 + 0.3*float32(rng.NormFloat64())
			} else {
				v[i] = 0.15 * float32(rng.NormFloat64())
			}
		}
		hf[name] = v
		if heads > 0 {
			v = permute(v, heads, int(shape[1]))
		}
		bld.AddF32(gg, shape, v)
	}
	h, q, kv, in := int64(o.Hidden), int64(o.Heads*hd), int64(o.KVHeads*hd), int64(o.Inter)
	add("token_embd.weight", "model.embed_tokens.weight", []int64{int64(vocab), h}, 0, false)
	for l := range o.Layers {
		p := fmt.Sprintf("blk.%d.", l)
		m := fmt.Sprintf("model.layers.%d.", l)
		add(p+"attn_norm.weight", m+"input_layernorm.weight", []int64{h}, 0, true)
		add(p+"attn_q.weight", m+"self_attn.q_proj.weight", []int64{q, h}, o.Heads, false)
		add(p+"attn_k.weight", m+"self_attn.k_proj.weight", []int64{kv, h}, o.KVHeads, false)
		add(p+"attn_v.weight", m+"self_attn.v_proj.weight", []int64{kv, h}, 0, false)
		add(p+"attn_output.weight", m+"self_attn.o_proj.weight", []int64{h, q}, 0, false)
		add(p+"ffn_norm.weight", m+"post_attention_layernorm.weight", []int64{h}, 0, true)
		add(p+"ffn_gate.weight", m+"mlp.gate_proj.weight", []int64{in, h}, 0, false)
		add(p+"ffn_up.weight", m+"mlp.up_proj.weight", []int64{in, h}, 0, false)
		add(p+"ffn_down.weight", m+"mlp.down_proj.weight", []int64{h, in}, 0, false)
	}
	add("output_norm.weight", "model.norm.weight", []int64{h}, 0, true)
	if !o.Tied {
		add("output.weight", "lm_head.weight", []int64{int64(vocab), h}, 0, false)
	}
	return &bld, hf
}

// permute is convert_hf_to_gguf.py's permute of q_proj/k_proj rows, written
// as its reshape: (heads, 2, half, cols) → swap the middle axes → (heads,
// half, 2, cols).
func permute(w []float32, heads, cols int) []float32 {
	rows := len(w) / cols
	half := rows / heads / 2
	out := make([]float32, 0, len(w))
	for h := range heads {
		for i := range half {
			for j := range 2 {
				r := (h*2+j)*half + i
				out = append(out, w[r*cols:(r+1)*cols]...)
			}
		}
	}
	return out
}
