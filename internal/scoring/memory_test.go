package scoring

import (
	"strings"
	"testing"

	"github.com/ytrain/ytrain/formats"
	"github.com/ytrain/ytrain/internal/model"
	"github.com/ytrain/ytrain/internal/seq"
)

// A batch the memory budget cannot hold is refused before it runs, with
// the records named and the memory it would need; with room it runs.
func TestMemoryEstimateRefusesBeforeRunning(t *testing.T) {
	m, _, docs := setup(t)
	score := func(limit string) ([]*formats.Score, error) {
		t.Setenv(model.MemoryLimitEnv, limit)
		var out []*formats.Score
		sc := &Scorer{M: m, BatchTokens: 64, Emit: func(s *formats.Score) error { out = append(out, s); return nil }}
		for i := range docs[:3] {
			if err := sc.Add(seq.FromToken(&docs[i])); err != nil {
				return out, err
			}
		}
		return out, sc.Close()
	}
	p := model.Pass{B: 3, T: 21, Targets: 30}
	need := m.MemoryNeed(p)
	if need <= 0 || m.MemoryNeed(model.Pass{B: 3, T: 42, Targets: 30}) <= need || m.MemoryNeed(model.Pass{B: 3, T: 21, Targets: 30, Train: true}) <= need {
		t.Fatalf("the estimate does not grow with length or training: %d", need)
	}
	// a 16k row of 1k-token documents attends per document: 16 × 1k², not 16k²
	packed, one := model.Pass{B: 1, T: 16384, Pairs: 16 << 20, Targets: 1}, model.Pass{B: 1, T: 16384, Targets: 1}
	if m.MemoryNeed(packed) >= m.MemoryNeed(one) {
		t.Fatalf("a packed row's estimate %d is not below one document's %d", m.MemoryNeed(packed), m.MemoryNeed(one))
	}
	_, err := score("4K")
	if err == nil {
		t.Fatal("scored with 4 KB of memory")
	}
	for _, want := range []string{`scoring records "d0", "d1", "d2"`, "would need about", "MB", "YTRAIN_MEMORY_LIMIT is 4 KB"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q lacks %q", err, want)
		}
	}
	if out, err := score("8G"); err != nil || len(out) != 3 {
		t.Fatalf("with 8 GB: %d scores, %v", len(out), err)
	}
}
