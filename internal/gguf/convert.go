package gguf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/ytrain/ytrain/internal/safetensors"
	"github.com/ytrain/ytrain/internal/tempfiles"
)

// Llama is the hyper-parameters of a llama GGUF, as config.json names them.
type Llama struct {
	Vocab, Hidden, Inter, Layers, Heads, KVHeads, HeadDim, MaxPos int64
	RMSEps, RopeTheta                                             float64
	Tied                                                          bool // no output.weight: lm_head is the embedding
}

// Summary is what Convert wrote.
type Summary struct {
	Config     Llama
	Tensors    int
	Types      map[string]int // GGUF tensor types and how many tensors had each
	Tokens     int
	Merges     int
	PreTok     string
	WeightByte int64
}

// Convert reads the llama GGUF file at src and writes a Hugging Face model
// folder at dst: config.json (LlamaForCausalLM), model.safetensors (float32,
// HF names, q_proj/k_proj rows un-permuted), tokenizer.json (byte-level
// BPE), tokenizer_config.json (with the chat template) and
// generation_config.json. dst must not exist or be an empty folder; the
// files are written to a temporary folder beside it, renamed into place at
// the end, so a failure leaves nothing behind. progress (may be nil) gets a
// line per stage.
func Convert(src, dst string, progress io.Writer) (*Summary, error) {
	if progress == nil {
		progress = io.Discard
	}
	if err := checkTarget(dst); err != nil {
		return nil, err
	}
	f, err := Open(src)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	plan, err := planLlama(f)
	if err != nil {
		return nil, err
	}
	tok, err := buildTokenizer(f)
	if err != nil {
		return nil, err
	}
	if n := int64(len(tok.tokens)); n != plan.cfg.Vocab {
		return nil, fmt.Errorf("%s: %d tokens in tokenizer.ggml.tokens, but token_embd.weight has %d rows", f.Path, n, plan.cfg.Vocab)
	}

	parent := filepath.Dir(filepath.Clean(dst))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dst)+".tmp*")
	if err != nil {
		return nil, err
	}
	tempfiles.Add(tmp)
	defer func() {
		os.RemoveAll(tmp) // a no-op once renamed
		tempfiles.Done(tmp)
	}()
	if err := os.Chmod(tmp, 0o755); err != nil { // MkdirTemp makes it private
		return nil, err
	}

	sum := &Summary{Config: plan.cfg, Tensors: len(plan.tensors), Types: map[string]int{}, Tokens: len(tok.tokens), Merges: len(tok.merges), PreTok: tok.pre}
	for _, t := range plan.tensors {
		sum.Types[t.src.Type.String()]++
	}
	start := time.Now()
	fmt.Fprintf(progress, "convert: %s: llama, %d layers, hidden %d, %d heads (%d KV), vocab %d; dequantising %d tensors\n",
		filepath.Base(src), plan.cfg.Layers, plan.cfg.Hidden, plan.cfg.Heads, plan.cfg.KVHeads, plan.cfg.Vocab, len(plan.tensors))
	if sum.WeightByte, err = writeWeights(f, plan, filepath.Join(tmp, "model.safetensors")); err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "convert: model.safetensors: %d bytes in %.1fs\n", sum.WeightByte, time.Since(start).Seconds())
	files := map[string]any{
		"config.json":            plan.cfg.configJSON(tok),
		"generation_config.json": tok.generationConfig(),
		"tokenizer_config.json":  tok.tokenizerConfig(plan.cfg.MaxPos),
	}
	for name, v := range files {
		b, err := marshal(v, true)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(tmp, name), b, 0o644); err != nil {
			return nil, err
		}
	}
	tj, err := tok.tokenizerJSON()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Path, err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "tokenizer.json"), tj, 0o644); err != nil {
		return nil, err
	}
	if err := checkTarget(dst); err != nil { // it may have appeared meanwhile
		return nil, err
	}
	os.Remove(dst) // an empty folder, or nothing
	if err := os.Rename(tmp, dst); err != nil {
		return nil, err
	}
	return sum, nil
}

