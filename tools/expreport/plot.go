package main

import (
	"bytes"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// pareto draws one noise level's curves: per arm, one point per lr (means
// over seeds) at x = change of held-out general loss over the base's and
// y = domain accuracy (of facts of kind, "" for all) minus the base's, with
// the forgetting budget's loss bound as a dashed line.
func (e *experiment) pareto(noise, kind string) ([]byte, error) {
	p := plot.New()
	p.Title.Text = "noise " + noise
	if kind != "" {
		p.Title.Text += ", " + kind + " facts"
	}
	p.X.Label.Text = "Δ held-out general loss vs base (nats)"
	p.Y.Label.Text = "domain accuracy − base's"
	ones := e.reg.ones()
	acc := setMean("test", accuracy, kind)
	base := e.chosen[sweepKey{noise, "base"}]
	baseAcc := math.NaN()
	if base != nil {
		baseAcc = acc(base, ones)
	}
	ymin, ymax := 0.0, 0.0
	for i, m := range e.methods {
		if m == "base" {
			continue
		}
		var pts plotter.XYs
		var lrs []string
		for _, c := range e.sweeps[sweepKey{noise, m}] {
			x, y := lossChange(c, ones), acc(c, ones)-baseAcc
			if math.IsNaN(x) || math.IsNaN(y) {
				continue
			}
			pts = append(pts, plotter.XY{X: x, Y: y})
			lrs = append(lrs, c.lr)
			ymin, ymax = math.Min(ymin, y), math.Max(ymax, y)
		}
		if len(pts) == 0 {
			continue
		}
		if err := addCurve(p, i, m, pts, lrs); err != nil {
			return nil, err
		}
	}
	budget, err := plotter.NewLine(plotter.XYs{{X: budgetLoss, Y: ymin}, {X: budgetLoss, Y: ymax}})
	if err != nil {
		return nil, err
	}
	budget.Color = color.Gray{Y: 128}
	budget.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(budget)
	return finish(p)
}

// addCurve draws an arm's points (the i-th arm's colour and glyph), each
// labelled.
func addCurve(p *plot.Plot, i int, name string, pts plotter.XYs, labels []string) error {
	l, s, err := plotter.NewLinePoints(pts)
	if err != nil {
		return err
	}
	l.Color, s.Color = plotutil.Color(i), plotutil.Color(i)
	s.Shape = plotutil.Shape(i)
	lab, err := plotter.NewLabels(plotter.XYLabels{XYs: pts, Labels: labels})
	if err != nil {
		return err
	}
	for j := range lab.TextStyle {
		lab.TextStyle[j].Font.Size = vg.Points(7)
		lab.TextStyle[j].Color = plotutil.Color(i)
	}
	p.Add(l, s, lab)
	p.Legend.Add(name, l, s)
	return nil
}

// finish marks the base at the origin (where every curve starts: lr → 0,
// or no training) and renders the plot as a PNG.
func finish(p *plot.Plot) ([]byte, error) {
	origin, err := plotter.NewScatter(plotter.XYs{{}})
	if err != nil {
		return nil, err
	}
	origin.Shape = draw.CircleGlyph{}
	origin.Radius = vg.Points(4)
	p.Add(origin, plotter.NewGrid())
	p.Legend.Add("base", origin)
	// bottom right: much forgetting for little accuracy, where no arm's
	// curve goes
	p.Legend.Top, p.Legend.Left = false, false
	wt, err := p.WriterTo(6*vg.Inch, 4*vg.Inch, "png")
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
