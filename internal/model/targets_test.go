package model_test

import (
	"math"
	"runtime"
	"testing"

	"github.com/sugarme/gotch/ts"

	"github.com/ytrain/ytrain/internal/model"
	"github.com/ytrain/ytrain/internal/modeltest"
	"github.com/ytrain/ytrain/internal/seq"
	"github.com/ytrain/ytrain/internal/tinymodel"
	"github.com/ytrain/ytrain/internal/torch"
)

// TargetStats taken 3 targets at a time gives what it gives in one chunk,
// and both match the loss and entropy of the float64 reference's logits.
func TestTargetStatsChunks(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	spec := tinymodel.Spec{Arch: "Qwen3ForCausalLM", Vocab: 97, Hidden: 48, Heads: 4, Inter: 80, Tied: true, Seed: 5}
	m, dir := modeltest.New(t, spec)
	ref, err := tinymodel.NewReference(dir)
	if err != nil {
		t.Fatal(err)
	}
	ids := []int64{5, 17, 3, 96, 40, 40, 2, 11, 63, 7, 0, 0}
	pos := []int64{0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 0, 0}
	seg := []int64{1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0}
	var prev, tgt []int64 // every position predicting the next token of its document
	for p := 0; p+1 < len(ids); p++ {
		if seg[p] != 0 && seg[p+1] == seg[p] {
			prev, tgt = append(prev, int64(p)), append(tgt, ids[p+1])
		}
	}
	stats := func(chunk int64) (loss, ent []float32) {
		m.HeadChunk = chunk
		defer func() { m.HeadChunk = 0 }()
		s := &torch.Scope{}
		defer s.Drop()
		up := func(v []int64) *ts.Tensor {
			x, err := torch.Int64s(v, m.Device, 1, int64(len(v)))
			if err != nil {
				t.Fatal(err)
			}
			return s.Add(x)
		}
		b := &seq.Batch{B: 1, T: int64(len(ids)), Seg: seg}
		h, err := m.Hidden(s, up(ids), up(pos), model.Docs(b), nil)
		if err != nil {
			t.Fatal(err)
		}
		loss, ent, err = m.TargetStats(h, prev, tgt)
		if err != nil {
			t.Fatal(err)
		}
		return loss, ent
	}
	if m.HeadRows() < int64(len(prev)) {
		t.Fatalf("the default chunk of %d rows splits %d targets of a 97-token vocabulary", m.HeadRows(), len(prev))
	}
	wholeL, wholeE := stats(0)
	chunkL, chunkE := stats(3)
	logits := ref.Logits(toInts(ids), toInts(pos), toInts(seg))
	var dChunk, dRef float64
	for k, p := range prev {
		z := logits[p]
		mx := math.Inf(-1)
		for _, v := range z {
			mx = math.Max(mx, v)
		}
		sum := 0.0
		for _, v := range z {
			sum += math.Exp(v - mx)
		}
		lse := mx + math.Log(sum)
		ent := 0.0
		for _, v := range z {
			ent -= math.Exp(v-lse) * (v - lse)
		}
		dRef = max(dRef, rel(chunkL[k], lse-z[tgt[k]]), rel(chunkE[k], ent))
		dChunk = max(dChunk, rel(chunkL[k], float64(wholeL[k])), rel(chunkE[k], float64(wholeE[k])))
	}
	t.Logf("%d targets: chunks of 3 vs one chunk %.2g, vs the float64 reference %.2g (relative to max(1, |value|))", len(prev), dChunk, dRef)
	// chunks change only the order float32 sums the vocabulary in: a few
	// ulps (1.1e-6 seen on libtorch 1.13's explicit attention), where a
	// wrong chunk boundary would be off by whole nats
	if dChunk > 4e-6 || dRef > 1e-5 {
		t.Fatalf("loss/entropy: chunks of 3 vs one chunk differ by %g, vs the float64 reference by %g", dChunk, dRef)
	}
}

// rel is |got − want| / max(1, |want|): this random model's losses reach 60,
// where float32 resolves 4e-6.
func rel(got float32, want float64) float64 {
	return math.Abs(float64(got)-want) / max(1, math.Abs(want))
}
