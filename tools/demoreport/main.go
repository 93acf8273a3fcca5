// Command demoreport gathers the measures of make demo's arms (demo/Makefile)
// into one table, three answers side by side, and summary.json for scripts.
//
//	go run ./tools/demoreport --dir build/demo --arms "base sft nlirg" --train T --test Q -o build/demo/summary.json
//
// Each arm's folder holds evaluate's summaries: domain.test.eval.json and
// general.test.eval.json (generated answers, --by meta.kind),
// domain.test.choices.json (multiple choice by log-likelihood),
// heldout.json (held-out general loss), domain.trainq.eval.json and
// domain.noisy.eval.json (training paraphrases, mislabelled prompts).
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/ytrain/ytrain/formats"
	"github.com/ytrain/ytrain/internal/cli"
	"github.com/ytrain/ytrain/internal/corpus"
)

func main() {
	os.Exit(cli.Run("demoreport", os.Stderr, func() error { return run(os.Args[1:], os.Stdout) }))
}

// kinds are the fact kinds of tools/world, in the table's order.
var kinds = []string{"new", "conflicting", "consistent"}

// arm is one row of the table and one entry of summary.json. The measures
// your own data (demo/Makefile's TRAIN=…) has no question sets for are nil:
// general QA, multiple choice, training paraphrases, fact kinds.
type arm struct {
	DomainAccuracy       float64            `json:"domain_accuracy"`
	DomainAccuracyByKind map[string]float64 `json:"domain_accuracy_by_kind,omitempty"`
	ChoiceAccuracy       *float64           `json:"choice_accuracy_chance_corrected,omitempty"`
	ChoiceAccuracyByKind map[string]float64 `json:"choice_accuracy_chance_corrected_by_kind,omitempty"`
	GeneralAccuracy      *float64           `json:"general_accuracy,omitempty"`
	GeneralKept          *float64           `json:"general_accuracy_kept,omitempty"` // of the base's
	GeneralLoss          float64            `json:"general_loss"`
	GeneralLossChange    float64            `json:"general_loss_change"`
	SeqRep4              float64            `json:"seq_rep_4"`
	GeneralSeqRep4       *float64           `json:"general_seq_rep_4,omitempty"`
	NoStop               float64            `json:"no_stop_share"` // answers cut at the token limit, domain and general
	TrainParaphrase      *float64           `json:"train_paraphrase_accuracy,omitempty"`
	NoiseReproduced      *float64           `json:"noise_reproduced,omitempty"` // wrong labels repeated on mislabelled prompts
	Answers              string             `json:"answers"`
	// the real model's general skill (make demo-real: general.test's sets,
	// judged by their own rules)
	CommonKnowledge *float64 `json:"common_knowledge,omitempty"` // share kept of what the base answers right
	Instruction     *float64 `json:"instruction_following,omitempty"`
	Conversation    *float64 `json:"conversation,omitempty"`
	SeqRep3         *float64 `json:"seq_rep_3,omitempty"`          // domain answers
	LongformSeqRep3 *float64 `json:"longform_seq_rep_3,omitempty"` // long general answers
}

type summary struct {
	Train string          `json:"train"`
	Test  string          `json:"test"`
	Order []string        `json:"order"`
	Arms  map[string]*arm `json:"arms"`
}

