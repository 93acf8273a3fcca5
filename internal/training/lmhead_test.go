package training

import (
	"math"
	"strings"
	"testing"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"

	"github.com/ytrain/ytrain/internal/model"
	"github.com/ytrain/ytrain/internal/modeltest"
	"github.com/ytrain/ytrain/internal/seq"
	"github.com/ytrain/ytrain/internal/tinymodel"
	"github.com/ytrain/ytrain/internal/torch"
	"github.com/ytrain/ytrain/internal/weighting"
)

// The LM head taken 5 targets at a time (model/targets.go) gives the losses,
// top-k entropies and gradients of the whole (N, V) logits under autograd,
// the way the step computed them before: LoRA (frozen head), a full
// fine-tune, and a full fine-tune of a model with tied embeddings (the
// head's gradient and the embedding lookup's add up in one tensor).
func TestChunkedHeadMatchesWholeLogits(t *testing.T) {
	lock(t)
	_, data := fixture(t, 4)
	cases := []struct {
		name       string
		lora, tied bool
		w          weighting.Scheme
	}{
		{"lora-nlirg", true, false, weighting.DefaultNLIRG()},
		{"lora-eaft", true, true, weighting.EAFT{Alpha: 1, TopK: 8}},
		{"full-nlirg", false, false, weighting.DefaultNLIRG()},
		{"full-tied-eaft", false, true, weighting.EAFT{Alpha: 1, TopK: 8}},
	}
	for _, c := range cases {
		modelDir := modeltest.Write(t, tinymodel.Spec{Arch: "Qwen3ForCausalLM", Vocab: vocab, Hidden: 32, Heads: 4, KVHeads: 2, Inter: 64, Tied: c.tied, Seed: 1})
		cfg := baseConfig(modelDir, data, t.TempDir())
		cfg.Weighting = c.w
		m := modeltest.Load(t, modelDir)
		if c.tied != (m.LMHead == m.Embed) {
			t.Fatalf("%s: tied=%v but the head is the embedding: %v", c.name, c.tied, m.LMHead == m.Embed)
		}
		tr := &trainer{cfg: cfg, m: m}
		if e, ok := c.w.(weighting.EntropyUser); ok {
			tr.topK = e.EntropyTopK()
		}
		params := m.Params
		if c.lora {
			params, _ = m.AttachLoRA(*cfg.LoRA)
			for _, n := range sortedKeys(params) { // B starts at zero, which would hide errors in A's gradient
				if strings.HasSuffix(n, "lora_B.weight") {
					p := params[n]
					r := ts.MustRand(p.MustSize(), gotch.Float, gotch.CPU)
					ts.NoGrad(func() { p.Copy_(r) })
					r.MustDrop()
				}
			}
		} else {
			for _, p := range params {
				p.MustRequiresGrad_(true)
			}
		}
		tr.opt = newAdamW(params, sortedKeys(params), 0.9, 0.999, 1e-8, 0)
		seqs, _ := seq.Read(cfg.Data, seq.Limits{Vocab: vocab})
		u := (layout{stepping: Fused, batchSize: 4}).units(seqs, 0)[0]
		grads := func() map[string][]float32 {
			out := map[string][]float32{}
			for _, q := range tr.opt.params {
				out[q.name], _ = torch.Float32s(q.p.MustGrad(false))
			}
			return out
		}

		m.HeadChunk = 5
		tr.opt.zeroGrad()
		res, err := tr.runUnit(&u, 0.5)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(res.losses); n <= 2*int(m.HeadChunk) {
			t.Fatalf("%s: %d targets: too few for several chunks", c.name, n)
		}
		chunked := grads()

		tr.opt.zeroGrad()
		want, wantTopK := wholeLogitsStep(t, tr, &u, 0.5)
		whole := grads()

		worst := func(a, b []float32) float64 {
			d := 0.0
			for i := range a {
				d = math.Max(d, math.Abs(float64(a[i]-b[i])))
			}
			return d
		}
		dl := worst(res.losses, want)
		dg, gmax := 0.0, 0.0
		for n, g := range whole {
			dg = math.Max(dg, worst(g, chunked[n]))
			gmax = math.Max(gmax, worst(g, make([]float32, len(g))))
		}
		dk := 0.0
		if tr.topK > 0 {
			dk = worst(wantTopK, chunkedTopK(t, tr, &u))
		}
		t.Logf("%s: %d targets in chunks of %d: max |Δ| loss %.2g, top-k entropy %.2g, gradients %.2g (largest gradient %.2g)",
			c.name, len(want), m.HeadChunk, dl, dk, dg, gmax)
		if dl > 1e-5 || dk > 1e-5 || dg > 1e-5 || gmax < 1e-3 {
			t.Fatalf("%s: chunked vs whole logits: loss %g, top-k entropy %g, gradients %g apart (largest gradient %g)", c.name, dl, dk, dg, gmax)
		}
		m.HeadChunk = 0
	}
}

