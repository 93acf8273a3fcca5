package main

import (
	"fmt"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
)

// Curves over training: each arm at its chosen lr, measured at every epoch
// end (demo CURVE=1), so an arm traces domain accuracy against forgetting
// as it trains, not only across the lr sweep.

type curveOut struct {
	Arm    string     `json:"arm"`
	Noise  string     `json:"noise"`
	LR     string     `json:"lr"`
	Epochs []epochOut `json:"epochs"`
}

type epochOut struct {
	Epoch             int   `json:"epoch"` // 1-based; the last is the final model
	DomainAccuracy    value `json:"domain_accuracy"`
	GeneralKept       value `json:"general_kept"`
	GeneralLossChange value `json:"general_loss_change"`
}

func curveName(noise string) string { return "curve-n" + noise + ".png" }

// curveCells are the chosen cells of a noise level that have curves.
func (e *experiment) curveCells(noise string) []*cell {
	var out []*cell
	for _, m := range e.methods {
		if c := e.chosen[sweepKey{noise, m}]; c != nil && m != "base" && c.epochs() > 1 {
			out = append(out, c)
		}
	}
	return out
}

func (e *experiment) hasCurves(noise string) bool { return len(e.curveCells(noise)) > 0 }

// curves bootstraps every curve point.
func (e *experiment) curves(b *boot) []curveOut {
	var out []curveOut
	loss := metricByKey("general_loss_change")
	for _, n := range e.noises {
		for _, c := range e.curveCells(n) {
			co := curveOut{Arm: c.method, Noise: n, LR: c.lr}
			for k := 0; k < c.epochs(); k++ {
				ck := c.atEpoch(k)
				acc := b.estimate(func(w []float64) float64 { return domainAccuracy(ck, w) })
				kept := b.estimate(func(w []float64) float64 { return generalKept(ck, w) })
				co.Epochs = append(co.Epochs, epochOut{Epoch: k + 1,
					DomainAccuracy:    value{Mean: num(acc.Value), Lo: num(acc.Lo), Hi: num(acc.Hi)},
					GeneralKept:       value{Mean: num(kept.Value), Lo: num(kept.Lo), Hi: num(kept.Hi)},
					GeneralLossChange: cellValue(b, ck, loss)})
			}
			out = append(out, co)
		}
	}
	return out
}

// curveTable writes a noise level's curves: a row per arm and epoch.
func curveTable(b *strings.Builder, res *results, noise string) {
	fmt.Fprintf(b, "\n### Curves over training\n\nEach arm at its lr, measured at every epoch end (the last is the final model above); "+
		"means over seeds with 95 %% intervals as above. The plot draws domain accuracy against Δ general loss, one line per arm through its epochs.\n\n"+
		"![noise %s, curves over training](%s)\n\n| arm | lr | epoch | domain acc. | general-QA %% of base | Δ general loss |\n|---|---|---|---|---|---|\n", noise, curveName(noise))
	for _, co := range res.Curves {
		if co.Noise != noise {
			continue
		}
		for _, ep := range co.Epochs {
			fmt.Fprintf(b, "| %s | %s | %d | %s | %s | %s |\n", co.Arm, co.LR, ep.Epoch, fmtValue("%.3f", ep.DomainAccuracy),
				fmtValue("%.2f", ep.GeneralKept), fmtValue("%+.3f", ep.GeneralLossChange))
		}
	}
}

// curvePlot draws a noise level's curves: per arm, its epochs in order at
// x = Δ held-out general loss and y = domain accuracy − the base's.
func (e *experiment) curvePlot(noise string) ([]byte, error) {
	p := plot.New()
	p.Title.Text = "noise " + noise + ": over training (epochs)"
	p.X.Label.Text = "Δ held-out general loss vs base (nats)"
	p.Y.Label.Text = "domain accuracy − base's"
	ones := e.reg.ones()
	baseAcc := math.NaN()
	if base := e.chosen[sweepKey{noise, "base"}]; base != nil {
		baseAcc = domainAccuracy(base, ones)
	}
	for i, m := range e.methods {
		c := e.chosen[sweepKey{noise, m}]
		if c == nil || m == "base" || c.epochs() < 2 {
			continue
		}
		pts := plotter.XYs{{}} // every arm starts at the base
		labels := []string{""}
		for k := 0; k < c.epochs(); k++ {
			ck := c.atEpoch(k)
			pts = append(pts, plotter.XY{X: lossChange(ck, ones), Y: domainAccuracy(ck, ones) - baseAcc})
			labels = append(labels, fmt.Sprint(k+1))
		}
		if err := addCurve(p, i, m+" "+c.lr, pts, labels); err != nil {
			return nil, err
		}
	}
	return finish(p)
}
