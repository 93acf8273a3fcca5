// Package tinymodel writes small random Hugging Face checkpoints
// (config.json + model.safetensors) of each supported architecture, so tests,
// benchmarks and the demo exercise the same loading path as real models
// without downloading any.
package tinymodel

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"os"
	"path/filepath"

	"github.com/ytrain/ytrain/internal/safetensors"
)

// Spec describes a checkpoint. Zero fields take small defaults.
type Spec struct {
	Arch                                         string // LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM
	Vocab, Hidden, Layers, Heads, KVHeads, Inter int
	HeadDim                                      int // default Hidden/Heads
	Tied                                         bool
	DType                                        string // F32 (default) or BF16
	RopeTheta                                    float64
	Llama3Rope                                   bool // add Llama 3.1 rope_scaling
	Seed                                         int64
	// InitStd > 0 draws every matrix with this std and norms at exactly 1, as
	// pre-training from scratch wants (GPT-2's 0.02); 0 keeps the wide
	// 1/√fan_in draw that makes numeric tests sensitive.
	InitStd float64
	// BOS and EOS are the config's token ids; nil writes null (no such token).
	// Both nil: 0 and 1.
	BOS, EOS *int
}

func (s *Spec) defaults() {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	if s.Arch == "" {
		s.Arch = "Qwen3ForCausalLM"
	}
	def(&s.Vocab, 256)
	def(&s.Hidden, 64)
	def(&s.Layers, 2)
	def(&s.Heads, 4)
	def(&s.KVHeads, 2)
	def(&s.Inter, 128)
	def(&s.HeadDim, s.Hidden/s.Heads)
	if s.DType == "" {
		s.DType = "F32"
	}
	if s.RopeTheta == 0 {
		s.RopeTheta = 10000
	}
	if s.BOS == nil && s.EOS == nil {
		s.BOS, s.EOS = intPtr(0), intPtr(1)
	}
}

// intPtr is a *int for Spec's optional ids.
func intPtr(v int) *int { return &v }

var modelType = map[string]string{
	"LlamaForCausalLM": "llama", "MistralForCausalLM": "mistral",
	"Qwen2ForCausalLM": "qwen2", "Qwen3ForCausalLM": "qwen3",
}

// Write creates dir (if needed) and writes the checkpoint into it.
func Write(dir string, s Spec) error {
	s.defaults()
	mt, ok := modelType[s.Arch]
	if !ok {
		return fmt.Errorf("tinymodel: unknown architecture %q", s.Arch)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	torchDType := map[string]string{"F32": "float32", "BF16": "bfloat16"}[s.DType]
	if torchDType == "" {
		return fmt.Errorf("tinymodel: dtype %q: want F32 or BF16", s.DType)
	}
	cfg := map[string]any{
		"architectures": []string{s.Arch}, "model_type": mt,
		"vocab_size": s.Vocab, "hidden_size": s.Hidden, "intermediate_size": s.Inter,
		"num_hidden_layers": s.Layers, "num_attention_heads": s.Heads, "num_key_value_heads": s.KVHeads,
		"head_dim": s.HeadDim, "rms_norm_eps": 1e-6, "rope_theta": s.RopeTheta, "hidden_act": "silu",
		"tie_word_embeddings": s.Tied, "torch_dtype": torchDType, "max_position_embeddings": 4096,
		"bos_token_id": s.BOS, "eos_token_id": s.EOS, "attention_bias": false, "attention_dropout": 0.0,
		"initializer_range": 0.02, "use_cache": true,
	}
	if s.Llama3Rope {
		cfg["rope_scaling"] = map[string]any{"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
			"high_freq_factor": 4.0, "original_max_position_embeddings": 64}
	}
	b, _ := json.MarshalIndent(cfg, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "config.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	return safetensors.Write(filepath.Join(dir, "model.safetensors"), s.tensors(), map[string]string{"format": "pt"})
}

// tensors draws the weights: matrices with std 1/√fan_in so activations and
// logits vary (near-uniform outputs would make numeric tests weak), norm
// weights around 1.
func (s *Spec) tensors() []safetensors.Tensor {
	rng := rand.New(rand.NewSource(s.Seed))
	var out []safetensors.Tensor
	add := func(name string, std, mean float64, shape ...int64) {
		if s.InitStd > 0 && len(shape) == 2 {
			std = s.InitStd
		} else if s.InitStd > 0 {
			std = 0
		}
		n := safetensors.Numel(shape)
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(mean + std*rng.NormFloat64())
		}
		data, _ := safetensors.Encode(v, s.DType) // DType was checked by Write
		out = append(out, safetensors.Tensor{Name: name, DType: s.DType, Shape: shape, Data: data})
	}
	D, I, hd := int64(s.Hidden), int64(s.Inter), int64(s.HeadDim)
	q, kv := int64(s.Heads)*hd, int64(s.KVHeads)*hd
	add("model.embed_tokens.weight", 1, 0, int64(s.Vocab), D)
	for l := 0; l < s.Layers; l++ {
		p := fmt.Sprintf("model.layers.%d.", l)
		add(p+"input_layernorm.weight", 0.1, 1, D)
		add(p+"post_attention_layernorm.weight", 0.1, 1, D)
		add(p+"self_attn.q_proj.weight", 1/math.Sqrt(float64(D)), 0, q, D)
		add(p+"self_attn.k_proj.weight", 1/math.Sqrt(float64(D)), 0, kv, D)
		add(p+"self_attn.v_proj.weight", 1/math.Sqrt(float64(D)), 0, kv, D)
		add(p+"self_attn.o_proj.weight", 1/math.Sqrt(float64(q)), 0, D, q)
		if s.Arch == "Qwen2ForCausalLM" {
			add(p+"self_attn.q_proj.bias", 0.1, 0, q)
			add(p+"self_attn.k_proj.bias", 0.1, 0, kv)
			add(p+"self_attn.v_proj.bias", 0.1, 0, kv)
		}
		if s.Arch == "Qwen3ForCausalLM" {
			add(p+"self_attn.q_norm.weight", 0.1, 1, hd)
			add(p+"self_attn.k_norm.weight", 0.1, 1, hd)
		}
		add(p+"mlp.gate_proj.weight", 1/math.Sqrt(float64(D)), 0, I, D)
		add(p+"mlp.up_proj.weight", 1/math.Sqrt(float64(D)), 0, I, D)
		add(p+"mlp.down_proj.weight", 1/math.Sqrt(float64(I)), 0, D, I)
	}
	add("model.norm.weight", 0.1, 1, D)
	if !s.Tied {
		add("lm_head.weight", 1/math.Sqrt(float64(D)), 0, int64(s.Vocab), D)
	}
	return out
}