func run(args []string, stdout io.Writer) error {
	fs := pflag.NewFlagSet("demoreport", pflag.ContinueOnError)
	dir := fs.String("dir", "build/demo", "the demo's output folder")
	root := fs.String("root", ".", "paths in summary.json are relative to this folder")
	arms := fs.String("arms", "base sft nlirg", "arms, the base first")
	train := fs.String("train", "", "the training data file")
	test := fs.String("test", "", "the domain test questions")
	out := fs.StringP("output", "o", "", "summary.json to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || *train == "" || *test == "" {
		return errors.New("--train, --test and -o are required")
	}
	rel := func(p string) string {
		a, err1 := filepath.Abs(p)
		r, err2 := filepath.Abs(*root)
		if s, err := filepath.Rel(r, a); err1 == nil && err2 == nil && err == nil {
			return s
		}
		return p
	}
	s := summary{Train: rel(*train), Test: rel(*test), Arms: map[string]*arm{}}
	for _, name := range strings.Fields(*arms) {
		a, err := readArm(filepath.Join(*dir, name))
		if err != nil {
			return err
		}
		a.Answers = rel(filepath.Join(*dir, name, "domain.test.answers.jsonl"))
		s.Order = append(s.Order, name)
		s.Arms[name] = a
	}
	if len(s.Order) == 0 {
		return errors.New("--arms: none given")
	}
	base := s.Arms[s.Order[0]]
	for _, a := range s.Arms {
		a.GeneralLossChange = a.GeneralLoss - base.GeneralLoss
		if a.GeneralAccuracy != nil && base.GeneralAccuracy != nil && *base.GeneralAccuracy > 0 {
			kept := *a.GeneralAccuracy / *base.GeneralAccuracy
			a.GeneralKept = &kept
		}
	}
	var md strings.Builder
	table(&md, s)
	if base.CommonKnowledge != nil {
		general(&md, s)
	}
	if err := examples(&md, *dir, s.Order, *test, "domain.test.answers.jsonl", func(kind, _ string) bool { return true }); err != nil {
		return err
	}
	// the real model's general prompts: the first greeting, answered by every arm
	if g := filepath.Join(filepath.Dir(*test), "general.test.jsonl"); base.Conversation != nil {
		if err := examples(&md, *dir, s.Order, g, "general.test.answers.jsonl", func(_, check string) bool { return check == "greeting" }); err != nil {
			return err
		}
	}
	if err := formats.WriteBytes(filepath.Join(*dir, "table.md"), []byte(md.String())); err != nil {
		return err
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := formats.WriteBytes(*out, append(b, '\n')); err != nil {
		return err
	}
	_, err = io.WriteString(stdout, md.String())
	return err
}

// readArm reads one arm's evaluate summaries. Only the domain test and the
// held-out loss are there on your own data.
func readArm(dir string) (*arm, error) {
	var dom, gen, trq, noisy, held, cho map[string]any
	for _, f := range []struct {
		name     string
		into     *map[string]any
		optional bool
	}{
		{"domain.test.eval.json", &dom, false}, {"general.test.eval.json", &gen, true},
		{"domain.trainq.eval.json", &trq, true}, {"domain.noisy.eval.json", &noisy, true},
		{"heldout.json", &held, false}, {"domain.test.choices.json", &cho, true},
	} {
		b, err := os.ReadFile(filepath.Join(dir, f.name))
		if errors.Is(err, os.ErrNotExist) && f.optional {
			continue // no such question set (no noise: no mislabelled prompts)
		}
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(b, f.into); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, f.name), err)
		}
	}
	a := &arm{
		DomainAccuracy:  num(dom, "accuracy"),
		ChoiceAccuracy:  opt(cho, "chance_corrected_accuracy"),
		GeneralAccuracy: opt(gen, "accuracy"),
		GeneralLoss:     num(held, "score_mean_loss"),
		SeqRep4:         num(dom, "seq_rep_4"),
		GeneralSeqRep4:  opt(gen, "seq_rep_4"),
		TrainParaphrase: opt(trq, "accuracy"),
	}
	nd, ng := num(dom, "samples"), num(gen, "samples")
	if nd+ng > 0 {
		a.NoStop = (num(dom, "truncated_share")*nd + num(gen, "truncated_share")*ng) / (nd + ng)
	}
	if num(noisy, "samples") > 0 {
		a.NoiseReproduced = opt(noisy, "accuracy")
	}
	if g := group(gen, "ck"); g != nil { // realworld's general sets
		a.CommonKnowledge = opt(g, "accuracy")
		a.Instruction = opt(group(gen, "instruction"), "accuracy")
		a.Conversation = opt(group(gen, "conversation"), "accuracy")
		a.LongformSeqRep3 = opt(group(gen, "longform"), "seq_rep_3")
		a.SeqRep3 = opt(dom, "seq_rep_3")
	}
	for _, k := range kinds {
		if g := group(dom, k); g != nil {
			if a.DomainAccuracyByKind == nil {
				a.DomainAccuracyByKind = map[string]float64{}
			}
			a.DomainAccuracyByKind[k] = num(g, "accuracy")
		}
		if g := group(cho, k); g != nil {
			if a.ChoiceAccuracyByKind == nil {
				a.ChoiceAccuracyByKind = map[string]float64{}
			}
			a.ChoiceAccuracyByKind[k] = num(g, "chance_corrected_accuracy")
		}
	}
	return a, nil
}

// opt is a measure of a summary that may be absent (nil when m is).
func opt(m map[string]any, k string) *float64 {
	if m == nil {
		return nil
	}
	v := num(m, k)
	return &v
}

