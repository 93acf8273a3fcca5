package training

import (
	"slices"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"

	"github.com/ytrain/ytrain/internal/dist"
)

// --zero 1: the optimizer's state (AdamW's moments and, for weights below
// float32, the float32 masters: 12 bytes per parameter beside the weight's
// 2) is sharded over the ranks. Each parameter has one owner, chosen to
// balance the ranks' shares; only the owner keeps its state and updates it,
// from the all-reduced gradient every rank holds, then broadcasts the new
// weight. Each parameter sees exactly one process's arithmetic. (Gradients
// are all-reduced, not reduce-scattered: sharding them too is ZeRO-2.)

// shard keeps the state of the parameters rank owns among w ranks and
// drops the rest (m == nil marks a parameter owned elsewhere).
func (o *adamW) shard(rank, w int) {
	if w <= 1 {
		return
	}
	o.zero = true
	order := make([]int, len(o.params))
	for i := range order {
		order[i] = i
	}
	size := func(q *param) int64 { return int64(q.p.Numel()) }
	slices.SortStableFunc(order, func(a, b int) int { return int(size(o.params[b]) - size(o.params[a])) })
	loads := make([]int64, w)
	for _, i := range order { // largest first, each to the least loaded rank
		r := 0
		for k := range loads {
			if loads[k] < loads[r] {
				r = k
			}
		}
		q := o.params[i]
		q.owner, loads[r] = r, loads[r]+size(q)
		if r != rank {
			q.m.MustDrop()
			q.v.MustDrop()
			if q.master != q.p {
				q.master.MustDrop()
			}
			q.m, q.v, q.master = nil, nil, nil
		}
	}
}

// publish sends every parameter's new weight from its owner to the others.
func (o *adamW) publish(g *dist.Group) error {
	if !o.zero {
		return nil
	}
	for r := range g.Size() {
		var owned []*ts.Tensor
		for _, q := range o.params {
			if q.owner == r {
				owned = append(owned, q.p)
			}
		}
		if err := g.Broadcast(r, owned...); err != nil {
			return err
		}
	}
	return nil
}

// state is the optimizer's state by checkpoint name; under --zero 1 every
// rank calls it, and each parameter's state comes from its owner (drop
// frees what was received). Rank 0 writes it: one process's file.
func (o *adamW) state(g *dist.Group) (named map[string]*ts.Tensor, drop func(), err error) {
	named = map[string]*ts.Tensor{}
	var temps []*ts.Tensor
	drop = func() {
		for _, t := range temps {
			t.MustDrop()
		}
	}
	for _, q := range o.params {
		m, v, master := q.m, q.v, q.master
		if o.zero {
			withMaster := q.p.DType() != gotch.Float
			if m == nil { // owned elsewhere: receive it
				dev, _ := q.p.Device()
				sz := q.p.MustSize()
				m, v = ts.MustZeros(sz, gotch.Float, dev), ts.MustZeros(sz, gotch.Float, dev)
				temps = append(temps, m, v)
				if withMaster {
					master = ts.MustZeros(sz, gotch.Float, dev)
					temps = append(temps, master)
				}
			}
			parts := []*ts.Tensor{m, v}
			if withMaster {
				parts = append(parts, master)
			}
			if err := g.Broadcast(q.owner, parts...); err != nil {
				drop()
				return nil, nil, err
			}
		}
		named[q.name+".exp_avg"], named[q.name+".exp_avg_sq"] = m, v
		if master != nil && master != q.p {
			named[q.name+".master"] = master
		}
	}
	return named, drop, nil
}

// stateMB is the optimizer state this rank holds, and what one process
// would hold, in MB (the memory --zero 1 saves).
func (o *adamW) stateMB() (here, whole float64) {
	for _, q := range o.params {
		per := 8.0 // m and v, float32
		if q.p.DType() != gotch.Float {
			per += 4 // the float32 master
		}
		b := per * float64(q.p.Numel()) / (1 << 20)
		whole += b
		if q.m != nil {
			here += b
		}
	}
	return here, whole
}