// checkTarget refuses an output that exists and is not an empty folder.
func checkTarget(dst string) error {
	st, err := os.Stat(dst)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s exists and is not a folder", dst)
	}
	entries, err := os.ReadDir(dst)
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		return fmt.Errorf("%s exists and is not empty: remove it or choose another output", dst)
	}
	return nil
}

// outTensor is one HF tensor and the GGUF tensor it comes from.
type outTensor struct {
	name    string
	shape   []int64
	src     *Tensor
	permute int64 // heads whose rows llama.cpp interleaved (q_proj, k_proj), else 0
}

type llamaPlan struct {
	cfg     Llama
	tensors []outTensor
}

// layerNames maps a llama block tensor (blk.N.X.weight) to its HF name.
var layerNames = map[string]string{
	"attn_norm":   "input_layernorm",
	"ffn_norm":    "post_attention_layernorm",
	"attn_q":      "self_attn.q_proj",
	"attn_k":      "self_attn.k_proj",
	"attn_v":      "self_attn.v_proj",
	"attn_output": "self_attn.o_proj",
	"ffn_gate":    "mlp.gate_proj",
	"ffn_up":      "mlp.up_proj",
	"ffn_down":    "mlp.down_proj",
}

var blockName = regexp.MustCompile(`^blk\.(\d+)\.([a-z_]+)\.weight$`)

