package torch

// atx_sdpa_gqa is in libtorch/shim/ops_api.cpp, built into libgotch_tch.so.

// #include <stdlib.h>
// void *atx_sdpa_gqa(void *q, void *k, void *v, void *mask, int causal, char **err);
import "C"

import (
	"errors"
	"strings"
	"sync"
	"unsafe"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"
)

// ErrNoGQA says the loaded libtorch has no grouped-query SDPA (before 2.5):
// repeat k and v per query head instead.
var ErrNoGQA = errors.New("torch: grouped-query SDPA needs libtorch 2.5 or later")

// SDPAGQA is softmax(q kᵀ/√hd + mask) v for q (B, nH, T, hd) over k and v
// (B, nKV, S, hd), nH a multiple of nKV, without repeating k and v for each
// of the nH/nKV query heads a kv head serves (SDPA's enable_gqa). mask
// (B, 1, T, S) bool or nil; causal: q and k are the same positions.
func SDPAGQA(q, k, v, mask *ts.Tensor, causal bool) (*ts.Tensor, error) {
	var m unsafe.Pointer
	if mask != nil {
		m = mask.Ctensor()
	}
	c := C.int(0)
	if causal {
		c = 1
	}
	var cerr *C.char
	out := C.atx_sdpa_gqa(q.Ctensor(), k.Ctensor(), v.Ctensor(), m, c, &cerr)
	if out == nil {
		msg := C.GoString(cerr)
		C.free(unsafe.Pointer(cerr))
		if strings.HasPrefix(msg, "stubbed") {
			return nil, ErrNoGQA
		}
		return nil, errors.New("torch: SDPA (grouped-query): " + msg)
	}
	return ts.FromCtensor(out), nil
}

// HasGQA reports whether the loaded libtorch has grouped-query SDPA: a tiny
// call, made once.
func HasGQA() bool {
	gqaOnce.Do(func() {
		q := ts.MustOnes([]int64{1, 2, 1, 2}, gotch.Float, gotch.CPU)
		kv := ts.MustOnes([]int64{1, 1, 1, 2}, gotch.Float, gotch.CPU)
		y, err := SDPAGQA(q, kv, kv, nil, true)
		if err == nil {
			y.MustDrop()
		}
		q.MustDrop()
		kv.MustDrop()
		hasGQA = err == nil
	})
	return hasGQA
}

var (
	gqaOnce sync.Once
	hasGQA  bool
)
