package torch

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"
)

// values copies a float32 tensor out (gotch's Float64Values leaks a copy).
func values(t *testing.T, x *ts.Tensor) []float32 {
	t.Helper()
	n := x.Numel()
	v := make([]float32, n)
	if err := x.CopyData(v, n); err != nil {
		t.Fatal(err)
	}
	return v
}

// make test runs the torch-linked packages once per shim, with
// YTRAIN_LIBTORCH naming the libtorch each run must load: a run meant for
// 2.11 that silently loaded 1.13 (or the reverse) fails here.
func TestShimInfo(t *testing.T) {
	info := ShimInfo()
	t.Log(info)
	if !strings.Contains(info, "built against libtorch") {
		t.Errorf("ShimInfo() = %q", info)
	}
	if want := os.Getenv("YTRAIN_LIBTORCH"); want != "" && !strings.Contains(info, "built against libtorch "+want+" ") {
		t.Errorf("YTRAIN_LIBTORCH=%s, but this process loaded %q", want, info)
	}
}

// A real op through gotch and the shim, on a tensor over foreign memory.
func TestMatmulOverBlob(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var s Scope
	defer func() {
		if err := s.Drop(); err != nil {
			t.Error(err)
		}
	}()

	mem, err := syscall.Mmap(-1, 0, 4096, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(mem)
	blob := unsafe.Slice((*float32)(unsafe.Pointer(&mem[0])), 6)
	copy(blob, []float32{1, 2, 3, 4, 5, 6})

	a, err := TensorFromBlob(unsafe.Pointer(&mem[0]), []int64{2, 3}, gotch.Float)
	if err != nil {
		t.Fatal(err)
	}
	s.Add(a)
	if p, err := a.DataPtr(); err != nil || p != unsafe.Pointer(&mem[0]) {
		t.Errorf("DataPtr() = %p, %v; want the blob %p (zero-copy)", p, err, &mem[0])
	}
	b1, err := ts.OfSlice([]float32{7, 8, 9, 10, 11, 12})
	if err != nil {
		t.Fatal(err)
	}
	s.Add(b1)
	b, err := b1.View([]int64{3, 2}, false)
	if err != nil {
		t.Fatal(err)
	}
	s.Add(b)
	c, err := a.Matmul(b, false)
	if err != nil {
		t.Fatal(err)
	}
	s.Add(c)
	if got, want := c.MustSize(), []int64{2, 2}; !slices.Equal(got, want) {
		t.Errorf("shape %v, want %v", got, want)
	}
	if got, want := values(t, c), []float32{58, 64, 139, 154}; !slices.Equal(got, want) {
		t.Errorf("[[1 2 3] [4 5 6]] @ [[7 8] [9 10] [11 12]] = %v, want %v", got, want)
	}
}

func TestManualSeed(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var s Scope
	defer s.Drop()
	randn := func() []float32 {
		x, err := ts.Randn([]int64{5}, gotch.Float, gotch.CPU)
		if err != nil {
			t.Fatal(err)
		}
		return values(t, s.Add(x))
	}
	ManualSeed(42)
	a := randn()
	ManualSeed(42)
	b := randn()
	c := randn()
	if !slices.Equal(a, b) || slices.Equal(b, c) {
		t.Errorf("seed 42 gave %v then %v, then unseeded %v", a, b, c)
	}
}

func stubbed(t *testing.T) []string {
	names, err := Stubbed()
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// An op the shim stubbed returns a Go error instead of crashing; one it
// did not stub works.
func TestStubbedOpReturnsError(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var s Scope
	defer s.Drop()
	qkv := make([]*ts.Tensor, 3)
	for i := range qkv {
		x, err := ts.Randn([]int64{1, 2, 4, 8}, gotch.Float, gotch.CPU)
		if err != nil {
			t.Fatal(err)
		}
		qkv[i] = s.Add(x)
	}
	mask, err := ts.Zeros([]int64{4, 4}, gotch.Float, gotch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	s.Add(mask)

	out, err := ts.ScaledDotProductAttention(qkv[0], qkv[1], qkv[2], mask, 0, false, nil)
	if slices.Contains(stubbed(t), "atg_scaled_dot_product_attention") {
		if err == nil || !strings.Contains(err.Error(), "stubbed") {
			t.Fatalf("stubbed ScaledDotProductAttention: err = %v, want a \"stubbed\" error", err)
		}
		t.Log(strings.SplitN(err.Error(), "\n", 2)[0])
		return
	}
	if err != nil {
		t.Fatalf("ScaledDotProductAttention (not stubbed): %v", err)
	}
	s.Add(out)
	if got, want := out.MustSize(), []int64{1, 2, 4, 8}; !slices.Equal(got, want) {
		t.Errorf("shape %v, want %v", got, want)
	}
}

// Tools that need no model must not link gotch, and so not libtorch.
func TestPureToolsDoNotLinkTorch(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range []string{"tokenize", "pack", "rank", "evaluate"} {
		cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "./cmd/"+tool)
		cmd.Dir = root
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil { // a tool that moved fails here, not silently
			t.Errorf("go list ./cmd/%s: %v\n%s", tool, err, stderr.String())
			continue
		}
		for _, p := range strings.Fields(string(out)) {
			if strings.HasPrefix(p, "github.com/sugarme/gotch") {
				t.Errorf("%s depends on %s", tool, p)
				break
			}
		}
	}
}

// A failing Must* op (gotch's log.Fatal, patched into a panic) comes back
// from Catch as an error without stack traces; other panics go on.
func TestCatch(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	a := ts.MustOnes([]int64{2, 3}, gotch.Float, gotch.CPU)
	b := ts.MustOnes([]int64{4, 5}, gotch.Float, gotch.CPU)
	defer a.MustDrop()
	defer b.MustDrop()
	err := Catch(func() error {
		a.MustMatmul(b, false)
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "libtorch: ") || strings.Contains(err.Error(), "goroutine") ||
		strings.Contains(err.Error(), "Exception raised from") {
		t.Fatalf("got %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("a plain panic was swallowed")
		}
	}()
	Catch(func() error { panic("bug") })
}

// Grouped-query SDPA equals SDPA over k and v repeated per query head
// (values and gradients) where the libtorch has it (2.5 and later), and
// HasGQA says so exactly there.
func TestSDPAGQA(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var major, minor int
	fmt.Sscanf(ShimInfo()[strings.Index(ShimInfo(), "libtorch ")+len("libtorch "):], "%d.%d", &major, &minor)
	if major < 2 || major == 2 && minor < 5 {
		if HasGQA() {
			t.Fatalf("libtorch %d.%d has no grouped-query SDPA, but HasGQA says it has", major, minor)
		}
		return
	}
	if !HasGQA() {
		t.Fatalf("libtorch %d.%d has grouped-query SDPA, but HasGQA says no", major, minor)
	}
	s := &Scope{}
	defer s.Drop()
	ManualSeed(3)
	q := s.Add(ts.MustRandn([]int64{2, 6, 5, 4}, gotch.Float, gotch.CPU)) // (B, nH, T, hd)
	k := s.Add(ts.MustRandn([]int64{2, 2, 5, 4}, gotch.Float, gotch.CPU)) // (B, nKV, T, hd)
	v := s.Add(ts.MustRandn([]int64{2, 2, 5, 4}, gotch.Float, gotch.CPU))
	k.MustRequiresGrad_(true)
	grouped, err := SDPAGQA(q, k, v, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	s.Add(grouped)
	kr := s.Add(k.MustRepeatInterleaveSelfInt(3, []int64{1}, nil, false))
	vr := s.Add(v.MustRepeatInterleaveSelfInt(3, []int64{1}, nil, false))
	repeated := s.Add(ts.MustScaledDotProductAttention(q, kr, vr, ts.None, 0, true, nil))
	d := values(t, s.Add(s.Add(s.Add(grouped.MustSub(repeated, false)).MustAbs(false)).MustMax(false)))[0]
	if d > 1e-6 {
		t.Errorf("grouped-query SDPA differs from SDPA over repeated k, v by %g", d)
	}
	gk := func(y *ts.Tensor) []float32 {
		s.Add(y.MustSum(gotch.Float, false)).MustBackward()
		g := s.Add(k.MustGrad(false))
		out, err := Float32s(g)
		if err != nil {
			t.Fatal(err)
		}
		g.MustZero_()
		return out
	}
	a, b := gk(grouped), gk(repeated)
	for i := range a {
		if math.Abs(float64(a[i]-b[i])) > 1e-5 {
			t.Fatalf("d/dk differs at %d: %g vs %g", i, a[i], b[i])
		}
	}
}
