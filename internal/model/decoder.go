// Package model is a Llama-family decoder (Llama 3, Mistral, Qwen2, Qwen3)
// on libtorch through gotch, read straight from a Hugging Face folder. The
// whole forward pass is in this file, with HF weight names visible and the
// shape of every tensor noted, in the spirit of nanoGPT's model.py.
//
// Every function that creates tensors takes a *torch.Scope and registers its
// intermediates there; the caller drops the scope after each step (see
// package torch for the rules).
package model

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"

	"github.com/ytrain/ytrain/internal/safetensors"
	"github.com/ytrain/ytrain/internal/seq"
	"github.com/ytrain/ytrain/internal/torch"
)

// Layer holds one decoder block's weights; nil fields are absent in this
// architecture.
type Layer struct {
	InputNorm    *ts.Tensor // input_layernorm.weight (D)
	QProj        Linear     // self_attn.q_proj (nH*hd, D), bias (nH*hd) in Qwen2
	KProj        Linear     // self_attn.k_proj (nKV*hd, D)
	VProj        Linear     // self_attn.v_proj (nKV*hd, D)
	OProj        Linear     // self_attn.o_proj (D, nH*hd)
	QNorm, KNorm *ts.Tensor // self_attn.q_norm / k_norm (hd): Qwen3
	PostNorm     *ts.Tensor // post_attention_layernorm.weight (D)
	Gate, Up     Linear     // mlp.gate_proj / up_proj (I, D)
	Down         Linear     // mlp.down_proj (D, I)
}

// Linear is y = x Wᵀ + b, plus the update of a LoRA adapter when one is
// attached (see lora.go).
type Linear struct {
	Weight *ts.Tensor // (out, in)
	Bias   *ts.Tensor // (out) or nil
	LoRA   *LoRA
}

// Model is a decoder with its weights on one device in one dtype.
type Model struct {
	Cfg    *Config
	Device gotch.Device
	DType  gotch.DType
	Embed  *ts.Tensor // model.embed_tokens.weight (V, D)
	Layers []Layer
	Norm   *ts.Tensor // model.norm.weight (D)
	LMHead *ts.Tensor // lm_head.weight (V, D); Embed when tied
	// Params has every weight by its HF name.
	Params map[string]*ts.Tensor
	// Training turns on LoRA dropout.
	Training bool
	// HeadChunk is how many targets the LM head takes at once (targets.go);
	// 0 derives it from HeadBudget.
	HeadChunk int64

	invFreq *ts.Tensor // (hd/2) float32
	eps     *ts.Scalar
	scale   *ts.Scalar
	negInf  *ts.Scalar
	noSDPA  bool                    // use the explicit path even where SDPA exists (tests compare the two)
	weights *safetensors.Checkpoint // mapped files that zero-copy weights alias
}

var dtypes = map[string]gotch.DType{"F32": gotch.Float, "BF16": gotch.BFloat16, "F16": gotch.Half}

// Load reads an HF model folder (config.json + safetensors) onto dev in
// dtype. Weights already in that dtype on the CPU alias the mapped file
// without a copy.
func Load(dir string, dev gotch.Device, dtype gotch.DType) (*Model, error) {
	cfg, err := LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	return load(dir, cfg, dev, dtype)
}

