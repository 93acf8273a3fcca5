package main

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/ytrain/ytrain/internal/weighting"
)

// bins are the loss histogram's lower edges; the last bin is open.
var bins = []float64{0, 0.1, 0.5, 1, 2, 4, 8}

// kinds are the fact kinds of tools/world, in the table's order; others
// follow sorted.
var kinds = []string{"new", "conflicting", "consistent"}

// Report is the JSON output, and what the markdown table shows.
type Report struct {
	Records        int   `json:"records"`             // token records read
	Targets        int   `json:"targets"`             // their target tokens
	UnalignedRecs  int   `json:"unaligned_records"`   // answers not found in their decoded targets
	UnusedDataRecs int   `json:"unused_data_records"` // data records with no token record (tokenize skipped them)
	Bins           []Bin `json:"bins"`
	Rows           []Row `json:"rows"`
}

// Bin is one loss bin and the weight NLIRG's default gives its centre (the
// open last bin: its lower edge).
type Bin struct {
	Lo       float64  `json:"lo"`
	Hi       *float64 `json:"hi"` // null: no upper edge
	WeightAt float64  `json:"weight_at"`
	Weight   float64  `json:"nlirg_weight"`
}

// Row is one class of tokens (a subset of value tokens when Kind or Noisy is set).
type Row struct {
	Name   string    `json:"name"`
	Class  string    `json:"class"`
	Kind   string    `json:"kind,omitempty"`
	Noisy  *bool     `json:"noisy,omitempty"`
	Tokens int       `json:"tokens"`
	Mean   float64   `json:"mean_loss"`
	Median float64   `json:"median_loss"`
	Shares []float64 `json:"shares"` // per bin
}

// tally collects the losses of each row.
type tally struct {
	losses map[string][]float64 // by row name
	kinds  map[string]bool
}

func newTally() *tally { return &tally{losses: map[string][]float64{}, kinds: map[string]bool{}} }

func (t *tally) add(class, kind string, noisy bool, loss float64) {
	t.losses[class] = append(t.losses[class], loss)
	if class != value {
		return
	}
	t.kinds[kind] = true
	t.losses[kindRow(kind)] = append(t.losses[kindRow(kind)], loss)
	t.losses[noisyRow(noisy)] = append(t.losses[noisyRow(noisy)], loss)
}

func kindRow(kind string) string { return "value · kind " + kind }
func noisyRow(n bool) string     { return fmt.Sprintf("value · noisy %t", n) }

// rows summarises the tally in the table's order; rows without tokens are
// left out, except the three classes.
func (t *tally) rows() []Row {
	out := []Row{row(template, template, t.losses[template]), row(copied, copied, t.losses[copied]),
		row(value, value, t.losses[value])}
	ks := slices.Clone(kinds)
	var extra []string
	for k := range t.kinds {
		if !slices.Contains(kinds, k) {
			extra = append(extra, k)
		}
	}
	slices.Sort(extra)
	for _, k := range append(ks, extra...) {
		if l := t.losses[kindRow(k)]; len(l) > 0 {
			r := row(kindRow(k), value, l)
			r.Kind = k
			out = append(out, r)
		}
	}
	for _, n := range []bool{false, true} {
		if l := t.losses[noisyRow(n)]; len(l) > 0 {
			r := row(noisyRow(n), value, l)
			r.Noisy = &n
			out = append(out, r)
		}
	}
	if l := t.losses[unaligned]; len(l) > 0 {
		out = append(out, row(unaligned, unaligned, l))
	}
	return out
}

// unaligned are the targets of answers classify could not place.
const unaligned = "unaligned"

func row(name, class string, losses []float64) Row {
	r := Row{Name: name, Class: class, Tokens: len(losses), Shares: make([]float64, len(bins))}
	if len(losses) == 0 {
		r.Mean, r.Median = math.NaN(), math.NaN()
		return r
	}
	sum := 0.0
	for _, l := range losses {
		sum += l
		r.Shares[binOf(l)]++
	}
	for i := range r.Shares {
		r.Shares[i] /= float64(len(losses))
	}
	r.Mean = sum / float64(len(losses))
	s := slices.Clone(losses)
	slices.Sort(s)
	if n := len(s); n%2 == 1 {
		r.Median = s[n/2]
	} else {
		r.Median = (s[n/2-1] + s[n/2]) / 2
	}
	return r
}

