package torch

// #cgo CFLAGS: -I${SRCDIR}/../../build/gotch/libtch
// #include <stdbool.h>
// #include "torch_api.h"
import "C"

import (
	"fmt"

	"github.com/sugarme/gotch"
)

// SetThreads sets libtorch's intra-op thread count (0 keeps its default).
func SetThreads(n int) {
	if n > 0 {
		C.at_set_num_threads(C.int(n))
	}
}

// ParseDevice turns --device into a gotch device: "cpu", "cuda" or "cuda:N".
func ParseDevice(s string) (gotch.Device, error) {
	var n uint
	switch {
	case s == "cpu":
		return gotch.CPU, nil
	case s == "cuda":
	case len(s) > 5 && s[:5] == "cuda:":
		if _, err := fmt.Sscanf(s[5:], "%d", &n); err != nil {
			return gotch.CPU, fmt.Errorf("--device %q: want cpu, cuda or cuda:N", s)
		}
	default:
		return gotch.CPU, fmt.Errorf("--device %q: want cpu, cuda or cuda:N", s)
	}
	d := gotch.CudaBuilder(n)
	if !gotch.CUDA.IsAvailable() {
		return gotch.CPU, fmt.Errorf("--device %s: CUDA is not available to this libtorch (%s)", s, ShimInfo())
	}
	return d, nil
}

// ParseDType turns --dtype into a compute dtype; "auto" is float32 on the
// CPU (no fast bf16 kernels there) and the checkpoint's own dtype on a GPU.
func ParseDType(s string, dev gotch.Device, checkpoint string) (gotch.DType, error) {
	switch s {
	case "f32", "float32":
		return gotch.Float, nil
	case "bf16", "bfloat16":
		return gotch.BFloat16, nil
	case "f16", "float16":
		return gotch.Half, nil
	case "auto":
		if dev == gotch.CPU {
			return gotch.Float, nil
		}
		switch checkpoint {
		case "bfloat16":
			return gotch.BFloat16, nil
		case "float16":
			return gotch.Half, nil
		}
		return gotch.Float, nil
	}
	return gotch.Float, fmt.Errorf("--dtype %q: want auto, f32, bf16 or f16", s)
}
