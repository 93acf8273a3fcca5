package torch

import (
	"fmt"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"
)

// Int64s makes a tensor of shape from Go values, on dev.
func Int64s(vals []int64, dev gotch.Device, shape ...int64) (*ts.Tensor, error) {
	t, err := ts.OfSlice(vals)
	if err != nil {
		return nil, err
	}
	v, err := t.View(shape, true)
	if err != nil {
		return nil, fmt.Errorf("torch: %d values into shape %v: %w", len(vals), shape, err)
	}
	if dev == gotch.CPU {
		return v, nil
	}
	return v.To(dev, true)
}

// Float32s copies a tensor's values (any dtype, any device) into Go.
func Float32s(t *ts.Tensor) ([]float32, error) { return copyOut[float32](t, gotch.Float) }

// ReadInt64s copies an integer tensor's values (any device) into Go.
func ReadInt64s(t *ts.Tensor) ([]int64, error) { return copyOut[int64](t, gotch.Int64) }

// copyOut copies t's values, converted to dtype on the CPU, into Go.
func copyOut[T float32 | int64](t *ts.Tensor, dtype gotch.DType) ([]T, error) {
	c, err := t.ToDevice(gotch.CPU, dtype, false, false, false)
	if err != nil {
		return nil, err
	}
	defer c.MustDrop()
	c2, err := c.Contiguous(false)
	if err != nil {
		return nil, err
	}
	defer c2.MustDrop()
	out := make([]T, c2.Numel())
	if err := c2.CopyData(out, uint(len(out))); err != nil {
		return nil, err
	}
	return out, nil
}
