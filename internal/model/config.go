package model

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/ytrain/ytrain/internal/seq"
)

// Config is the part of an HF config.json the decoder needs.
type Config struct {
	Arch       string // architectures[0]
	Vocab      int64
	Hidden     int64
	Layers     int64
	Heads      int64
	KVHeads    int64
	HeadDim    int64
	Inter      int64
	RMSEps     float64
	RopeTheta  float64
	Rope       *RopeScaling // nil: plain RoPE
	Tied       bool         // lm_head shares embed_tokens
	QKVBias    bool         // Qwen2: biases on q/k/v projections
	QKNorm     bool         // Qwen3: RMSNorm over each head of q and k
	DType      string       // torch_dtype of the checkpoint
	MaxPos     int64
	EOSTokenID []int64

	raw []byte // config.json as read
}

// RopeScaling is Llama 3's frequency-dependent RoPE scaling.
type RopeScaling struct {
	Factor, LowFreqFactor, HighFreqFactor float64
	OriginalMaxPos                        float64
}

type rawConfig struct {
	Architectures         []string        `json:"architectures"`
	VocabSize             int64           `json:"vocab_size"`
	HiddenSize            int64           `json:"hidden_size"`
	NumHiddenLayers       int64           `json:"num_hidden_layers"`
	NumAttentionHeads     int64           `json:"num_attention_heads"`
	NumKeyValueHeads      int64           `json:"num_key_value_heads"`
	HeadDim               int64           `json:"head_dim"`
	IntermediateSize      int64           `json:"intermediate_size"`
	RMSNormEps            float64         `json:"rms_norm_eps"`
	RopeTheta             float64         `json:"rope_theta"`
	RopeScaling           json.RawMessage `json:"rope_scaling"`
	RopeParameters        json.RawMessage `json:"rope_parameters"` // transformers ≥ 5: rope_theta and the scaling
	TieWordEmbeddings     *bool           `json:"tie_word_embeddings"`
	AttentionBias         bool            `json:"attention_bias"`
	TorchDType            string          `json:"torch_dtype"`
	DType                 string          `json:"dtype"` // transformers ≥ 5's name for torch_dtype
	MLPBias               bool            `json:"mlp_bias"`
	MaxPositionEmbeddings int64           `json:"max_position_embeddings"`
	EOSTokenID            json.RawMessage `json:"eos_token_id"`
	HiddenAct             string          `json:"hidden_act"`
}

// Architectures the decoder implements.
var supported = map[string]bool{
	"LlamaForCausalLM": true, "MistralForCausalLM": true,
	"Qwen2ForCausalLM": true, "Qwen3ForCausalLM": true,
}

// LoadConfig reads DIR/config.json.
func LoadConfig(dir string) (*Config, error) {
	path := filepath.Join(dir, "config.json")
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r rawConfig
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c, err := r.config()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c.raw = b
	return c, nil
}

// WithDType returns config.json as read with its dtype set (torch_dtype,
// and dtype where transformers ≥ 5 wrote it), for a saved model: every other
// key and value is kept as written (0.0 stays 0.0, which transformers'
// typed configs check).
func (c *Config) WithDType(torchDType string) ([]byte, error) {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(c.raw, &keys); err != nil {
		return nil, err
	}
	dt, _ := json.Marshal(torchDType)
	if _, v5 := keys["dtype"]; v5 { // transformers ≥ 5's name
		keys["dtype"] = dt
	}
	if _, v4 := keys["torch_dtype"]; v4 || keys["dtype"] == nil {
		keys["torch_dtype"] = dt
	}
	b, err := json.MarshalIndent(keys, "", "  ")
	return append(b, '\n'), err
}

