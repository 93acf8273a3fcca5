// Package torch is ytrain's bridge to libtorch through gotch (build/gotch,
// linked against build/shim/libgotch_tch.so; see libtorch/libtorch.mk). It wraps the
// few C functions gotch v0.9.1 has no Go API for, and states the rules every
// package that uses gotch must follow (libtorch/README.md §4):
//
//   - Lock the OS thread (runtime.LockOSThread) in the goroutine that drives
//     torch. Grad mode and gotch's last-error slot are per OS thread: a
//     goroutine that migrates between an op and ts.TorchErr() can lose the
//     error, or run with another thread's grad mode. (ts.NoGrad also turns
//     grad mode back on unconditionally; ts.NoGrad1 restores it.)
//   - Drop tensors explicitly, e.g. every intermediate of a training step in
//     a Scope. gotch frees tensors in finalizers, but the Go GC does not see
//     the C memory behind them, and RSS grows without bound.
//   - Never copy a ts.Tensor value (such as the map values of
//     VarStore.Variables()): the copy does not keep the original alive, and
//     once the finalizer runs it points at freed memory. Keep *ts.Tensor and
//     runtime.KeepAlive their owner.
//   - A Must* op that fails panics with a libtch.TorchError (gotchpatch
//     turns gotch's log.Fatal into that panic): run each step of work on a
//     record under Catch, which makes it an error naming the record; use the
//     error-returning op where failing is expected (an op the shim may have
//     stubbed, e.g. ScaledDotProductAttention on libtorch 1.13).
package torch

// torch_api.h is gotch's C API (it needs stdbool.h in C); atx_shim_info is
// added by build_shim.sh. The symbols resolve against libgotch_tch.so, which
// gotch/libtch links.

// #cgo CFLAGS: -I${SRCDIR}/../../build/gotch/libtch
// #include <stdbool.h>
// #include "torch_api.h"
// const char *atx_shim_info();
import "C"

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unsafe"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/libtch"
	"github.com/sugarme/gotch/ts"
)

// ShimInfo says which libgotch_tch.so the process loaded: the libtorch it
// was built against, its ABI, CUDA and build settings.
func ShimInfo() string { return C.GoString(C.atx_shim_info()) }

// Stubbed lists the C functions that the loaded shim stubbed (ops its
// libtorch lacks), from the stubs.txt that build_shim.sh wrote beside it:
// the out= directory of ShimInfo.
func Stubbed() ([]string, error) {
	_, out, ok := strings.Cut(ShimInfo(), "out=")
	if !ok {
		return nil, fmt.Errorf("torch: no out= in %q", ShimInfo())
	}
	b, err := os.ReadFile(filepath.Join(strings.TrimSuffix(out, ")"), "stubs.txt"))
	if err != nil {
		return nil, fmt.Errorf("torch: the shim's stub list: %w", err)
	}
	return strings.Fields(string(b)), nil
}

// ManualSeed seeds libtorch's random generators.
func ManualSeed(seed int64) { C.at_manual_seed(C.int64_t(seed)) }

// TensorFromBlob returns a contiguous CPU tensor of the given shape and dtype
// over the memory at ptr, without copying (torch::from_blob). The memory must
// not be Go memory (use C.malloc or syscall.Mmap; map a file MAP_PRIVATE so
// in-place ops cannot write through to it), and it must stay mapped and
// unchanged for as long as the tensor or any view of it lives.
func TensorFromBlob(ptr unsafe.Pointer, shape []int64, dtype gotch.DType) (*ts.Tensor, error) {
	if ptr == nil {
		return nil, errors.New("torch: TensorFromBlob of a nil pointer")
	}
	strides := make([]int64, len(shape))
	n := int64(1)
	for i := len(shape) - 1; i >= 0; i-- {
		strides[i] = n
		n *= shape[i]
	}
	var dims, strs *C.int64_t
	if len(shape) > 0 {
		// from_blob copies both arrays; Go memory without pointers may be passed.
		dims = (*C.int64_t)(unsafe.Pointer(&shape[0]))
		strs = (*C.int64_t)(unsafe.Pointer(&strides[0]))
	}
	ct := C.at_tensor_of_blob(ptr, dims, C.size_t(len(shape)), strs, C.size_t(len(strides)), C.int(dtype.CKind()), C.int(gotch.CPU.CInt()))
	if err := ts.TorchErr(); err != nil {
		return nil, fmt.Errorf("torch: TensorFromBlob: %w", err)
	}
	return ts.FromCtensor(unsafe.Pointer(ct)), nil
}

// Scope collects tensors so that one call drops them all, e.g. everything a
// training step creates. The zero value is ready to use.
type Scope struct {
	tensors []*ts.Tensor
}

// Add registers t to be dropped by Drop and returns it.
func (s *Scope) Add(t *ts.Tensor) *ts.Tensor {
	s.tensors = append(s.tensors, t)
	return t
}

// Drop frees every tensor added since the last Drop, most recent first.
func (s *Scope) Drop() error {
	var errs []error
	for i := len(s.tensors) - 1; i >= 0; i-- {
		if err := s.tensors[i].Drop(); err != nil {
			errs = append(errs, err)
		}
	}
	clear(s.tensors)
	s.tensors = s.tensors[:0]
	return errors.Join(errs...)
}

// Catch runs fn and returns its error, or the libtorch failure that a
// gotch Must* op raised meanwhile (gotchpatch turns gotch's log.Fatal into a
// panic with a libtch.TorchError). Other panics go on.
func Catch(fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			te, ok := p.(libtch.TorchError)
			if !ok {
				panic(p)
			}
			err = te
		}
	}()
	return fn()
}
