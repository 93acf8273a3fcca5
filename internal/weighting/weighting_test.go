package weighting

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/ytrain/ytrain/formats"
)

var nan32 = float32(math.NaN())

func weigh(s Scheme, toks []Token) []float32 {
	w := make([]float32, len(toks))
	s.Weights(toks, w)
	return w
}

func losses(ls ...float32) []Token {
	toks := make([]Token, len(ls))
	for i, l := range ls {
		toks[i].Loss = l
	}
	return toks
}

func near(t *testing.T, what string, got []float32, want []float64) {
	t.Helper()
	for i := range want {
		if math.Abs(float64(got[i])-want[i]) > 1e-6 {
			t.Errorf("%s[%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}

func TestSimpleSchemes(t *testing.T) {
	toks := losses(0, float32(math.Ln2), 2, nan32, -1e-7)
	near(t, "none", weigh(None{}, toks), []float64{1, 1, 1, 1, 1})
	// p = e^(−L): 1, 0.5, e^−2 ≈ 0.135335.
	near(t, "dft", weigh(DFT{}, toks), []float64{1, 0.5, 0.1353353, 0, 1})
	// (1−p)²: 0, 0.25, (1−e^−2)² ≈ 0.747645.
	near(t, "focal", weigh(Focal{Gamma: 2}, toks), []float64{0, 0.25, 0.7476451, 0, 0})
	near(t, "focal γ=0", weigh(Focal{Gamma: 0}, toks[:3]), []float64{1, 1, 1})
	// Small losses keep their precision: 1−e^(−1e-6) ≈ 1e-6.
	if w := weigh(Focal{Gamma: 1}, losses(1e-6)); math.Abs(float64(w[0])-1e-6)/1e-6 > 1e-5 {
		t.Errorf("focal γ=1 at 1e-6 = %v", w[0])
	}
}

func TestEAFT(t *testing.T) {
	ln20 := math.Log(20)
	toks := []Token{{Entropy: 0}, {Entropy: float32(ln20 / 2)}, {Entropy: float32(ln20)},
		{Entropy: 5}, {Entropy: -0.1}, {Entropy: nan32}}
	near(t, "eaft α=1", weigh(EAFT{Alpha: 1, TopK: 20}, toks), []float64{0, 0.5, 1, 1, 0, 0})
	near(t, "eaft α=2", weigh(EAFT{Alpha: 2, TopK: 20}, toks), []float64{0, 0.25, 1, 1, 0, 0})
	// K = 2: one bit of entropy is full weight, ln 2 / 4 a quarter.
	near(t, "eaft K=2", weigh(EAFT{Alpha: 1, TopK: 2}, []Token{{Entropy: float32(math.Ln2 / 4)}}), []float64{0.25})
}

func TestTruncation(t *testing.T) {
	for _, c := range []struct {
		frac float64
		ls   []float32
		want []float32
	}{
		// floor(0.1·10) = 1: the largest loss goes.
		{0.1, []float32{1, 9, 2, 3, 4, 5, 6, 7, 8, 0}, []float32{1, 0, 1, 1, 1, 1, 1, 1, 1, 1}},
		// floor(0.1·9) = 0: nothing goes.
		{0.1, []float32{1, 9, 2, 3, 4, 5, 6, 7, 8}, []float32{1, 1, 1, 1, 1, 1, 1, 1, 1}},
		// floor(0.25·8) = 2 with a three-way tie: the earlier ones go.
		{0.25, []float32{5, 1, 5, 2, 5, 0, 1, 1}, []float32{0, 1, 0, 1, 1, 1, 1, 1}},
		// NaN ranks first and always goes, even beyond the quota of 1.
		{0.2, []float32{1, nan32, 9, nan32, 2}, []float32{1, 0, 1, 0, 1}},
		{0.4, []float32{1, nan32, 9, 3, 2}, []float32{1, 0, 0, 1, 1}},
		// 0.29·100 is 28.999… in float64; still 29 dropped.
		{0.29, make([]float32, 100), nil},
	} {
		w := weigh(Truncation{Fraction: c.frac}, losses(c.ls...))
		if c.want == nil {
			if z := len(c.ls) - int(sum(w)); z != 29 {
				t.Errorf("trunc %v of %d dropped %d", c.frac, len(c.ls), z)
			}
			continue
		}
		if !slices.Equal(w, c.want) {
			t.Errorf("trunc %v of %v = %v, want %v", c.frac, c.ls, w, c.want)
		}
	}
}

func sum(w []float32) (s float32) {
	for _, v := range w {
		s += v
	}
	return s
}

func TestNew(t *testing.T) {
	p := DefaultParams()
	scores := writeScores(t, t.TempDir(), "scores.jsonl", formats.JSONL, ramp(200, 0))
	for _, name := range Names() {
		q := p
		if name == "nlirg-auto" {
			q.Calibrate = scores
		}
		s, err := New(strings.ToUpper(name), q)
		if err != nil || s.Name() != name {
			t.Errorf("New(%q) = %v, %v", name, s, err)
		}
	}
	if s, _ := New("nlirg", p); s != DefaultNLIRG() {
		t.Errorf("default nlirg = %+v", s)
	}
	p.NLIRG.HardX0, p.NLIRG.BF16 = 7, true
	if s, _ := New("nlirg", p); s.(NLIRG).HardX0 != 7 || !s.(NLIRG).BF16 {
		t.Errorf("nlirg ignores its params: %+v", s)
	}
	if _, err := New("nlrig", p); err == nil || !strings.Contains(err.Error(), "none, nlirg, nlirg-auto, dft, focal, eaft, trunc") {
		t.Errorf("unknown name: %v", err)
	}
	for _, c := range []struct {
		name string
		set  func(*Params)
	}{
		{"nlirg", func(p *Params) { p.NLIRG.K = math.NaN() }},
		{"nlirg", func(p *Params) { p.NLIRG.MinLR = -1 }},
		{"nlirg", func(p *Params) { p.NLIRG.Threshold = 16 }},
		{"nlirg-auto", func(p *Params) { p.NLIRG.K = math.Inf(-1); p.Calibrate = scores }},
		{"nlirg-auto", func(p *Params) { p.NLIRG.HardX0 = 0; p.Calibrate = scores }},
		{"focal", func(p *Params) { p.Focal.Gamma = -1 }},
		{"eaft", func(p *Params) { p.EAFT.TopK = 1 }},
		{"eaft", func(p *Params) { p.EAFT.Alpha = math.Inf(1) }},
		{"trunc", func(p *Params) { p.Trunc.Fraction = 1 }},
		{"trunc", func(p *Params) { p.Trunc.Fraction = math.NaN() }},
	} {
		q := DefaultParams()
		c.set(&q)
		if _, err := New(c.name, q); err == nil {
			t.Errorf("New(%q) accepted %+v", c.name, q)
		}
	}
}

func TestSFTReduce(t *testing.T) {
	inf := float32(math.Inf(1))
	for _, c := range []struct {
		name    string
		loss, w []float32
		j       float64
		denom   int
		ok      bool
	}{
		// (0.5·2 + 0.25·4) / 2: the zero loss and the zero weight leave the denominator.
		{"mean of non-zero terms", []float32{2, 0, 4, 20}, []float32{0.5, 0.7, 0.25, 0}, 1, 2, true},
		{"all zero", []float32{0, 3, 0}, []float32{1, 0, 0.5}, 0, 0, false},
		{"empty", nil, nil, 0, 0, false},
		// A NaN or Inf loss with weight 0 (NLIRG's cut) is dropped, not poisoning.
		{"zero weight drops NaN", []float32{nan32, inf, 3}, []float32{0, 0, 0.5}, 1.5, 1, true},
		{"weighted NaN", []float32{nan32, 3}, []float32{1, 1}, math.NaN(), 2, false},
		{"weighted Inf", []float32{inf, 3}, []float32{1, 1}, math.Inf(1), 2, false},
	} {
		j, d, ok := SFTReduce(c.loss, c.w)
		if d != c.denom || ok != c.ok || !(j == c.j || j != j && c.j != c.j) {
			t.Errorf("%s: SFTReduce = %v, %d, %v, want %v, %d, %v", c.name, j, d, ok, c.j, c.denom, c.ok)
		}
	}
}

func TestCPTReduce(t *testing.T) {
	for _, c := range []struct {
		name    string
		loss, w []float32
		j       float64
		ok      bool
	}{
		// (0.5·2 + 0 + 0.25·4 + 0) / 4: every target counts.
		{"plain mean", []float32{2, 0, 4, 20}, []float32{0.5, 0.7, 0.25, 0}, 0.5, true},
		{"all zero", []float32{0, 3}, []float32{1, 0}, 0, true},
		{"empty", nil, nil, 0, false},
		{"zero weight drops NaN", []float32{nan32, 3}, []float32{0, 1}, 1.5, true},
		{"weighted NaN", []float32{nan32, 3}, []float32{1, 1}, math.NaN(), false},
	} {
		j, ok := CPTReduce(c.loss, c.w)
		if ok != c.ok || !(j == c.j || j != j && c.j != c.j) {
			t.Errorf("%s: CPTReduce = %v, %v, want %v, %v", c.name, j, ok, c.j, c.ok)
		}
	}
}

func TestReducePanicsOnLengths(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic on mismatched lengths")
		}
	}()
	SFTReduce([]float32{1}, nil)
}