// group is the summary of one value of evaluate's --by field.
func group(m map[string]any, k string) map[string]any {
	by, _ := m["by"].(map[string]any)
	g, _ := by[k].(map[string]any)
	return g
}

func num(m map[string]any, k string) float64 {
	v, _ := m[k].(float64)
	return v
}

func table(w *strings.Builder, s summary) {
	fmt.Fprintln(w, "| arm | new | conflicting | consistent | domain | multiple choice (chance-corrected) | general QA (kept) | Δ general loss | seq-rep-4 | no stop | noise repeated | train paraphrases |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, name := range s.Order {
		a := s.Arms[name]
		general := "–"
		if a.GeneralAccuracy != nil {
			general = fmt.Sprintf("%.2f", *a.GeneralAccuracy)
			if a.GeneralKept != nil {
				general += fmt.Sprintf(" (%.0f %%)", 100**a.GeneralKept)
			}
		}
		byKind := func(k string) string {
			v, ok := a.DomainAccuracyByKind[k]
			return cell(&v, ok)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | **%.2f** | %s | %s | %+.3f | %.3f | %.2f | %s | %s |\n",
			name, byKind("new"), byKind("conflicting"), byKind("consistent"),
			a.DomainAccuracy, cell(a.ChoiceAccuracy, true), general, a.GeneralLossChange,
			a.SeqRep4, a.NoStop, cell(a.NoiseReproduced, true), cell(a.TrainParaphrase, true))
	}
}

// general is the real model's general-skill table: what fine-tuning kept.
func general(w *strings.Builder, s summary) {
	fmt.Fprintln(w, "\n| arm | common knowledge kept | instruction following | conversation | seq-rep-3 domain | seq-rep-3 long general |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for _, name := range s.Order {
		a := s.Arms[name]
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", name, cell(a.CommonKnowledge, true), cell(a.Instruction, true),
			cell(a.Conversation, true), cell(a.SeqRep3, true), cell(a.LongformSeqRep3, true))
	}
}

// cell is a measure with two decimals, or "–" where there is none.
func cell(v *float64, ok bool) string {
	if v == nil || !ok {
		return "–"
	}
	return fmt.Sprintf("%.2f", *v)
}

// examples shows, for each fact kind, the first question of file that want
// takes (by its meta.kind and first meta.check rule), and every arm's answer
// to it from answers (a file name in each arm's folder).
func examples(w *strings.Builder, dir string, arms []string, file, answers string, want func(kind, check string) bool) error {
	type q struct {
		ID, Prompt, Reference string
		Meta                  struct {
			Kind  string
			Check any
		}
	}
	var picks []q
	seen := map[string]bool{}
	if err := corpus.EachRecord(file, "jsonl", nil, func(rec *corpus.Record) error {
		var x q
		if err := json.Unmarshal(rec.Raw, &x); err != nil {
			return err
		}
		id, err := rec.ID() // as generate names it: questions of your own may have no id
		if err != nil {
			return err
		}
		x.ID = id
		check := fmt.Sprint(x.Meta.Check)
		if l, ok := x.Meta.Check.([]any); ok && len(l) > 0 {
			check = fmt.Sprint(l[0])
		}
		if !seen[x.Meta.Kind] && want(x.Meta.Kind, check) {
			seen[x.Meta.Kind] = true
			picks = append(picks, x)
		}
		return nil
	}); err != nil {
		return err
	}
	said := map[string]map[string]string{}
	for _, a := range arms {
		said[a] = map[string]string{}
		if err := eachLine(filepath.Join(dir, a, answers), func(b []byte) error {
			var r struct{ ID, Response string }
			if err := json.Unmarshal(b, &r); err != nil {
				return err
			}
			said[a][r.ID] = r.Response
			return nil
		}); err != nil {
			return err
		}
	}
	for _, p := range picks {
		if p.Meta.Kind != "" {
			fmt.Fprintf(w, "\n**%s** (%s fact; reference: %s)\n\n", p.Prompt, p.Meta.Kind, p.Reference)
		} else {
			fmt.Fprintf(w, "\n**%s** (reference: %s)\n\n", p.Prompt, p.Reference)
		}
		for _, a := range arms {
			fmt.Fprintf(w, "- %s: %s\n", a, strings.ReplaceAll(said[a][p.ID], "\n", " "))
		}
	}
	return nil
}

// eachLine calls f with every JSON Lines record of path, as written.
func eachLine(path string, f func([]byte) error) error {
	return corpus.EachRecord(path, "jsonl", nil, func(rec *corpus.Record) error { return f(rec.Raw) })
}
