// Command expreport turns the runs of scripts/experiment.sh into a markdown
// report with mean ± standard deviation over seeds, and one PNG chart per
// metric (arms × noise levels, with error bars).
//
//	go run ./tools/expreport -o experiment/out experiment/out/runs
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "expreport:", err)
		os.Exit(1)
	}
}

// metric is one column of the report.
type metric struct {
	key, title, format string
	delta              bool // relative to the base model (forgetting)
}

var metrics = []metric{
	{"accuracy", "domain accuracy", "%.3f", false},
	{"forgetting", "forgetting (Δ held-out general loss)", "%+.3f", true},
	{"seq_rep_4", "seq-rep-4", "%.3f", false},
	{"distinct_2", "distinct-2", "%.3f", false},
	{"train_seconds", "train wall s", "%.0f", false},
	{"tokens_per_s", "train tokens/s", "%.0f", false},
}

// cell is the values of one (noise level, arm) over its seeds.
type cell map[string][]float64

func run() error {
	out := pflag.StringP("output", "o", "experiment/out", "report folder")
	pflag.Parse()
	if pflag.NArg() != 1 {
		return errors.New("usage: expreport -o DIR RUNS_DIR")
	}
	root := pflag.Arg(0)
	levels, err := dirs(root)
	if err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("# ytrain experiment\n\nMean ± standard deviation over seeds. Forgetting is the increase of the mean loss on held-out general text over the base model (lower is better); accuracy is the share of held-out domain questions whose answer contains the reference fact.\n")
	data := map[string]map[string]cell{} // level → arm → values
	var arms []string
	for _, level := range levels {
		baseEval, err := readJSON(filepath.Join(root, level, "base", "eval.json"))
		if err != nil {
			return err
		}
		data[level] = map[string]cell{}
		as, _ := dirs(filepath.Join(root, level))
		fmt.Fprintf(&b, "\n## noise %s\n\n| arm | %s |\n|---|%s\n", level, titles(), strings.Repeat("---|", len(metrics)))
		fmt.Fprintf(&b, "| base model | %s | — | %s | %s | — | — |\n", num("%.3f", baseEval["accuracy"]), num("%.3f", baseEval["seq_rep_4"]), num("%.3f", baseEval["distinct_2"]))
		for _, arm := range order(as) {
			if arm == "base" {
				continue
			}
			if !contains(arms, arm) {
				arms = append(arms, arm)
			}
			c, err := readArm(filepath.Join(root, level, arm), baseEval)
			if err != nil {
				return err
			}
			data[level][arm] = c
			var cols []string
			for _, m := range metrics {
				cols = append(cols, meanSD(m.format, c[m.key]))
			}
			fmt.Fprintf(&b, "| %s (%d seeds) | %s |\n", arm, len(c["accuracy"]), strings.Join(cols, " | "))
		}
	}
	b.WriteString("\nCharts: " + strings.Join(chartNames(), ", ") + ".\n")
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*out, "report.md"), []byte(b.String()), 0o644); err != nil {
		return err
	}
	for _, m := range metrics {
		if err := chart(filepath.Join(*out, m.key+".png"), m, levels, arms, data); err != nil {
			return err
		}
	}
	fmt.Print(b.String())
	return nil
}

func titles() string {
	var t []string
	for _, m := range metrics {
		t = append(t, m.title)
	}
	return strings.Join(t, " | ")
}

func chartNames() []string {
	var n []string
	for _, m := range metrics {
		n = append(n, m.key+".png")
	}
	return n
}

