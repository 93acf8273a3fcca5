package evalmetrics

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Plot writes PNG charts into dir: one bar chart per metric of the runs
// (<metric>.png; counts are not charted), and one line chart per field of
// the training logs (curve_<field>.png, one line per log). It returns the
// files written.
func Plot(dir string, runs []Run, curves []Curve) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
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
		path := filepath.Join(dir, m+".png")
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
			for k, pt := range pts {
				xys[k].X, xys[k].Y = pt[0], pt[1]
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
