package training

import (
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"

	"github.com/sugarme/gotch/ts"

	"github.com/ytrain/ytrain/internal/dist"
	"github.com/ytrain/ytrain/internal/torch"
	"github.com/ytrain/ytrain/internal/weighting"
)

// Data parallelism (docs/distributed.md). Every rank lays out the epoch with
// the global batch (--batch-size × ranks), so the units and the data cursor
// are those of one process; a rank runs its part of each unit, and the unit's
// objective is reduced over all of them, so the gradients summed over the
// ranks are one process's.

// part is rank r's share of unit u among w ranks: a contiguous run of its
// sequences (fused SFT, CPT), or of its window's targets (windowed SFT: every
// rank runs the sequence). Rank order is the one-process order. A part may
// be empty; its rank still takes part in the unit's collectives.
func (l layout) part(u unit, r, w int) unit {
	if w <= 1 {
		return u
	}
	if l.stepping == Windowed {
		t := u.targets[0]
		return unit{seqs: u.seqs, targets: [][]int{t[r*len(t)/w : (r+1)*len(t)/w]}}
	}
	n := len(u.seqs)
	lo, hi := r*n/w, (r+1)*n/w
	return unit{seqs: u.seqs[lo:hi], targets: u.targets[lo:hi]}
}

func (u unit) nTargets() int {
	n := 0
	for _, t := range u.targets {
		n += len(t)
	}
	return n
}

// weigh turns this rank's targets into its weights and the unit's global
// reduction: the targets' losses (and entropies) are all-gathered, so every
// rank weighs and reduces the whole unit's list as one process does, and
// keeps its own slice of the weights. res gets the global losses, weights,
// objective and verdicts (bad, skipped), the same on every rank. local is
// nil when there is no backward to run.
func (tr *trainer) weigh(toks []weighting.Token, res *unitResult) (local []float32, denom int, err error) {
	losses := make([]float32, len(toks))
	for i, t := range toks {
		losses[i] = t.Loss
	}
	byRank, err := tr.g.GatherFloat32s(losses)
	if err != nil {
		return nil, 0, err
	}
	res.losses = slices.Concat(byRank...)
	off := 0
	for r := range tr.g.Rank() {
		off += len(byRank[r])
	}
	res.bad = false
	for _, l := range res.losses {
		res.bad = res.bad || math.IsNaN(float64(l)) || math.IsInf(float64(l), 0)
	}
	if res.bad {
		return nil, 0, nil
	}
	all := make([]weighting.Token, len(res.losses))
	for i, l := range res.losses {
		all[i].Loss = l
	}
	if tr.topK > 0 {
		ent := make([]float32, len(toks))
		for i, t := range toks {
			ent[i] = t.Entropy
		}
		byRank, err := tr.g.GatherFloat32s(ent)
		if err != nil {
			return nil, 0, err
		}
		for i, e := range slices.Concat(byRank...) {
			all[i].Entropy = e
		}
	}
	res.weights = make([]float32, len(all))
	tr.cfg.Weighting.Weights(all, res.weights)
	var ok bool
	if tr.cfg.Objective == "cpt" {
		res.j, ok = weighting.CPTReduce(res.losses, res.weights)
		denom = len(res.losses)
	} else {
		res.j, denom, ok = weighting.SFTReduce(res.losses, res.weights)
	}
	if !ok {
		res.skipped = true
		return nil, 0, nil
	}
	if len(toks) == 0 {
		return nil, denom, nil
	}
	return res.weights[off : off+len(toks)], denom, nil
}

// sumTokens is the padded tokens all ranks ran since the last step (for
// tokens/s).
func (tr *trainer) sumTokens(local int) (int, error) {
	if tr.g.Size() == 1 {
		return local, nil
	}
	t, err := ts.OfSlice([]float64{float64(local)})
	if err != nil {
		return 0, err
	}
	defer t.MustDrop()
	if err := tr.g.AllReduceSum(t); err != nil {
		return 0, err
	}
	v, err := torch.Float32s(t)
	if err != nil {
		return 0, err
	}
	return int(v[0]), nil
}

// agreement is what every rank must agree on before training: the run's
// settings (spec) and what else sets the arithmetic (dist.Group.CheckSame
// names the ranks and fields that differ).
func (tr *trainer) agreement(run spec) []dist.Field {
	c := tr.cfg
	build := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		build = bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" || s.Key == "vcs.modified" {
				build += " " + s.Value
			}
		}
	}
	f := []dist.Field{{Name: "build", Value: build}}
	for _, s := range run.settings() {
		f = append(f, dist.Field{Name: "--" + s.flag, Value: fmt.Sprint(s.value)})
	}
	f = append(f,
		dist.Field{Name: "--dtype", Value: c.DType},
		dist.Field{Name: "--gradient-checkpointing", Value: fmt.Sprint(c.GradientCheckpointing)},
		dist.Field{Name: "--resume", Value: filepath.Base(c.Resume)},
		dist.Field{Name: "--zero", Value: fmt.Sprint(c.Zero)},
		dist.Field{Name: "model files (config.json, weight file sizes)", Value: modelPrint(c.Model)})
	for _, e := range tr.evals {
		f = append(f, dist.Field{Name: "--eval-data " + e.name, Value: fingerprint(e.seqs)})
	}
	return f
}

// modelPrint is config.json and the sizes of the weight files: different
// checkpoints differ there without reading gigabytes of weights.
func modelPrint(dir string) string {
	h := fnv.New64a()
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	h.Write(b)
	files, _ := filepath.Glob(filepath.Join(dir, "*.safetensors"))
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			fmt.Fprintf(h, "%s %d;", filepath.Base(f), fi.Size())
		}
	}
	return fmt.Sprintf("%x %v", h.Sum64(), err)
}