// planLlama reads the hyper-parameters and checks that the tensors are
// exactly a llama's, with the shapes they imply.
func planLlama(f *File) (*llamaPlan, error) {
	arch, ok, err := f.String("general.architecture")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%s: no general.architecture in the metadata", f.Path)
	}
	if arch != "llama" {
		return nil, fmt.Errorf("%s: general.architecture %q is not supported: only \"llama\" (LlamaForCausalLM) is; other GGUF architectures (qwen2, qwen3, mistral3, gemma, phi3, ...) need their own conversion", f.Path, arch)
	}
	c := Llama{RMSEps: 1e-5, RopeTheta: 10000, MaxPos: 2048}
	ints := []struct {
		key      string
		dst      *int64
		required bool
	}{
		{"llama.block_count", &c.Layers, true},
		{"llama.embedding_length", &c.Hidden, true},
		{"llama.feed_forward_length", &c.Inter, true},
		{"llama.attention.head_count", &c.Heads, true},
		{"llama.attention.head_count_kv", &c.KVHeads, false},
		{"llama.context_length", &c.MaxPos, false},
		{"llama.attention.key_length", &c.HeadDim, false},
	}
	for _, k := range ints {
		v, ok, err := f.Int(k.key)
		if err != nil {
			return nil, err
		}
		if !ok && k.required {
			return nil, fmt.Errorf("%s: no %s in the metadata", f.Path, k.key)
		}
		if ok {
			if v <= 0 || v > 1<<24 {
				return nil, fmt.Errorf("%s: %s = %d is out of range", f.Path, k.key, v)
			}
			*k.dst = v
		}
	}
	for _, k := range []struct {
		key string
		dst *float64
	}{{"llama.attention.layer_norm_rms_epsilon", &c.RMSEps}, {"llama.rope.freq_base", &c.RopeTheta}} {
		v, ok, err := f.Float(k.key)
		if err != nil {
			return nil, err
		}
		if ok {
			if !(v > 0) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("%s: %s = %v is out of range", f.Path, k.key, v)
			}
			*k.dst = v
		}
	}
	if c.KVHeads == 0 {
		c.KVHeads = c.Heads
	}
	if c.HeadDim == 0 {
		if c.Hidden%c.Heads != 0 {
			return nil, fmt.Errorf("%s: embedding_length %d is not a multiple of head_count %d", f.Path, c.Hidden, c.Heads)
		}
		c.HeadDim = c.Hidden / c.Heads
	}
	if c.Heads%c.KVHeads != 0 || c.HeadDim%2 != 0 {
		return nil, fmt.Errorf("%s: %d heads of %d, %d KV heads: not a llama attention", f.Path, c.Heads, c.HeadDim, c.KVHeads)
	}
	if v, ok, err := f.Int("llama.attention.value_length"); err != nil || ok && v != c.HeadDim {
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%s: llama.attention.value_length %d differs from key_length %d: not supported", f.Path, v, c.HeadDim)
	}
	if v, ok, err := f.Int("llama.rope.dimension_count"); err != nil || ok && v != c.HeadDim {
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%s: llama.rope.dimension_count %d is not the head size %d: partial rotary embeddings are not supported", f.Path, v, c.HeadDim)
	}
	if s, ok, err := f.String("llama.rope.scaling.type"); err != nil || ok && s != "none" {
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%s: llama.rope.scaling.type %q: rope scaling is not supported", f.Path, s)
	}
	if n, ok, _ := f.Int("llama.expert_count"); ok && n > 0 {
		return nil, fmt.Errorf("%s: llama.expert_count %d: mixture-of-experts llama models are not supported", f.Path, n)
	}

	emb := f.Tensor("token_embd.weight")
	if emb == nil {
		return nil, fmt.Errorf("%s: no tensor token_embd.weight", f.Path)
	}
	if len(emb.Dims) != 2 || int64(emb.Dims[0]) != c.Hidden {
		return nil, fmt.Errorf("%s: tensor token_embd.weight (%s) has dims %v, want [%d, vocab]", f.Path, emb.Type, emb.Dims, c.Hidden)
	}
	c.Vocab = int64(emb.Dims[1])
	if v, ok, err := f.Int("llama.vocab_size"); err != nil || ok && v != c.Vocab {
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%s: llama.vocab_size %d, but token_embd.weight has %d rows", f.Path, v, c.Vocab)
	}
	c.Tied = f.Tensor("output.weight") == nil

	// before listing the tensors block_count implies: a corrupt count must
	// not cost a loop of millions
	if n := int64(len(f.Tensors)); c.Layers > n/int64(len(layerNames)) {
		return nil, fmt.Errorf("%s: llama.block_count %d needs %d block tensors, the file has %d tensors in all", f.Path, c.Layers, c.Layers*int64(len(layerNames)), n)
	}
	q, kv := c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	want := map[string][]int64{
		"token_embd.weight":  {c.Vocab, c.Hidden},
		"output_norm.weight": {c.Hidden},
	}
	if !c.Tied {
		want["output.weight"] = []int64{c.Vocab, c.Hidden}
	}
	layerShapes := map[string][]int64{
		"attn_norm": {c.Hidden}, "ffn_norm": {c.Hidden},
		"attn_q": {q, c.Hidden}, "attn_k": {kv, c.Hidden}, "attn_v": {kv, c.Hidden}, "attn_output": {c.Hidden, q},
		"ffn_gate": {c.Inter, c.Hidden}, "ffn_up": {c.Inter, c.Hidden}, "ffn_down": {c.Hidden, c.Inter},
	}
	for l := int64(0); l < c.Layers; l++ {
		for k, s := range layerShapes {
			want[fmt.Sprintf("blk.%d.%s.weight", l, k)] = s
		}
	}
	plan := &llamaPlan{cfg: c}
	for _, t := range f.Tensors {
		shape, ok := want[t.Name]
		if !ok {
			switch t.Name {
			case "rope_freqs.weight":
				return nil, fmt.Errorf("%s: tensor rope_freqs.weight (Llama 3.1-style rope scaling) is not supported", f.Path)
			}
			return nil, fmt.Errorf("%s: tensor %q (%s%v) is not part of a %d-layer llama model", f.Path, t.Name, t.Type, t.Dims, c.Layers)
		}
		delete(want, t.Name)
		if !equalShape(t.Shape(), shape) {
			return nil, fmt.Errorf("%s: tensor %q (%s) has shape %v, want %v", f.Path, t.Name, t.Type, t.Shape(), shape)
		}
		if _, ok := dequantizers[t.Type]; !ok {
			return nil, fmt.Errorf("%s: tensor %q has type %s, which cannot be dequantised (supported: %s)", f.Path, t.Name, t.Type, supportedTypes())
		}
		ot := outTensor{src: t, shape: shape}
		switch t.Name {
		case "token_embd.weight":
			ot.name = "model.embed_tokens.weight"
		case "output_norm.weight":
			ot.name = "model.norm.weight"
		case "output.weight":
			ot.name = "lm_head.weight"
		default:
			m := blockName.FindStringSubmatch(t.Name)
			ot.name = "model.layers." + m[1] + "." + layerNames[m[2]] + ".weight"
			switch m[2] {
			case "attn_q":
				ot.permute = c.Heads
			case "attn_k":
				ot.permute = c.KVHeads
			}
		}
		plan.tensors = append(plan.tensors, ot)
	}
	if len(want) > 0 {
		missing := ""
		for name := range want {
			if missing == "" || name < missing {
				missing = name
			}
		}
		return nil, fmt.Errorf("%s: tensor %q is missing (%d of the llama model's tensors are)", f.Path, missing, len(want))
	}
	return plan, nil
}

