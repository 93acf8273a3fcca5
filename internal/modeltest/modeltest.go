// Package modeltest is the fixture every test that runs a model shares: a
// tiny random checkpoint written to disk and loaded, and the logits of one
// row.
package modeltest

import (
	"runtime"
	"testing"

	"github.com/sugarme/gotch"

	"github.com/ytrain/ytrain/internal/model"
	"github.com/ytrain/ytrain/internal/seq"
	"github.com/ytrain/ytrain/internal/tinymodel"
	"github.com/ytrain/ytrain/internal/torch"
)

// Write writes a tinymodel checkpoint of spec into a temporary folder and
// returns the folder.
func Write(t testing.TB, spec tinymodel.Spec) string {
	t.Helper()
	dir := t.TempDir()
	if err := tinymodel.Write(dir, spec); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Load loads the checkpoint in dir for float32 compute on the CPU, closed
// when the test ends.
func Load(t testing.TB, dir string) *model.Model {
	t.Helper()
	m, err := model.Load(dir, gotch.CPU, gotch.Float)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

// New writes a checkpoint of spec and loads it; it returns the model and
// its folder.
func New(t testing.TB, spec tinymodel.Spec) (*model.Model, string) {
	t.Helper()
	dir := Write(t, spec)
	return Load(t, dir), dir
}

// Logits runs the model over one row (ids, positions, segments) and returns
// its float32 logits, (T, V).
func Logits(t testing.TB, m *model.Model, ids, pos, seg []int64) [][]float32 {
	t.Helper()
	runtime.LockOSThread() // a test's goroutine: libtorch's errors are per OS thread
	defer runtime.UnlockOSThread()
	s := &torch.Scope{}
	defer s.Drop()
	b := seq.NewBatch([]*seq.Seq{{IDs: ids, Pos: pos, Seg: seg}}, nil)
	idT, posT, err := b.Tensors(s, m.Device)
	if err != nil {
		t.Fatal(err)
	}
	h, err := m.Hidden(s, idT, posT, model.Docs(b), nil)
	if err != nil {
		t.Fatal(err)
	}
	flat, err := torch.Float32s(m.Logits(s, h))
	if err != nil {
		t.Fatal(err)
	}
	V := int(m.Cfg.Vocab)
	out := make([][]float32, len(ids))
	for i := range out {
		out[i] = flat[i*V : (i+1)*V]
	}
	return out
}
