package weighting

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ytrain/ytrain/formats"
)

// writeScores writes one score record per loss slice to dir/name in format f.
func writeScores(t *testing.T, dir, name string, f formats.Encoding, docs ...[]float32) string {
	t.Helper()
	path := filepath.Join(dir, name)
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	w := formats.NewWriter(out, f, formats.ScoreCodec)
	for i, l := range docs {
		r := formats.Score{ID: string(rune('a' + i)), Loss: l, Entropy: make([]float32, len(l)), NTargets: int32(len(l))}
		if err := w.Write(&r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestQuantile(t *testing.T) {
	x := []float64{1, 2, 4, 8, 16}
	for _, c := range []struct{ q, want float64 }{
		{0, 1}, {0.25, 2}, {0.5, 4}, {0.625, 6}, {0.95, 14.4}, {1, 16},
	} {
		if got := Quantile(x, c.q); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("Quantile(%v) = %v, want %v", c.q, got, c.want)
		}
	}
	if got := Quantile([]float64{3}, 0.95); got != 3 {
		t.Errorf("one value: %v", got)
	}
}

// losses 1..n/10 in steps of 0.1 (n values), plus `known` losses below
// KnownLoss that calibration must leave out.
func ramp(n, known int) []float32 {
	var l []float32
	for i := 1; i <= n; i++ {
		l = append(l, float32(i)/10)
		if i <= known {
			l = append(l, 0.05, 0)
		}
	}
	return l
}

func TestCalibrate(t *testing.T) {
	// 0.1 is below KnownLoss too: U is 0.2..20.0, 199 values.
	a, err := Calibrate(DefaultNLIRG(), ramp(200, 150), 0.95)
	if err != nil {
		t.Fatal(err)
	}
	u := make([]float64, 0, 199)
	for i := 2; i <= 200; i++ {
		u = append(u, float64(float32(i)/10))
	}
	want := Quantile(u, 0.95) / 6.2
	if a.Tokens != 199 || math.Abs(a.Scale-want) > 1e-12 || a.Quantile != 0.95 {
		t.Fatalf("Calibrate = %+v, want 199 tokens, scale %v", a, want)
	}
	// HardX0 lands on the quantile; the other loss constants keep their ratios.
	n := a.Scaled()
	if math.Abs(n.HardX0-Quantile(u, 0.95)) > 1e-9 || math.Abs(n.X0/n.HardX0-1.2/6.2) > 1e-12 ||
		math.Abs(n.Deadline/n.HardX0-15/6.2) > 1e-12 || math.Abs(n.K*n.X0-1.7*1.2) > 1e-12 || n.MaxLR != 1 || n.MinLR != 5e-8 {
		t.Errorf("Scaled = %+v", n)
	}
	// A moved nlirg-hard-x0 is what moves onto the quantile.
	base := DefaultNLIRG()
	base.HardX0 = 5
	if b, _ := Calibrate(base, ramp(200, 0), 0.5); math.Abs(b.Scaled().HardX0-Quantile(u, 0.5)) > 1e-9 {
		t.Errorf("hard-x0 5: %+v", b.Scaled())
	}

	for _, c := range []struct {
		losses []float32
		q      float64
		want   string
	}{
		{ramp(100, 100), 0.95, "only 99 of 300 answer tokens have a loss above 0.105"},
		{nil, 0.95, "only 0 of 0"},
		{ramp(200, 0), 0, "--calibrate-quantile 0: want a number in (0, 1]"},
		{ramp(200, 0), 1.5, "--calibrate-quantile 1.5"},
		{ramp(200, 0), math.NaN(), "--calibrate-quantile NaN"},
	} {
		if _, err := Calibrate(DefaultNLIRG(), c.losses, c.q); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Calibrate(%d losses, q %v) = %v, want %q", len(c.losses), c.q, err, c.want)
		}
	}
}

// The design's identity: nlirg-auto's weight of ℓ is NLIRG's weight of ℓ/s,
// exactly; the scaled constants draw the same curve up to rounding.
func TestNLIRGAutoScaling(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, s := range []float64{0.3, 0.61, 1, 1.7} {
		for _, bf := range []bool{false, true} {
			base := DefaultNLIRG()
			base.BF16 = bf
			a := NLIRGAuto{Base: base, Scale: s}
			sc := a.Scaled()
			toks := make([]Token, 2000)
			for i := range toks {
				toks[i].Loss = float32(r.Float64() * 20 * s)
			}
			toks = append(toks, Token{Loss: float32(math.NaN())}, Token{Loss: float32(15 * s)}, Token{Loss: 0})
			w := make([]float32, len(toks))
			a.Weights(toks, w)
			for i, tk := range toks {
				l := float64(tk.Loss)
				if bf {
					l = float64(RoundBF16(tk.Loss))
				}
				want := float32(base.W(l / s))
				if bf {
					want = RoundBF16(want)
				}
				if w[i] != want && !(math.IsNaN(l) && w[i] == 0) {
					t.Fatalf("s %v bf16 %v: weight(%v) = %v, NLIRG's weight of ℓ/s = %v", s, bf, l, w[i], want)
				}
				// the scaled constants: equal away from the jumps at Threshold and Deadline
				if x := l / s; !bf && math.Abs(x-3) > 1e-6 && math.Abs(x-15) > 1e-6 {
					if d := math.Abs(sc.W(l) - a.W(l)); d > 1e-12 {
						t.Fatalf("s %v: scaled constants give %v at %v, nlirg-auto %v", s, sc.W(l), l, a.W(l))
					}
				}
			}
		}
	}
	// a token at the rescaled HardX0 weighs what NLIRG's 6.2 does
	a := NLIRGAuto{Base: DefaultNLIRG(), Scale: 0.5}
	if got, want := a.W(3.1), DefaultNLIRG().W(6.2); got != want {
		t.Errorf("W(3.1) = %v, want %v", got, want)
	}
}

func TestNewNLIRGAuto(t *testing.T) {
	dir := t.TempDir()
	p := DefaultParams()
	// JSON Lines and Arrow read the same; losses spread over records.
	for _, f := range []formats.Encoding{formats.JSONL, formats.Arrow} {
		l := ramp(200, 10)
		p.Calibrate = writeScores(t, dir, "scores."+f.String(), f, l[:50], l[50:], nil)
		s, err := New("nlirg-auto", p)
		if err != nil {
			t.Fatal(err)
		}
		a := s.(NLIRGAuto)
		want, _ := Calibrate(DefaultNLIRG(), l, 0.95)
		if a.Scale != want.Scale || a.Tokens != 199 || a.Source != filepath.Base(p.Calibrate) {
			t.Errorf("%v: %+v, want scale %v", f, a, want.Scale)
		}
		if c := a.Calibration(); !strings.Contains(c, "from 199 answer tokens of "+a.Source+" (q 0.95): X0 ") {
			t.Errorf("Calibration() = %q", c)
		}
	}
	p.CalibrateQuantile = 0.5
	if s, _ := New("nlirg-auto", p); s.(NLIRGAuto).Quantile != 0.5 {
		t.Errorf("calibrate-quantile ignored: %+v", s)
	}

	tokens := filepath.Join(dir, "tokens.jsonl")
	os.WriteFile(tokens, []byte(`{"id":"x","input_ids":[1,2,3],"loss_mask":[0,1,1]}`+"\n"), 0o644)
	few := writeScores(t, dir, "few.jsonl", formats.JSONL, ramp(50, 0))
	nan := writeScores(t, dir, "nan.arrow", formats.Arrow, ramp(200, 0), []float32{1, float32(math.NaN())})
	for _, c := range []struct {
		name, calibrate, want string
	}{
		{"nlirg-auto", "", "--weighting nlirg-auto needs --calibrate SCORES"},
		{"nlirg", few, "--calibrate calibrates --weighting nlirg-auto, not nlirg"},
		{"nlirg-auto", filepath.Join(dir, "missing.arrow"), "missing.arrow: no such file"},
		{"nlirg-auto", tokens, "tokens.jsonl:1: a token record, want score records"},
		{"nlirg-auto", few, "--calibrate " + few + ": only 49 of 50 answer tokens"},
		{"nlirg-auto", nan, `nan.arrow: record 2: record "b": loss[1] is NaN`},
	} {
		q := DefaultParams()
		q.Calibrate = c.calibrate
		if _, err := New(c.name, q); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%q, --calibrate %q) = %v, want %q", c.name, c.calibrate, err, c.want)
		}
	}
}
