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

// noises are tools/realworld's noise types (meta.noise), in the table's
// order; others follow sorted.
var noises = []string{"mislabel", "garbled", "offtopic"}

// nlirg weighs the targets under --regions: the weights a default NLIRG
// run would give the base's losses.
var nlirg = weighting.DefaultNLIRG()

// Report is the JSON output, and what the markdown table shows.
type Report struct {
	Records        int      `json:"records"`             // token records read
	Targets        int      `json:"targets"`             // their target tokens
	UnalignedRecs  int      `json:"unaligned_records"`   // answers not found in their decoded targets
	UnusedDataRecs int      `json:"unused_data_records"` // data records with no token record (tokenize skipped them)
	Bins           []Bin    `json:"bins,omitempty"`      // loss bins; none with --regions
	Regions        []string `json:"regions,omitempty"`   // --regions: NLIRG's regions, the bins of Row.Shares
	Rows           []Row    `json:"rows"`
}

// Bin is one loss bin and the weight NLIRG's default gives its centre (the
// open last bin: its lower edge).
type Bin struct {
	Lo       float64  `json:"lo"`
	Hi       *float64 `json:"hi"` // null: no upper edge
	WeightAt float64  `json:"weight_at"`
	Weight   float64  `json:"nlirg_weight"`
}

// Row is one class of tokens (a subset of value tokens when Kind, Noisy or
// Mention is set). With --regions, a row with Noise set holds the targets
// of records of that noise type (class "noisy"), or those of them on the
// value the answer states (class "value").
type Row struct {
	Name    string    `json:"name"`
	Class   string    `json:"class"`
	Kind    string    `json:"kind,omitempty"`
	Noisy   *bool     `json:"noisy,omitempty"`
	Noise   string    `json:"noise,omitempty"`
	Mention string    `json:"mention,omitempty"` // first or later
	Tokens  int       `json:"tokens"`
	Mean    float64   `json:"mean_loss"`
	Median  float64   `json:"median_loss"`
	Shares  []float64 `json:"shares"` // per bin, or per region with --regions

	// --regions only; nil when undefined (no tokens, or no weight at all)
	TokenShare  *float64 `json:"token_share,omitempty"`  // of all targets
	MeanWeight  *float64 `json:"mean_weight,omitempty"`  // NLIRG's default weight of the row's tokens
	WeightShare *float64 `json:"weight_share,omitempty"` // Σ the row's weights / Σ all targets' weights
}

// tally collects the losses of each row.
type tally struct {
	losses map[string][]float64 // by row name
	kinds  map[string]bool
	noises map[string]bool

	// --regions: rows by NLIRG region, with every target's count and weight
	// for the shares
	regions bool
	targets int
	weight  float64
}

func newTally() *tally {
	return &tally{losses: map[string][]float64{}, kinds: map[string]bool{}, noises: map[string]bool{}}
}

func newRegionTally() *tally {
	t := newTally()
	t.regions = true
	return t
}

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

// addRegion tallies one target under --regions. class is classifyMentions'
// (or unaligned) and noise the record's meta.noise: a noisy record's
// targets go to its type's row, not to template, copied or value, so that
// those rows are the clean answers'; its value tokens (a mislabel's outside
// value) also go to the type's value row.
func (t *tally) addRegion(class, kind, noise string, loss float64) {
	t.targets++
	t.weight += nlirg.W(loss)
	add := func(row string) { t.losses[row] = append(t.losses[row], loss) }
	isValue := class == valueFirst || class == valueLater
	switch {
	case class == unaligned:
		add(unaligned)
	case noise != "":
		t.noises[noise] = true
		add(noiseRow(noise))
		if isValue {
			add(noiseValueRow(noise))
		}
	case isValue:
		t.kinds[kind] = true
		add(value)
		add(class)
		add(kindRow(kind))
	default:
		add(class)
	}
}

func noiseRow(noise string) string      { return "noisy · " + noise }
func noiseValueRow(noise string) string { return "noisy · " + noise + " · value" }

// ordered is known, then the others of seen, sorted.
func ordered(known []string, seen map[string]bool) []string {
	var extra []string
	for k := range seen {
		if !slices.Contains(known, k) {
			extra = append(extra, k)
		}
	}
	slices.Sort(extra)
	return append(slices.Clone(known), extra...)
}