// wholeLogitsStep is the step's objective with the (N, V) logits whole and
// autograd's backward: the reference for the chunked LM head. It returns
// the losses and top-k entropies.
func wholeLogitsStep(t *testing.T, tr *trainer, u *unit, gradScale float64) (losses, topK []float32) {
	t.Helper()
	b := seq.NewBatch(u.seqs, u.targets)
	s := &torch.Scope{}
	defer s.Drop()
	ids, pos, err := b.Tensors(s, tr.m.Device)
	if err != nil {
		t.Fatal(err)
	}
	seg, err := seq.Upload(s, tr.m.Device, b.Seg, b.B, b.T)
	if err != nil {
		t.Fatal(err)
	}
	n := int64(len(b.Prev))
	prev, tgt, err := b.Targets(s, tr.m.Device)
	if err != nil {
		t.Fatal(err)
	}
	err = tr.m.Backward(s, ids, pos, &model.Layout{Mask: model.Mask(s, seg)}, false, func(s *torch.Scope, h *ts.Tensor) (*ts.Tensor, error) {
		logits := tr.m.TargetLogits(s, h, prev) // (N, V)
		nll, _ := model.NLL(s, logits, tgt)     // (N)
		losses, _ = torch.Float32s(nll)
		toks := make([]weighting.Token, n)
		for i, l := range losses {
			toks[i].Loss = l
		}
		if tr.topK > 0 {
			topK, _ = torch.Float32s(model.TopKEntropy(s, logits, tr.topK))
			for i := range toks {
				toks[i].Entropy = topK[i]
			}
		}
		w := make([]float32, n)
		tr.cfg.Weighting.Weights(toks, w)
		_, denom, ok := weighting.SFTReduce(losses, w)
		if !ok {
			t.Fatal("every weight is 0")
		}
		wt := s.Add(ts.MustOfSlice(w))
		wl := s.Add(s.Add(nll.MustMul(wt, false)).MustSum(gotch.Float, false))
		return s.Add(wl.MustMulScalar(ts.FloatScalar(gradScale/float64(denom)), false)), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return losses, topK
}

// chunkedTopK is the chunked head's top-k entropies of u's targets.
func chunkedTopK(t *testing.T, tr *trainer, u *unit) []float32 {
	t.Helper()
	b := seq.NewBatch(u.seqs, u.targets)
	s := &torch.Scope{}
	defer s.Drop()
	ids, pos, err := b.Tensors(s, tr.m.Device)
	if err != nil {
		t.Fatal(err)
	}
	prev, tgt, err := b.Targets(s, tr.m.Device)
	if err != nil {
		t.Fatal(err)
	}
	var tl *model.TargetLoss
	ts.NoGrad(func() {
		h, err := tr.m.Hidden(s, ids, pos, model.Docs(b), nil)
		if err == nil {
			tl, err = tr.m.TargetLosses(s, h, prev, tgt, tr.topK)
		}
		if err != nil {
			t.Fatal(err)
		}
	})
	return tl.TopK
}

// A unit the memory budget cannot hold stops the run with the records named
// and the memory they would need, before libtorch allocates it.
func TestMemoryEstimateStopsTraining(t *testing.T) {
	lock(t)
	modelDir, data := fixture(t, 2)
	t.Setenv(model.MemoryLimitEnv, "16K")
	err := Run(baseConfig(modelDir, data, t.TempDir()))
	if err == nil {
		t.Fatal("trained with 16 KB of memory")
	}
	for _, want := range []string{`training on records "d0", "d1"`, "would need about", "YTRAIN_MEMORY_LIMIT is 16 KB", "--gradient-checkpointing"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q lacks %q", err, want)
		}
	}
}