func load(dir string, cfg *Config, dev gotch.Device, dtype gotch.DType) (*Model, error) {
	ck, err := safetensors.OpenDir(dir)
	if err != nil {
		return nil, err
	}
	m := &Model{Cfg: cfg, Device: dev, DType: dtype, Params: map[string]*ts.Tensor{}, weights: ck}
	if err := m.loadWeights(); err != nil {
		m.Close()
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	m.invFreq = ts.MustOfSlice(cfg.InvFreq()).MustTo(dev, true)
	m.eps = ts.FloatScalar(cfg.RMSEps)
	m.scale = ts.FloatScalar(1 / math.Sqrt(float64(cfg.HeadDim)))
	m.negInf = ts.FloatScalar(math.Inf(-1))
	return m, nil
}

func (m *Model) loadWeights() error {
	c := m.Cfg
	D, hd, I := c.Hidden, c.HeadDim, c.Inter
	var firstErr error
	get := func(name string, shape ...int64) *ts.Tensor {
		if firstErr != nil {
			return nil
		}
		t, err := m.weight(name, shape)
		if err != nil {
			firstErr = err
		}
		return t
	}
	m.Embed = get("model.embed_tokens.weight", c.Vocab, D)
	for i := int64(0); i < c.Layers; i++ {
		p := fmt.Sprintf("model.layers.%d.", i)
		L := Layer{
			InputNorm: get(p+"input_layernorm.weight", D),
			QProj:     Linear{Weight: get(p+"self_attn.q_proj.weight", c.Heads*hd, D)},
			KProj:     Linear{Weight: get(p+"self_attn.k_proj.weight", c.KVHeads*hd, D)},
			VProj:     Linear{Weight: get(p+"self_attn.v_proj.weight", c.KVHeads*hd, D)},
			OProj:     Linear{Weight: get(p+"self_attn.o_proj.weight", D, c.Heads*hd)},
			PostNorm:  get(p+"post_attention_layernorm.weight", D),
			Gate:      Linear{Weight: get(p+"mlp.gate_proj.weight", I, D)},
			Up:        Linear{Weight: get(p+"mlp.up_proj.weight", I, D)},
			Down:      Linear{Weight: get(p+"mlp.down_proj.weight", D, I)},
		}
		if c.QKVBias {
			L.QProj.Bias = get(p+"self_attn.q_proj.bias", c.Heads*hd)
			L.KProj.Bias = get(p+"self_attn.k_proj.bias", c.KVHeads*hd)
			L.VProj.Bias = get(p+"self_attn.v_proj.bias", c.KVHeads*hd)
		}
		if c.QKNorm {
			L.QNorm = get(p+"self_attn.q_norm.weight", hd)
			L.KNorm = get(p+"self_attn.k_norm.weight", hd)
		}
		m.Layers = append(m.Layers, L)
	}
	m.Norm = get("model.norm.weight", D)
	if _, ok := m.weights.Tensors["lm_head.weight"]; ok || !c.Tied {
		m.LMHead = get("lm_head.weight", c.Vocab, D)
	} else {
		m.LMHead = m.Embed
	}
	return firstErr
}

// weight makes the checkpoint tensor name a tensor of the model's device and
// dtype, checking its shape.
func (m *Model) weight(name string, shape []int64) (*ts.Tensor, error) {
	st, ok := m.weights.Tensors[name]
	if !ok {
		return nil, fmt.Errorf("tensor %s is missing", name)
	}
	if fmt.Sprint(st.Shape) != fmt.Sprint(shape) {
		return nil, fmt.Errorf("tensor %s has shape %v, want %v", name, st.Shape, shape)
	}
	dt, ok := dtypes[st.DType]
	if !ok {
		return nil, fmt.Errorf("tensor %s has dtype %s (want F32, BF16 or F16)", name, st.DType)
	}
	if i := st.FirstNonFinite(); i >= 0 {
		return nil, fmt.Errorf("tensor %s holds a NaN or infinite value (element %d): the checkpoint is broken", name, i)
	}
	t, err := torch.TensorFromBlob(unsafe.Pointer(unsafe.SliceData(st.Data)), shape, dt)
	if err != nil {
		return nil, fmt.Errorf("tensor %s: %w", name, err)
	}
	if dt != m.DType || m.Device != gotch.CPU {
		t = t.MustToDevice(m.Device, m.DType, false, true, true)
	}
	m.Params[name] = t
	return t, nil
}

// Close frees the weights and unmaps the checkpoint.
func (m *Model) Close() {
	seen := map[*ts.Tensor]bool{}
	for _, t := range m.Params {
		if !seen[t] {
			seen[t] = true
			t.MustDrop()
		}
	}
	m.Params = nil
	if m.invFreq != nil {
		m.invFreq.MustDrop()
	}
	if m.weights != nil {
		m.weights.Close()
	}
}

// rmsnorm is HF's RMSNorm: normalise in float32, scale in the model dtype.
func (m *Model) rmsnorm(s *torch.Scope, x, w *ts.Tensor) *ts.Tensor {
	xf := s.Add(x.MustTotype(gotch.Float, false))
	ms := s.Add(s.Add(xf.MustSquare(false)).MustMeanDim([]int64{-1}, true, gotch.Float, false))
	r := s.Add(s.Add(ms.MustAddScalar(m.eps, false)).MustRsqrt(false))
	y := s.Add(s.Add(xf.MustMul(r, false)).MustTotype(m.DType, false))
	return s.Add(w.MustMul(y, false))
}

// Rotary returns cos and sin for position ids pos (B, T): (B, 1, T, hd) in
// the model dtype, computed in float32 like transformers.
func (m *Model) Rotary(s *torch.Scope, pos *ts.Tensor) (cos, sin *ts.Tensor) {
	pf := s.Add(s.Add(pos.MustTotype(gotch.Float, false)).MustUnsqueeze(-1, false)) // (B, T, 1)
	freqs := s.Add(pf.MustMul(m.invFreq, false))                                    // (B, T, hd/2)
	emb := s.Add(ts.MustCat([]*ts.Tensor{freqs, freqs}, -1))                        // (B, T, hd)
	cos = s.Add(s.Add(s.Add(emb.MustCos(false)).MustTotype(m.DType, false)).MustUnsqueeze(1, false))
	sin = s.Add(s.Add(s.Add(emb.MustSin(false)).MustTotype(m.DType, false)).MustUnsqueeze(1, false))
	return cos, sin
}

// rope applies rotary embeddings to x (B, h, T, hd): x·cos + rotate_half(x)·sin.
func (m *Model) rope(s *torch.Scope, x, cos, sin *ts.Tensor) *ts.Tensor {
	half := m.Cfg.HeadDim / 2
	x1 := s.Add(x.MustNarrow(-1, 0, half, false))
	x2 := s.Add(x.MustNarrow(-1, half, half, false))
	rot := s.Add(ts.MustCat([]*ts.Tensor{s.Add(x2.MustNeg(false)), x1}, -1))
	return s.Add(s.Add(x.MustMul(cos, false)).MustAdd(s.Add(rot.MustMul(sin, false)), false))
}

// Layout says which keys each query of a batch may see: either a mask, or
// the batch's documents, within each of which attention is causal.
type Layout struct {
	Mask *ts.Tensor // (B, 1, T, S): true where a query may see a key; nil for docs
	// docs: each document's row and first position, grouped by length so
	// that documents of one length attend in one call; whole is set when
	// every row is one document (after its trailing padding is folded in)
	T      int64
	groups []docGroup
	whole  bool
}

// docGroup is the documents of one length L: at[j] = (row, start).
type docGroup struct {
	L  int64
	at [][2]int64
}

// Docs is the layout of a batch's rows: each run of one segment id is a
// document that attends causally within itself, so attention costs
// Σ doc_len², not B·T², and no T×T mask is made. A row's trailing padding
// joins its last document: causal attention never lets a position see a
// later one, and nothing reads the padding's outputs.
func Docs(b *seq.Batch) *Layout {
	lay := &Layout{T: b.T, whole: true}
	index := map[int64]int{} // length → group
	for r := int64(0); r < b.B; r++ {
		seg := b.Seg[r*b.T : (r+1)*b.T]
		end := b.T
		for end > 0 && seg[end-1] == 0 {
			end--
		}
		for start := int64(0); start < b.T; {
			stop := start + 1
			for stop < end && seg[stop] == seg[start] {
				stop++
			}
			if stop == end || end == 0 {
				stop = b.T // the trailing padding
			}
			L := stop - start
			if L != b.T {
				lay.whole = false
			}
			g, ok := index[L]
			if !ok {
				g = len(lay.groups)
				index[L] = g
				lay.groups = append(lay.groups, docGroup{L: L})
			}
			lay.groups[g].at = append(lay.groups[g].at, [2]int64{r, start})
			start = stop
		}
	}
	return lay
}

// Pairs is how many query-key pairs the layout's attention weighs: Σ L²
// over its documents, for the memory estimate (memory.go).
func (lay *Layout) Pairs() int64 {
	var n int64
	for _, g := range lay.groups {
		n += int64(len(g.at)) * g.L * g.L
	}
	return n
}

// Mask returns the explicit attention mask of the layout Docs gives seg
// (B, T): (B, 1, T, T), true where query i may attend key j: same segment
// and j ≤ i. Tests check the per-document path against it.
func Mask(s *torch.Scope, seg *ts.Tensor) *ts.Tensor { return CacheMask(s, seg, seg) }

// CacheMask is the mask for queries that are the last T of S keys, as in
// cached generation: segQ (B, T), segK (B, S) → (B, 1, T, S), true where the
// key is in the query's segment and not after it.
func CacheMask(s *torch.Scope, segQ, segK *ts.Tensor) *ts.Tensor {
	T, S := segQ.MustSize()[1], segK.MustSize()[1]
	dev, _ := segQ.Device()
	same := s.Add(s.Add(segQ.MustUnsqueeze(2, false)).MustEqTensor(s.Add(segK.MustUnsqueeze(1, false)), false)) // (B, T, S)
	causal := s.Add(s.Add(ts.MustOnes([]int64{T, S}, gotch.Bool, dev)).MustTril(S-T, true))                     // (T, S)
	return s.Add(s.Add(same.MustLogicalAnd(causal, false)).MustUnsqueeze(1, false))
}

// Attention is one self-attention block over x (B, T, D). kv, when not nil,
// is this layer's cache for generation: keys and values of earlier positions
// are prepended and the new ones stored.
func (m *Model) Attention(s *torch.Scope, L *Layer, x, cos, sin *ts.Tensor, lay *Layout, kv *KV) (*ts.Tensor, error) {
	c := m.Cfg
	sz := x.MustSize()
	B, T := sz[0], sz[1]
	q := m.linear(s, &L.QProj, x)                                     // (B, T, nH*hd)
	k := m.linear(s, &L.KProj, x)                                     // (B, T, nKV*hd)
	v := m.linear(s, &L.VProj, x)                                     // (B, T, nKV*hd)
	q = s.Add(q.MustView([]int64{B, T, c.Heads, c.HeadDim}, false))   // (B, T, nH, hd)
	k = s.Add(k.MustView([]int64{B, T, c.KVHeads, c.HeadDim}, false)) // (B, T, nKV, hd)
	v = s.Add(v.MustView([]int64{B, T, c.KVHeads, c.HeadDim}, false)) // (B, T, nKV, hd)
	if L.QNorm != nil {                                               // Qwen3 normalises each head
		q = m.rmsnorm(s, q, L.QNorm)
		k = m.rmsnorm(s, k, L.KNorm)
	}
	q = m.rope(s, s.Add(q.MustTranspose(1, 2, false)), cos, sin) // (B, nH, T, hd)
	k = m.rope(s, s.Add(k.MustTranspose(1, 2, false)), cos, sin) // (B, nKV, T, hd)
	v = s.Add(v.MustTranspose(1, 2, false))                      // (B, nKV, T, hd)
	if kv != nil {
		k, v = kv.append(s, k, v) // (B, nKV, P+T, hd)
	}
	rep := c.Heads / c.KVHeads // grouped-query: each kv head serves rep query heads
	fold := rep > 1 && T == 1
	grouped := rep > 1 && !fold && !m.explicitAttention() && torch.HasGQA()
	switch {
	case fold:
		// one new position (a generation step): the rep query heads of a
		// kv head become rep query rows of it, so the cache is read once,
		// never copied rep times; mask (B, 1, 1, S) broadcasts over them
		q = s.Add(q.MustReshape([]int64{B, c.KVHeads, rep, c.HeadDim}, false)) // (B, nKV, rep, hd)
	case rep > 1 && !grouped: // libtorch without grouped-query SDPA (< 2.5)
		k = s.Add(k.MustRepeatInterleaveSelfInt(rep, []int64{1}, nil, false)) // (B, nH, S, hd)
		v = s.Add(v.MustRepeatInterleaveSelfInt(rep, []int64{1}, nil, false)) // (B, nH, S, hd)
	}
	var y *ts.Tensor
	var err error
	if lay.Mask != nil {
		y, err = m.attend(s, q, k, v, lay.Mask, false, grouped) // (B, nH, T, hd); folded (B, nKV, rep, hd)
	} else {
		y, err = m.attendDocs(s, q, k, v, lay, grouped) // (B, nH, T, hd)
	}
	if err != nil {
		return nil, err
	}
	if fold {
		y = s.Add(y.MustReshape([]int64{B, c.Heads, 1, c.HeadDim}, false)) // (B, nH, 1, hd)
	}
	y = s.Add(s.Add(y.MustTranspose(1, 2, false)).MustContiguous(false)) // (B, T, nH, hd)
	y = s.Add(y.MustView([]int64{B, T, c.Heads * c.HeadDim}, false))     // (B, T, nH*hd)
	return m.linear(s, &L.OProj, y), nil                                 // (B, T, D)
}

// attend is softmax(q kᵀ/√hd + mask) v, through libtorch's fused SDPA where
// the shim has it (libtorch ≥ 2.0) and explicitly otherwise. mask (B, 1, T,
// S), or nil with causal set: q and k are the same positions. grouped: k
// and v have fewer heads than q (grouped-query SDPA, libtorch ≥ 2.5).
func (m *Model) attend(s *torch.Scope, q, k, v, mask *ts.Tensor, causal, grouped bool) (*ts.Tensor, error) {
	if grouped {
		y, err := torch.SDPAGQA(q, k, v, mask, causal)
		if err != nil {
			return nil, err
		}
		return s.Add(y), nil
	}
	// the shim's list of stubs says where SDPA is missing (libtorch 1.13):
	// a stub's error is never relied on, since an unlocked goroutine can
	// miss it and read the unset result
	if !m.explicitAttention() {
		am := mask
		if am == nil {
			am = ts.None
		}
		y, err := ts.ScaledDotProductAttention(q, k, v, am, 0, causal, nil)
		if err != nil {
			return nil, err
		}
		return s.Add(y), nil
	}
	if causal {
		T := q.MustSize()[2]
		dev, _ := q.Device()
		mask = s.Add(s.Add(ts.MustOnes([]int64{T, T}, gotch.Bool, dev)).MustTril(0, true)) // (T, T)
	}
	scores := s.Add(s.Add(q.MustMatmul(s.Add(k.MustTranspose(-2, -1, false)), false)).MustMulScalar(m.scale, false)) // (B, nH, T, S)
	scores = s.Add(scores.MustMaskedFill(s.Add(mask.MustLogicalNot(false)), m.negInf, false))
	p := s.Add(s.Add(scores.MustSoftmax(-1, gotch.Float, false)).MustTotype(m.DType, false)) // softmax in float32, as HF
	return s.Add(p.MustMatmul(v, false)), nil                                                // (B, nH, T, hd)
}

// attendDocs is causal attention within each document of lay over q (B, nH,
// T, hd) and k, v (B, nH or nKV, T, hd): the documents of one length are stacked and attend in
// one call, then every row is put back together in position order.
func (m *Model) attendDocs(s *torch.Scope, q, k, v *ts.Tensor, lay *Layout, grouped bool) (*ts.Tensor, error) {
	if lay.whole {
		return m.attend(s, q, k, v, nil, true, grouped)
	}
	B := q.MustSize()[0]
	pieces := make([]map[int64]*ts.Tensor, B) // row → start → (1, nH, L, hd)
	for r := range pieces {
		pieces[r] = map[int64]*ts.Tensor{}
	}
	stack := func(x *ts.Tensor, g *docGroup) *ts.Tensor { // (n, nH, L, hd)
		docs := make([]*ts.Tensor, len(g.at))
		for j, at := range g.at {
			docs[j] = s.Add(s.Add(x.MustNarrow(0, at[0], 1, false)).MustNarrow(2, at[1], g.L, false))
		}
		if len(docs) == 1 {
			return docs[0]
		}
		return s.Add(ts.MustCat(docs, 0))
	}
	for i := range lay.groups {
		g := &lay.groups[i]
		y, err := m.attend(s, stack(q, g), stack(k, g), stack(v, g), nil, true, grouped) // (n, nH, L, hd)
		if err != nil {
			return nil, err
		}
		for j, at := range g.at {
			pieces[at[0]][at[1]] = s.Add(y.MustNarrow(0, int64(j), 1, false))
		}
	}
	rows := make([]*ts.Tensor, B)
	for r := range rows {
		var parts []*ts.Tensor
		for start := int64(0); start < lay.T; start += parts[len(parts)-1].MustSize()[2] {
			parts = append(parts, pieces[r][start])
		}
		rows[r] = s.Add(ts.MustCat(parts, 2)) // (1, nH, T, hd)
	}
	return s.Add(ts.MustCat(rows, 0)), nil // (B, nH, T, hd)
}

// MLP is SwiGLU: down(silu(gate(x)) · up(x)).
func (m *Model) MLP(s *torch.Scope, L *Layer, x *ts.Tensor) *ts.Tensor {
	g := s.Add(m.linear(s, &L.Gate, x).MustSilu(false)) // (B, T, I)
	u := m.linear(s, &L.Up, x)                          // (B, T, I)
	return m.linear(s, &L.Down, s.Add(g.MustMul(u, false)))
}

// Hidden runs the decoder over ids (B, T) at positions pos (B, T) in layout
// lay and returns the final normalised hidden states (B, T, D).
// cache, when not nil, holds one KV per layer for incremental generation.
func (m *Model) Hidden(s *torch.Scope, ids, pos *ts.Tensor, lay *Layout, cache []*KV) (*ts.Tensor, error) {
	h, err := m.layers(s, ids, pos, lay, cache, nil)
	if err != nil {
		return nil, err
	}
	return m.FinalNorm(s, h), nil
}

// layers is the decoder's one layer loop: token embeddings, then every
// block in turn; it returns the top block's output (B, T, D). With stash set
// (gradient checkpointing's forward pass, run without grad: see
// checkpoint.go) each block runs in a scope of its own, dropped as soon as
// stash has kept its own handle on the block's output, so that only the
// layers' inputs stay in memory.
func (m *Model) layers(s *torch.Scope, ids, pos *ts.Tensor, lay *Layout, cache []*KV, stash func(*ts.Tensor) *ts.Tensor) (*ts.Tensor, error) {
	h := m.Embedding(s, ids)     // (B, T, D)
	cos, sin := m.Rotary(s, pos) // (B, 1, T, hd)
	if stash != nil {
		h = stash(h)
	}
	for i := range m.Layers {
		var kv *KV
		if cache != nil {
			kv = cache[i]
		}
		ls := s
		if stash != nil {
			ls = &torch.Scope{}
		}
		out, err := m.Block(ls, i, h, cos, sin, lay, kv) // (B, T, D)
		if err == nil && stash != nil {
			out = stash(out)
		}
		if ls != s {
			ls.Drop()
		}
		if err != nil {
			return nil, err
		}
		h = out
	}
	return h, nil
}

// Embedding looks up ids (B, T) → (B, T, D).
func (m *Model) Embedding(s *torch.Scope, ids *ts.Tensor) *ts.Tensor {
	return s.Add(ts.MustEmbedding(m.Embed, ids, -1, false, false))
}

// Block is decoder layer i: h + attn(norm(h)), then + mlp(norm(·)). Its
// intermediates live in a scope of their own, dropped when it returns:
// autograd keeps what backward needs, the rest (a LoRA linear's partial
// sums, rope's halves, ...) is freed now, not at the end of the step.
func (m *Model) Block(s *torch.Scope, i int, h, cos, sin *ts.Tensor, lay *Layout, kv *KV) (*ts.Tensor, error) {
	L := &m.Layers[i]
	bs := &torch.Scope{}
	defer bs.Drop()
	a, err := m.Attention(bs, L, m.rmsnorm(bs, h, L.InputNorm), cos, sin, lay, kv)
	if err != nil {
		return nil, err
	}
	h = bs.Add(h.MustAdd(a, false))
	return s.Add(h.MustAdd(m.MLP(bs, L, m.rmsnorm(bs, h, L.PostNorm)), false)), nil
}

// FinalNorm is model.norm over hidden states (..., D).
func (m *Model) FinalNorm(s *torch.Scope, h *ts.Tensor) *ts.Tensor { return m.rmsnorm(s, h, m.Norm) }

// Logits projects hidden states (..., D) to the vocabulary (..., V) in
// float32. Score and train never call it on all positions: they take the
// LM head chunk by chunk at the target positions only (targets.go), and
// generation at the last position only.
func (m *Model) Logits(s *torch.Scope, h *ts.Tensor) *ts.Tensor {
	return s.Add(s.Add(ts.MustLinear(h, m.LMHead, ts.None)).MustTotype(gotch.Float, false))
}

// linear applies l to x (..., in) → (..., out).
func (m *Model) linear(s *torch.Scope, l *Linear, x *ts.Tensor) *ts.Tensor {
	b := ts.None
	if l.Bias != nil {
		b = l.Bias
	}
	y := s.Add(ts.MustLinear(x, l.Weight, b))
	if l.LoRA == nil {
		return y
	}
	return s.Add(y.MustAdd(l.LoRA.forward(s, x, m.Training), false))
}

// KV is one layer's key/value cache: (B, nKV, P, hd) each, P positions so far.
type KV struct{ K, V *ts.Tensor }

// append prepends the cached keys and values to the new ones (B, nKV, T, hd)
// and keeps the result as the cache. The cache outlives the step's scope.
func (kv *KV) append(s *torch.Scope, k, v *ts.Tensor) (*ts.Tensor, *ts.Tensor) {
	if kv.K != nil {
		nk := ts.MustCat([]*ts.Tensor{kv.K, k}, 2)
		nv := ts.MustCat([]*ts.Tensor{kv.V, v}, 2)
		kv.K.MustDrop()
		kv.V.MustDrop()
		kv.K, kv.V = nk, nv
	} else {
		kv.K, kv.V = k.MustShallowClone(), v.MustShallowClone()
	}
	return kv.K, kv.V
}

// Keep keeps the rows of the cache that rows (B', int64, on the cache's
// device) names, in that order: a finished answer leaves the batch.
func (kv *KV) Keep(rows *ts.Tensor) error {
	if kv.K == nil {
		return nil
	}
	nk, err := kv.K.IndexSelect(0, rows, false)
	if err != nil {
		return err
	}
	nv, err := kv.V.IndexSelect(0, rows, false)
	if err != nil {
		nk.MustDrop()
		return err
	}
	kv.Drop()
	kv.K, kv.V = nk, nv
	return nil
}

// Drop frees the cache.
func (kv *KV) Drop() {
	if kv.K != nil {
		kv.K.MustDrop()
		kv.V.MustDrop()
		kv.K, kv.V = nil, nil
	}
}
