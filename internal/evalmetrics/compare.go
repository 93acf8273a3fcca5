package evalmetrics

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"github.com/ytrain/ytrain/internal/corpus"
)

// Run is one evaluate summary, named after its file.
type Run struct {
	Name   string
	Values map[string]any // float64 or string
}

// groupMetrics are the fields of a summary's "by" groups that compare
// tables, each as FIELD[GROUP].
var groupMetrics = []string{"accuracy", "chance_corrected_accuracy"}

// ReadRun reads a summary written by evaluate (any JSON object works: its
// numbers and strings are compared, and the accuracies of its "by" groups).
func ReadRun(path string) (Run, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Run{}, err
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		return Run{}, fmt.Errorf("%s: want evaluate's JSON summary: %v", path, err)
	}
	r := Run{Name: runName(path), Values: map[string]any{}}
	for k, x := range v {
		switch x.(type) {
		case float64, string:
			r.Values[k] = x
		}
	}
	if by, ok := v["by"].(map[string]any); ok {
		for g, x := range by {
			m, _ := x.(map[string]any)
			for _, k := range groupMetrics {
				if f, ok := m[k].(float64); ok {
					r.Values[k+"["+g+"]"] = f
				}
			}
		}
	}
	return r, nil
}

// runName names a run after its file: "ft" for runs/ft.json, and for a
// file called metrics.jsonl after its folder (runs/ft/metrics.jsonl → ft).
func runName(path string) string {
	base := filepath.Base(path)
	if base == "metrics.jsonl" {
		if dir := filepath.Base(filepath.Dir(path)); dir != "." && dir != "/" {
			return dir
		}
	}
	return strings.TrimSuffix(base, filepath.Ext(base))
}

// counts are summary fields that count things rather than measure them:
// tabled, never charted.
var counts = map[string]bool{"samples": true, "truncated_known": true, "with_reference": true, "score_documents": true, "score_targets": true,
	"questions": true, "candidates": true}

// metricOrder lists the summaries' fields in the order evaluate and
// evaluate choices write them, then any others (the groups' FIELD[GROUP]
// among them) alphabetically.
func metricOrder(runs []Run) []string {
	var order []string
	known := map[string]bool{}
	for _, t := range []reflect.Type{reflect.TypeFor[Responses](), reflect.TypeFor[HeldOut](), reflect.TypeFor[ChoiceSummary]()} {
		for i := range t.NumField() {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			if !known[name] {
				order = append(order, name)
				known[name] = true
			}
		}
	}
	var extra []string
	for _, r := range runs {
		for k := range r.Values {
			if !known[k] {
				known[k] = true
				extra = append(extra, k)
			}
		}
	}
	sort.Strings(extra)
	var out []string
	for _, k := range append(order, extra...) {
		for _, r := range runs {
			if _, ok := r.Values[k]; ok {
				out = append(out, k)
				break
			}
		}
	}
	return out
}

// CompareTable writes a markdown table: one row per metric, one column per
// run, and after every run but the first its difference from the first.
func CompareTable(w io.Writer, runs []Run) error {
	var b strings.Builder
	b.WriteString("| metric |")
	align := "|---|"
	for i, r := range runs {
		fmt.Fprintf(&b, " %s |", cell(r.Name))
		align += "--:|"
		if i > 0 {
			fmt.Fprintf(&b, " Δ %s |", cell(r.Name))
			align += "--:|"
		}
	}
	b.WriteString("\n" + align + "\n")
	for _, m := range metricOrder(runs) {
		fmt.Fprintf(&b, "| %s |", m)
		base, baseOK := runs[0].Values[m].(float64)
		for i, r := range runs {
			v, ok := r.Values[m]
			switch x := v.(type) {
			case float64:
				fmt.Fprintf(&b, " %s |", num(x))
			case string:
				fmt.Fprintf(&b, " %s |", cell(x))
			default:
				b.WriteString(" — |")
			}
			if i == 0 {
				continue
			}
			if x, isNum := v.(float64); ok && isNum && baseOK {
				fmt.Fprintf(&b, " %s |", delta(x-base))
			} else {
				b.WriteString("  |")
			}
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func num(v float64) string { return fmt.Sprintf("%.4g", v) }

func delta(d float64) string {
	if d == 0 {
		return "0"
	}
	return fmt.Sprintf("%+.4g", d)
}

func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// Curve is a training log: metrics.jsonl, one JSON object per line, each
// numeric field a series over "step" (or the line's position without one).
type Curve struct {
	Name   string
	Series map[string][][2]float64 // field → (step, value) points
}

// ReadCurve reads a metrics.jsonl training log.
func ReadCurve(path string) (Curve, error) {
	rs, err := corpus.OpenRecords(path, "jsonl", nil)
	if err != nil {
		return Curve{}, err
	}
	defer rs.Close()
	c := Curve{Name: runName(path), Series: map[string][][2]float64{}}
	for rec, err := range rs.All() {
		if err != nil {
			return Curve{}, err
		}
		x := float64(rec.N)
		if raw, ok := rec.Fields.Get("step"); ok {
			json.Unmarshal(raw, &x) // not a number: the line's position
		}
		for _, f := range rec.Fields {
			var y float64
			if f.Key != "step" && json.Unmarshal(f.Value, &y) == nil {
				c.Series[f.Key] = append(c.Series[f.Key], [2]float64{x, y})
			}
		}
	}
	if len(c.Series) == 0 {
		return Curve{}, fmt.Errorf("%s: no numeric fields to plot", path)
	}
	return c, nil
}
