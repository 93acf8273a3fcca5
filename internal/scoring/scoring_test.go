package scoring

import (
	"fmt"
	"math"
	"math/rand"
	"runtime"
	"testing"

	"github.com/ytrain/ytrain/formats"
	"github.com/ytrain/ytrain/internal/model"
	"github.com/ytrain/ytrain/internal/modeltest"
	"github.com/ytrain/ytrain/internal/packing"
	"github.com/ytrain/ytrain/internal/seq"
	"github.com/ytrain/ytrain/internal/tinymodel"
)

func init() { runtime.LockOSThread() }

func setup(t *testing.T) (*model.Model, *tinymodel.Reference, []formats.Token) {
	t.Helper()
	m, dir := modeltest.New(t, tinymodel.Spec{Arch: "Qwen3ForCausalLM", Vocab: 211, Seed: 7})
	ref, err := tinymodel.NewReference(dir)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(1))
	var docs []formats.Token
	for i := 0; i < 9; i++ {
		n := 2 + rng.Intn(20)
		d := formats.Token{ID: fmt.Sprintf("d%d", i), InputIDs: make([]int32, n), LossMask: make(formats.Mask, n)}
		for k := range d.InputIDs {
			d.InputIDs[k] = int32(rng.Intn(211))
			if k >= n/3 && k > 0 { // a prompt, then the answer
				d.LossMask[k] = 1
			}
		}
		docs = append(docs, d)
	}
	return m, ref, docs
}

// want computes a document's curves from the float64 reference.
func want(ref *tinymodel.Reference, d formats.Token, from int) (loss, ent []float64) {
	ids := make([]int, len(d.InputIDs)-from)
	pos := make([]int, len(ids))
	seg := make([]int, len(ids))
	for i := range ids {
		ids[i], pos[i], seg[i] = int(d.InputIDs[from+i]), i, 1
	}
	logits := ref.Logits(ids, pos, seg)
	for t := 1; t < len(ids); t++ {
		if d.LossMask[from+t] == 0 {
			continue
		}
		row := logits[t-1]
		mx := math.Inf(-1)
		for _, v := range row {
			mx = math.Max(mx, v)
		}
		z := 0.0
		for _, v := range row {
			z += math.Exp(v - mx)
		}
		lse := mx + math.Log(z)
		h := 0.0
		for _, v := range row {
			lp := v - lse
			h -= math.Exp(lp) * lp
		}
		loss = append(loss, lse-row[ids[t]])
		ent = append(ent, h)
	}
	return loss, ent
}

func close4(t *testing.T, what string, got []float32, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if math.Abs(float64(got[i])-want[i]) > 1e-4 {
			t.Fatalf("%s[%d] = %v, reference %v", what, i, got[i], want[i])
		}
	}
}

// scoreAll scores seqs and checks that one record comes out per document.
func scoreAll(t *testing.T, sc *Scorer, seqs []*seq.Seq, docs int) []*formats.Score {
	var out []*formats.Score
	sc.Emit = func(s *formats.Score) error { out = append(out, s); return nil }
	for _, s := range seqs {
		if err := sc.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := sc.Close(); err != nil {
		t.Fatal(err)
	}
	if len(out) != docs {
		t.Fatalf("%d scores for %d documents", len(out), docs)
	}
	return out
}

func TestTokenRecordsMatchReference(t *testing.T) {
	m, ref, docs := setup(t)
	var seqs []*seq.Seq
	for i := range docs {
		seqs = append(seqs, seq.FromToken(&docs[i]))
	}
	out := scoreAll(t, &Scorer{M: m, BatchTokens: 64, PromptFree: true}, seqs, len(docs))
	for i, d := range docs {
		s := out[i]
		if s.ID != d.ID {
			t.Fatalf("score %d is %s, want %s (order)", i, s.ID, d.ID)
		}
		l, e := want(ref, d, 0)
		close4(t, d.ID+" loss", s.Loss, l)
		close4(t, d.ID+" entropy", s.Entropy, e)
		first := 0
		for first < len(d.LossMask) && d.LossMask[first] == 0 {
			first++
		}
		fl, _ := want(ref, d, first-1)
		close4(t, d.ID+" prompt-free loss", s.PromptFreeLoss, fl)
		mean := 0.0
		for _, v := range l {
			mean += v
		}
		mean /= float64(len(l))
		if math.Abs(float64(s.MeanLoss)-mean) > 1e-4 || math.Abs(float64(s.PPL)-math.Exp(mean)) > 1e-3*math.Exp(mean) {
			t.Fatalf("%s: mean_loss %v ppl %v, want %v %v", d.ID, s.MeanLoss, s.PPL, mean, math.Exp(mean))
		}
		if sum := s.FracKnown + s.FracLearning + s.FracHard + s.FracCut; math.Abs(float64(sum)-1) > 1e-6 {
			t.Fatalf("%s: region shares sum to %v", d.ID, sum)
		}
	}
}

// Packing (with documents split into chunks) gives each document its own
// curves back, equal to scoring it alone except at chunk starts.
func TestPackedMatchesTokens(t *testing.T) {
	m, ref, docs := setup(t)
	var rows []formats.Packed
	p, _ := packing.New(packing.Options{Length: 16, Strategy: packing.NextFit}, func(r *formats.Packed) error {
		rows = append(rows, *r)
		return nil
	})
	for i := range docs {
		p.Add(&docs[i])
	}
	p.Flush()
	var seqs []*seq.Seq
	for i := range rows {
		seqs = append(seqs, seq.FromPacked(&rows[i]))
	}
	out := scoreAll(t, &Scorer{M: m, BatchTokens: 48}, seqs, len(docs))
	for i, d := range docs {
		if len(d.InputIDs) > 16 {
			continue // chunks see less context: not comparable to the whole document
		}
		l, e := want(ref, d, 0)
		close4(t, d.ID+" loss", out[i].Loss, l)
		close4(t, d.ID+" entropy", out[i].Entropy, e)
	}
}