func (r *rawConfig) config() (*Config, error) {
	if len(r.Architectures) == 0 {
		return nil, fmt.Errorf("no architectures")
	}
	if r.TorchDType == "" {
		r.TorchDType = r.DType
	}
	// transformers 5 moved rope_theta and rope_scaling into rope_parameters
	if len(r.RopeParameters) > 0 && string(r.RopeParameters) != "null" {
		var rp struct {
			Theta float64 `json:"rope_theta"`
		}
		if err := json.Unmarshal(r.RopeParameters, &rp); err != nil {
			return nil, fmt.Errorf("rope_parameters: %w", err)
		}
		if r.RopeTheta == 0 {
			r.RopeTheta = rp.Theta
		}
		if len(r.RopeScaling) == 0 || string(r.RopeScaling) == "null" {
			r.RopeScaling = r.RopeParameters
		}
	}
	c := &Config{
		Arch: r.Architectures[0], Vocab: r.VocabSize, Hidden: r.HiddenSize, Layers: r.NumHiddenLayers,
		Heads: r.NumAttentionHeads, KVHeads: r.NumKeyValueHeads, HeadDim: r.HeadDim, Inter: r.IntermediateSize,
		RMSEps: r.RMSNormEps, RopeTheta: r.RopeTheta, DType: r.TorchDType, MaxPos: r.MaxPositionEmbeddings,
		Tied: r.TieWordEmbeddings != nil && *r.TieWordEmbeddings,
	}
	if !supported[c.Arch] {
		return nil, fmt.Errorf("architecture %q is not supported (want LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM or Qwen3ForCausalLM)", c.Arch)
	}
	if r.HiddenAct != "" && r.HiddenAct != "silu" {
		return nil, fmt.Errorf("hidden_act %q is not supported (want silu)", r.HiddenAct)
	}
	if r.MLPBias {
		return nil, fmt.Errorf("mlp_bias true is not supported")
	}
	c.QKVBias = c.Arch == "Qwen2ForCausalLM" || r.AttentionBias
	c.QKNorm = c.Arch == "Qwen3ForCausalLM"
	if c.KVHeads == 0 {
		c.KVHeads = c.Heads
	}
	if c.HeadDim == 0 && c.Heads > 0 {
		c.HeadDim = c.Hidden / c.Heads
	}
	if c.RMSEps == 0 {
		c.RMSEps = 1e-6
	}
	if c.RopeTheta == 0 {
		c.RopeTheta = 10000
	}
	if !(c.RMSEps > 0) || math.IsInf(c.RMSEps, 0) {
		return nil, fmt.Errorf("rms_norm_eps %g must be a small positive number", c.RMSEps)
	}
	if !(c.RopeTheta > 0) || math.IsInf(c.RopeTheta, 0) {
		return nil, fmt.Errorf("rope_theta %g must be positive", c.RopeTheta)
	}
	for name, v := range map[string]int64{"vocab_size": c.Vocab, "hidden_size": c.Hidden, "num_hidden_layers": c.Layers,
		"num_attention_heads": c.Heads, "intermediate_size": c.Inter, "head_dim": c.HeadDim} {
		if v <= 0 {
			return nil, fmt.Errorf("%s must be positive, got %d", name, v)
		}
	}
	if c.Heads%c.KVHeads != 0 {
		return nil, fmt.Errorf("num_attention_heads %d is not a multiple of num_key_value_heads %d", c.Heads, c.KVHeads)
	}
	if c.HeadDim%2 != 0 {
		return nil, fmt.Errorf("head_dim %d must be even for rotary embeddings", c.HeadDim)
	}
	if len(r.RopeScaling) > 0 && string(r.RopeScaling) != "null" {
		var rs struct {
			Type           string  `json:"rope_type"`
			LegacyType     string  `json:"type"`
			Factor         float64 `json:"factor"`
			LowFreqFactor  float64 `json:"low_freq_factor"`
			HighFreqFactor float64 `json:"high_freq_factor"`
			OriginalMaxPos float64 `json:"original_max_position_embeddings"`
		}
		if err := json.Unmarshal(r.RopeScaling, &rs); err != nil {
			return nil, fmt.Errorf("rope_scaling/rope_parameters: %w", err)
		}
		if rs.Type == "" {
			rs.Type = rs.LegacyType
		}
		switch rs.Type {
		case "", "default":
		case "llama3":
			c.Rope = &RopeScaling{Factor: rs.Factor, LowFreqFactor: rs.LowFreqFactor, HighFreqFactor: rs.HighFreqFactor, OriginalMaxPos: rs.OriginalMaxPos}
		default:
			return nil, fmt.Errorf("rope type %q is not supported (want default or llama3)", rs.Type)
		}
	}
	if len(r.EOSTokenID) > 0 && string(r.EOSTokenID) != "null" {
		var one int64
		if json.Unmarshal(r.EOSTokenID, &one) == nil {
			c.EOSTokenID = []int64{one}
		} else if err := json.Unmarshal(r.EOSTokenID, &c.EOSTokenID); err != nil {
			return nil, fmt.Errorf("eos_token_id: want an id or a list of ids")
		}
	}
	return c, nil
}

// Limits are the sequences the model can run.
func (c *Config) Limits() seq.Limits { return seq.Limits{Vocab: c.Vocab, MaxPos: c.MaxPos} }

// InvFreq returns the rotary inverse frequencies (HeadDim/2 of them), with
// Llama 3 scaling applied, as transformers computes them.
func (c *Config) InvFreq() []float32 {
	half := c.HeadDim / 2
	out := make([]float32, half)
	for i := int64(0); i < half; i++ {
		// transformers: 1 / base^(arange(0, dim, 2).float() / dim), in float32
		exp := float32(2*i) / float32(c.HeadDim)
		f := 1 / math.Pow(c.RopeTheta, float64(exp))
		if rs := c.Rope; rs != nil {
			lowWavelen := rs.OriginalMaxPos / rs.LowFreqFactor
			highWavelen := rs.OriginalMaxPos / rs.HighFreqFactor
			wavelen := 2 * math.Pi / f
			switch {
			case wavelen > lowWavelen:
				f /= rs.Factor
			case wavelen >= highWavelen:
				smooth := (rs.OriginalMaxPos/wavelen - rs.LowFreqFactor) / (rs.HighFreqFactor - rs.LowFreqFactor)
				f = (1-smooth)*f/rs.Factor + smooth*f
			}
		}
		out[i] = float32(f)
	}
	return out
}