func equalShape(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// unpermute undoes convert_hf_to_gguf.py's permute of q_proj and k_proj
// rows: in each head, llama.cpp stores the rotary pairs interleaved (row
// 2i+j of the head holds HF row j·half+i), the layout of its rope kernel.
func unpermute(w []float32, heads, cols int64) []float32 {
	rows := int64(len(w)) / cols
	half := rows / heads / 2
	out := make([]float32, len(w))
	for h := int64(0); h < heads; h++ {
		base := h * 2 * half
		for i := int64(0); i < half; i++ {
			for j := int64(0); j < 2; j++ {
				from := (base + 2*i + j) * cols
				to := (base + j*half + i) * cols
				copy(out[to:to+cols], w[from:from+cols])
			}
		}
	}
	return out
}

// writeWeights dequantises the tensors one at a time into a float32
// safetensors file.
func writeWeights(f *File, plan *llamaPlan, path string) (int64, error) {
	byName := map[string]outTensor{}
	headers := make([]safetensors.Tensor, 0, len(plan.tensors))
	var total int64
	for _, t := range plan.tensors {
		byName[t.name] = t
		headers = append(headers, safetensors.Tensor{Name: t.name, DType: "F32", Shape: t.shape})
		total += 4 * t.src.Numel()
	}
	err := safetensors.WriteStream(path, headers, map[string]string{"format": "pt"}, func(h *safetensors.Tensor) ([]byte, error) {
		t := byName[h.Name]
		v, err := f.Float32(t.src)
		if err != nil {
			return nil, err
		}
		if i := firstNonFinite(v); i >= 0 {
			return nil, fmt.Errorf("%s: tensor %q (%s): value %d is %v", f.Path, t.src.Name, t.src.Type, i, v[i])
		}
		if t.permute > 0 {
			v = unpermute(v, t.permute, t.shape[1])
		}
		b := make([]byte, 4*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
		}
		return b, nil
	})
	return total, err
}

func firstNonFinite(v []float32) int {
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return i
		}
	}
	return -1
}

// configJSON is the config.json transformers 5 writes for a llama.
func (c Llama) configJSON(tok *tokenizer) map[string]any {
	m := map[string]any{
		"architectures":           []string{"LlamaForCausalLM"},
		"model_type":              "llama",
		"vocab_size":              c.Vocab,
		"hidden_size":             c.Hidden,
		"intermediate_size":       c.Inter,
		"num_hidden_layers":       c.Layers,
		"num_attention_heads":     c.Heads,
		"num_key_value_heads":     c.KVHeads,
		"head_dim":                c.HeadDim,
		"hidden_act":              "silu",
		"max_position_embeddings": c.MaxPos,
		"rms_norm_eps":            c.RMSEps,
		"rope_parameters":         map[string]any{"rope_theta": c.RopeTheta, "rope_type": "default"},
		"attention_bias":          false,
		"attention_dropout":       0.0,
		"mlp_bias":                false,
		"initializer_range":       0.02,
		"tie_word_embeddings":     c.Tied,
		"use_cache":               true,
		"dtype":                   "float32",
	}
	for k, v := range tok.specialIDs() {
		m[k] = v
	}
	return m
}
