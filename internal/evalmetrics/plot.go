package evalmetrics

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Plot writes PNG charts into dir: one bar chart per metric of the runs
// (<metric>.png; counts are not charted), and one line chart per field of
// the training logs (curve_<field>.png, one line per log). It returns the
// files written. The charts are drawn in a temporary folder and moved into
// dir only when all of them are done: a failure leaves no partial set.
func Plot(dir string, runs []Run, curves []Curve) ([]string, error) {
	if err := os.MkdirAll(filepath.Dir(filepath.Clean(dir)), 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(filepath.Clean(dir)), "."+filepath.Base(dir)+".tmp*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	files, err := drawCharts(tmp, runs, curves)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	for i, f := range files {
		files[i] = filepath.Join(dir, filepath.Base(f))
		if err := os.Rename(f, files[i]); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// plottable refuses values whose range a chart's axis cannot hold: gonum's
// tick search never ends when max − min overflows float64.
func plottable(what string, vals ...float64) error {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range vals {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%s: the value %g cannot be plotted", what, v)
		}
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	if len(vals) > 0 && (math.IsInf(hi-lo, 0) || math.IsInf(hi, 0) || math.Abs(hi) > 1e300 || math.Abs(lo) > 1e300) {
		return fmt.Errorf("%s: values from %g to %g are too large to plot", what, lo, hi)
	}
	return nil
}

func drawCharts(dir string, runs []Run, curves []Curve) ([]string, error) {
	var files []string
	for _, m := range metricOrder(runs) {
		if counts[m] {
			continue
		}
		var names []string
		var vals plotter.Values
		for _, r := range runs {
			if v, ok := r.Values[m].(float64); ok {
				names = append(names, r.Name)
				vals = append(vals, v)
			}
		}
		if len(vals) == 0 {
			continue // a string field such as unit
		}
		if err := plottable("chart "+m, vals...); err != nil {
			return files, err
		}
		p := plot.New()
		p.Title.Text = m
		bars, err := plotter.NewBarChart(vals, vg.Points(24))
		if err != nil {
			return files, fmt.Errorf("chart %s: %v", m, err)
		}
		bars.Color = plotutil.Color(0)
		p.Add(bars)
		p.NominalX(names...)
		p.X.Min, p.X.Max = -0.5, float64(len(names))-0.5 // room for the outer bars
		path := filepath.Join(dir, strings.Trim(unsafeChars.ReplaceAllString(m, "_"), "_")+".png")
		if err := p.Save(5*vg.Inch, 3.5*vg.Inch, path); err != nil {
			return files, err
		}
		files = append(files, path)
	}
	fields := map[string]bool{}
	for _, c := range curves {
		for f := range c.Series {
			fields[f] = true
		}
	}
	names := make([]string, 0, len(fields))
	for f := range fields {
		names = append(names, f)
	}
	sort.Strings(names)
	for _, f := range names {
		p := plot.New()
		p.Title.Text = f
		p.X.Label.Text = "step"
		p.Legend.Top = true
		for i, c := range curves {
			pts := c.Series[f]
			if len(pts) == 0 {
				continue
			}
			xys := make(plotter.XYs, len(pts))
			xs, ys := make([]float64, len(pts)), make([]float64, len(pts))
			for k, pt := range pts {
				xys[k].X, xys[k].Y = pt[0], pt[1]
				xs[k], ys[k] = pt[0], pt[1]
			}
			what := fmt.Sprintf("curve %s of %s", f, c.Name)
			if err := plottable(what, xs...); err != nil {
				return files, err
			}
			if err := plottable(what, ys...); err != nil {
				return files, err
			}
			l, err := plotter.NewLine(xys)
			if err != nil {
				return files, fmt.Errorf("curve %s of %s: %v", f, c.Name, err)
			}
			l.Color = plotutil.Color(i)
			p.Add(l)
			p.Legend.Add(c.Name, l)
		}
		path := filepath.Join(dir, "curve_"+unsafeChars.ReplaceAllString(f, "_")+".png")
		if err := p.Save(6*vg.Inch, 4*vg.Inch, path); err != nil {
			return files, err
		}
		files = append(files, path)
	}
	return files, nil
}

// unsafeChars are replaced in file names made from log field names.
var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9_.-]`)