func binOf(loss float64) int {
	i := len(bins) - 1
	for i > 0 && loss < bins[i] {
		i--
	}
	return i
}

func binTable() []Bin {
	w := weighting.DefaultNLIRG()
	out := make([]Bin, len(bins))
	for i, lo := range bins {
		b := Bin{Lo: lo, WeightAt: lo}
		if i+1 < len(bins) {
			hi := bins[i+1]
			b.Hi, b.WeightAt = &hi, (lo+hi)/2
		}
		b.Weight = w.W(b.WeightAt)
		out[i] = b
	}
	return out
}

func (b Bin) label() string {
	if b.Hi == nil {
		return fmt.Sprintf("[%g,∞)", b.Lo)
	}
	return fmt.Sprintf("[%g,%g)", b.Lo, *b.Hi)
}

// Markdown writes the report as a table, one row per class.
func (r *Report) Markdown() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "# Answer-token loss by token class\n\n")
	fmt.Fprintf(&sb, "%d records, %d target tokens. template: the answer's wording and the end-of-turn token; "+
		"copied: the entity, copied from the question; value: the fact's value (meta.label). "+
		"Loss bins as shares of the row's tokens.\n\n", r.Records, r.Targets)
	sb.WriteString("| class | tokens | mean loss | median |")
	for _, b := range r.Bins {
		fmt.Fprintf(&sb, " %s |", b.label())
	}
	sb.WriteString("\n|---|--:|--:|--:|")
	sb.WriteString(strings.Repeat("--:|", len(r.Bins)))
	sb.WriteString("\n| *NLIRG weight* | | | |")
	for _, b := range r.Bins {
		fmt.Fprintf(&sb, " *%.3f* |", b.Weight)
	}
	sb.WriteString("\n")
	for _, row := range r.Rows {
		fmt.Fprintf(&sb, "| %s | %d | %s | %s |", row.Name, row.Tokens, num(row.Mean), num(row.Median))
		for _, s := range row.Shares {
			fmt.Fprintf(&sb, " %.3f |", s)
		}
		sb.WriteString("\n")
	}
	last := r.Bins[len(r.Bins)-1]
	fmt.Fprintf(&sb, "\nNLIRG weight: weighting.DefaultNLIRG().W at each bin's centre (at %g for the open bin; 0 from the deadline on).\n", last.Lo)
	if r.UnalignedRecs > 0 {
		fmt.Fprintf(&sb, "%d records could not be aligned (their answer or label is not in the decoded targets): their tokens are the unaligned row.\n", r.UnalignedRecs)
	}
	if r.UnusedDataRecs > 0 {
		fmt.Fprintf(&sb, "%d data records have no token record (skipped by tokenize).\n", r.UnusedDataRecs)
	}
	return sb.String()
}

func num(x float64) string {
	if math.IsNaN(x) {
		return "–"
	}
	return fmt.Sprintf("%.3f", x)
}

// JSON is the report as indented JSON; an empty row's mean and median are null.
func (r *Report) JSON() ([]byte, error) {
	type jrow struct {
		Row
		Mean   *float64 `json:"mean_loss"`
		Median *float64 `json:"median_loss"`
	}
	rows := make([]jrow, len(r.Rows))
	for i, row := range r.Rows {
		rows[i] = jrow{Row: row}
		if !math.IsNaN(row.Mean) {
			rows[i].Mean, rows[i].Median = &r.Rows[i].Mean, &r.Rows[i].Median
		}
	}
	b, err := json.MarshalIndent(struct {
		*Report
		Rows []jrow `json:"rows"`
	}{r, rows}, "", "  ")
	return append(b, '\n'), err
}