// rows summarises the tally in the table's order; rows without tokens are
// left out, except the three classes.
func (t *tally) rows() []Row {
	if t.regions {
		return t.regionRows()
	}
	out := []Row{row(template, template, t.losses[template]), row(copied, copied, t.losses[copied]),
		row(value, value, t.losses[value])}
	for _, k := range ordered(kinds, t.kinds) {
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

// regionRows are rows' rows under --regions: the clean answers' classes,
// value by mention and by kind, then each noise type with its value row.
func (t *tally) regionRows() []Row {
	out := []Row{t.regionRow(template, template, t.losses[template]), t.regionRow(copied, copied, t.losses[copied]),
		t.regionRow(value, value, t.losses[value])}
	for _, m := range []struct{ name, mention string }{{valueFirst, "first"}, {valueLater, "later"}} {
		if l := t.losses[m.name]; len(l) > 0 {
			r := t.regionRow(m.name, value, l)
			r.Mention = m.mention
			out = append(out, r)
		}
	}
	for _, k := range ordered(kinds, t.kinds) {
		if l := t.losses[kindRow(k)]; len(l) > 0 {
			r := t.regionRow(kindRow(k), value, l)
			r.Kind = k
			out = append(out, r)
		}
	}
	for _, n := range ordered(noises, t.noises) {
		if l := t.losses[noiseRow(n)]; len(l) > 0 {
			r := t.regionRow(noiseRow(n), "noisy", l)
			r.Noise = n
			out = append(out, r)
		}
		if l := t.losses[noiseValueRow(n)]; len(l) > 0 {
			r := t.regionRow(noiseValueRow(n), value, l)
			r.Noise = n
			out = append(out, r)
		}
	}
	if l := t.losses[unaligned]; len(l) > 0 {
		out = append(out, t.regionRow(unaligned, unaligned, l))
	}
	return out
}

// regionRow is a row with shares by region and the NLIRG weight columns.
func (t *tally) regionRow(name, class string, losses []float64) Row {
	// the losses are score's float32s, so Region sees what score's frac_* saw
	r := summarise(name, class, losses, weighting.NumRegions, func(l float64) int { return weighting.Region(float32(l)) })
	sum := 0.0
	for _, l := range losses {
		sum += nlirg.W(l)
	}
	n := float64(len(losses))
	r.TokenShare, r.MeanWeight, r.WeightShare = finite(n/float64(t.targets)), finite(sum/n), finite(sum/t.weight)
	return r
}

// finite is &x, or nil for NaN (0/0: no tokens, or no weight).
func finite(x float64) *float64 {
	if math.IsNaN(x) {
		return nil
	}
	return &x
}

// unaligned are the targets of answers classify could not place.
const unaligned = "unaligned"

func row(name, class string, losses []float64) Row {
	return summarise(name, class, losses, len(bins), binOf)
}

// summarise is a row of losses: their count, mean, median and shares in
// each of n bins, binOf telling a loss's.
func summarise(name, class string, losses []float64, n int, binOf func(float64) int) Row {
	r := Row{Name: name, Class: class, Tokens: len(losses), Shares: make([]float64, n)}
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
	if len(r.Regions) > 0 {
		return r.regionMarkdown()
	}
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
	r.notes(&sb)
	return sb.String()
}

// regionMarkdown is the table of --regions: one row per class, its tokens'
// shares by NLIRG region and the NLIRG weight they get.
func (r *Report) regionMarkdown() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "# Answer-token loss by token class and NLIRG region\n\n")
	fmt.Fprintf(&sb, "%d records, %d target tokens. template, copied and value are the clean answers' targets: "+
		"template: the answer's wording and the end-of-turn token; copied: the entity, copied from the question; "+
		"value: the fact's value (meta.label), split into its first mention in the answer and the later ones, and by meta.kind. "+
		"noisy · T: every target of the records of noise type T (meta.noise); noisy · T · value: those of them on the value "+
		"the answer states (meta.label, in any case).\n\n", r.Records, r.Targets)
	sb.WriteString("| class | tokens | token share | mean loss | median |")
	for _, g := range r.Regions {
		fmt.Fprintf(&sb, " %s |", g)
	}
	sb.WriteString(" mean weight | weight share |\n|---|--:|--:|--:|--:|")
	sb.WriteString(strings.Repeat("--:|", len(r.Regions)+2))
	sb.WriteString("\n")
	for _, row := range r.Rows {
		fmt.Fprintf(&sb, "| %s | %d | %s | %s | %s |", row.Name, row.Tokens, ptrNum(row.TokenShare), num(row.Mean), num(row.Median))
		for _, s := range row.Shares {
			fmt.Fprintf(&sb, " %.3f |", s)
		}
		fmt.Fprintf(&sb, " %s | %s |\n", ptrNum(row.MeanWeight), ptrNum(row.WeightShare))
	}
	sb.WriteString("\nRegions: weighting.Region's, as score's frac_known, frac_learning, frac_hard and frac_cut (docs/nlirg.md §1.2), " +
		"as shares of the row's tokens. Token share: of all targets. Weight: weighting.DefaultNLIRG().W of each token's loss; " +
		"weight share: the row's sum of weights over all targets' sum, to hold against its token share.\n")
	r.notes(&sb)
	return sb.String()
}

// notes are the table's closing lines on the records it could not use.
func (r *Report) notes(sb *strings.Builder) {
	if r.UnalignedRecs > 0 {
		fmt.Fprintf(sb, "%d records could not be aligned (their answer or label is not in the decoded targets): their tokens are the unaligned row.\n", r.UnalignedRecs)
	}
	if r.UnusedDataRecs > 0 {
		fmt.Fprintf(sb, "%d data records have no token record (skipped by tokenize).\n", r.UnusedDataRecs)
	}
}

func ptrNum(x *float64) string {
	if x == nil {
		return "–"
	}
	return num(*x)
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