// readArm collects one arm's seeds.
func readArm(dir string, base map[string]float64) (cell, error) {
	seeds, err := dirs(dir)
	if err != nil {
		return nil, err
	}
	c := cell{}
	for _, s := range seeds {
		ev, err := readJSON(filepath.Join(dir, s, "eval.json"))
		if errors.Is(err, os.ErrNotExist) {
			continue // an unfinished run
		}
		if err != nil {
			return nil, err
		}
		for _, k := range []string{"accuracy", "seq_rep_4", "distinct_2"} {
			c[k] = append(c[k], ev[k])
		}
		if l, ok := ev["score_mean_loss"]; ok {
			c["forgetting"] = append(c["forgetting"], l-base["score_mean_loss"])
		}
		if b, err := os.ReadFile(filepath.Join(dir, s, "train_seconds")); err == nil {
			v, _ := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
			c["train_seconds"] = append(c["train_seconds"], v)
		}
		if tps, err := meanTokensPerS(filepath.Join(dir, s, "train", "metrics.jsonl")); err == nil {
			c["tokens_per_s"] = append(c["tokens_per_s"], tps)
		}
	}
	return c, nil
}

// meanTokensPerS is the run's padded tokens over its step time.
func meanTokensPerS(path string) (float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var tokens, secs float64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m struct {
			TPS  float64 `json:"tokens_per_s"`
			Time float64 `json:"step_time"`
		}
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			tokens += m.TPS * m.Time
			secs += m.Time
		}
	}
	if secs == 0 {
		return 0, errors.New("no steps")
	}
	return tokens / secs, nil
}

func readJSON(path string) (map[string]float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := map[string]float64{}
	for k, v := range raw {
		if f, ok := v.(float64); ok {
			out[k] = f
		}
	}
	return out, nil
}

func dirs(path string) ([]string, error) {
	ents, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

// order lists arms in the harness's order, unknown ones after.
func order(arms []string) []string {
	known := []string{"sft", "nlirg-windowed", "nlirg-windowed-samelr", "nlirg-fused", "dft", "eaft", "sft-mix"}
	var out []string
	for _, k := range known {
		if contains(arms, k) {
			out = append(out, k)
		}
	}
	for _, a := range arms {
		if !contains(known, a) {
			out = append(out, a)
		}
	}
	return out
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

func mean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// sd is the sample standard deviation (0 for a single seed).
func sd(v []float64) float64 {
	if len(v) < 2 {
		return 0
	}
	m, s := mean(v), 0.0
	for _, x := range v {
		s += (x - m) * (x - m)
	}
	return math.Sqrt(s / float64(len(v)-1))
}

func meanSD(format string, v []float64) string {
	if len(v) == 0 {
		return "—"
	}
	return fmt.Sprintf(format+" ± "+strings.Replace(format, "%+", "%", 1), mean(v), sd(v))
}

func num(format string, v float64) string { return fmt.Sprintf(format, v) }

// chart draws one metric: a group of bars per arm, one bar per noise level,
// with ± one standard deviation.
func chart(path string, m metric, levels, arms []string, data map[string]map[string]cell) error {
	p := plot.New()
	p.Title.Text = m.title
	w := vg.Points(14)
	for i, level := range levels {
		var vals plotter.Values
		var errs plotter.YErrors
		for _, a := range arms {
			v := data[level][a][m.key]
			if len(v) == 0 {
				vals, errs = append(vals, 0), append(errs, struct{ Low, High float64 }{})
				continue
			}
			vals = append(vals, mean(v))
			e := sd(v)
			errs = append(errs, struct{ Low, High float64 }{e, e})
		}
		bars, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return err
		}
		bars.Color = plotutil.Color(i)
		bars.Offset = w * vg.Length(float64(i)-float64(len(levels)-1)/2)
		p.Add(bars)
		p.Legend.Add("noise "+level, bars)
		pts := make(plotter.XYs, len(vals))
		for j := range vals {
			pts[j].X, pts[j].Y = float64(j)+(float64(i)-float64(len(levels)-1)/2)*0.18, vals[j]
		}
		eb, err := plotter.NewYErrorBars(struct {
			plotter.XYer
			plotter.YErrorer
		}{pts, errs})
		if err != nil {
			return err
		}
		eb.Color = color.Black
		p.Add(eb)
	}
	p.NominalX(arms...)
	p.Legend.Top = true
	return p.Save(7*vg.Inch, 4*vg.Inch, path)
}
