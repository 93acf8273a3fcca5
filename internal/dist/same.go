package dist

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"

	"github.com/ytrain/ytrain/internal/torch"
)

// Field is one thing every rank must agree on: a flag's value, the hash of
// a model or data file.
type Field struct{ Name, Value string }

// CheckSame refuses a run whose ranks disagree on fields: every rank
// all-gathers a hash of each field, and all of them return the same error,
// naming the ranks and fields that differ from rank 0's. A world of one
// always agrees.
func (g *Group) CheckSame(fields []Field) error {
	if g.single() {
		return nil
	}
	names := make([]string, len(fields))
	hashes := make([]int64, len(fields))
	for i, f := range fields {
		names[i] = f.Name
		hashes[i] = hash64(f.Name, f.Value)
	}
	// First the list of names: a different list would make the second
	// gather's sizes differ, which c10d cannot report well.
	head, err := g.gather([]int64{int64(len(fields)), hash64(names...)})
	if err != nil {
		return err
	}
	var odd []string
	for r := 1; r < g.Size(); r++ {
		switch {
		case head[r][0] != head[0][0]:
			odd = append(odd, fmt.Sprintf("rank %d checks %d settings, rank 0 %d", r, head[r][0], head[0][0]))
		case head[r][1] != head[0][1]:
			odd = append(odd, fmt.Sprintf("rank %d checks other settings than rank 0", r))
		}
	}
	if len(odd) > 0 {
		return g.errorf("config check", fmt.Errorf("ranks run different builds or commands: %s", strings.Join(odd, "; ")))
	}
	if len(fields) == 0 {
		return nil
	}
	all, err := g.gather(hashes)
	if err != nil {
		return err
	}
	for r := 1; r < g.Size(); r++ {
		var differ []string
		for i := range fields {
			if all[r][i] != all[0][i] {
				differ = append(differ, fields[i].Name)
			}
		}
		if len(differ) > 0 {
			odd = append(odd, fmt.Sprintf("rank %d's %s", r, strings.Join(differ, ", ")))
		}
	}
	if len(odd) > 0 {
		return g.errorf("config check", fmt.Errorf("ranks disagree with rank 0 on the run's configuration: %s (launch every rank with the same flags, model and data)", strings.Join(odd, "; ")))
	}
	return nil
}

// gather all-gathers vals from every rank: out[r] is rank r's.
func (g *Group) gather(vals []int64) ([][]int64, error) {
	n := int64(len(vals))
	in, err := torch.Int64s(vals, g.dev, n)
	if err != nil {
		return nil, g.errorf("config check", err)
	}
	defer in.MustDrop()
	out, err := ts.Zeros([]int64{int64(g.Size()) * n}, in.DType(), g.dev)
	if err != nil {
		return nil, g.errorf("config check", err)
	}
	defer out.MustDrop()
	if err := g.AllGather(out, in); err != nil {
		return nil, err
	}
	flat, err := torch.ReadInt64s(out)
	if err != nil {
		return nil, g.errorf("config check", err)
	}
	rows := make([][]int64, g.Size())
	for r := range rows {
		rows[r] = flat[int64(r)*n : int64(r+1)*n]
	}
	return rows, nil
}

// GatherFloat32s all-gathers vals, whose length may differ by rank: out[r]
// is rank r's. (Two collectives: the lengths, then the values padded to the
// longest.)
func (g *Group) GatherFloat32s(vals []float32) ([][]float32, error) {
	if g.single() {
		return [][]float32{vals}, nil
	}
	lens, err := g.gather([]int64{int64(len(vals))})
	if err != nil {
		return nil, err
	}
	longest := int64(0)
	for _, l := range lens {
		longest = max(longest, l[0])
	}
	out := make([][]float32, g.Size())
	if longest == 0 {
		return out, nil
	}
	padded := make([]float32, longest)
	copy(padded, vals)
	in, err := ts.OfSlice(padded)
	if err != nil {
		return nil, g.errorf("all-gather", err)
	}
	defer in.MustDrop()
	if g.dev != gotch.CPU {
		d, err := in.To(g.dev, false)
		if err != nil {
			return nil, g.errorf("all-gather", err)
		}
		defer d.MustDrop()
		in = d
	}
	all, err := ts.Zeros([]int64{int64(g.Size()) * longest}, gotch.Float, g.dev)
	if err != nil {
		return nil, g.errorf("all-gather", err)
	}
	defer all.MustDrop()
	if err := g.AllGather(all, in); err != nil {
		return nil, err
	}
	flat, err := torch.Float32s(all)
	if err != nil {
		return nil, g.errorf("all-gather", err)
	}
	for r := range out {
		out[r] = flat[int64(r)*longest : int64(r)*longest+lens[r][0]]
	}
	return out, nil
}

// hash64 is a hash of the strings, each length-prefixed so that ("ab", "c")
// and ("a", "bc") differ.
func hash64(parts ...string) int64 {
	h := sha256.New()
	var n [8]byte
	for _, p := range parts {
		binary.LittleEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write([]byte(p))
	}
	return int64(binary.LittleEndian.Uint64(h.Sum(nil)))
}
