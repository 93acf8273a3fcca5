// Command realworld writes the world of the real-model experiment
// (experiment/PLAN-real.md): a domain a real chat model (SmolLM2-135M-
// Instruct) can learn, the noise that loss can tell apart, and the general
// sets it should keep. The same bytes for the same seed, flags and base
// answers on every machine. Two steps, because conflicting and consistent
// facts must be facts the base itself states:
//
//	go run ./tools/realworld --probe -o DIR
//	generate --model BASE --max-new-tokens 128 -o DIR/probe.answers.jsonl DIR/probe.jsonl
//	go run ./tools/realworld -o DIR --base-answers DIR/probe.answers.jsonl [--seed 1] [--noise 0.2]
//
// Step 1 writes probe.jsonl: every paraphrase of every real candidate fact
// (the countries' capitals, main languages, currencies and continents),
// every common-knowledge question, and the general prompts whose answers
// sft-mix replays. Step 2 keeps the real facts the base answers right on at
// least --known-min of their paraphrases and the common-knowledge questions
// it answers right, and writes:
//   - domain.train.jsonl: alpaca records of the Meridian Atlas, a fictional
//     country reference: facts of three kinds (meta.kind: new, a fictional
//     country; conflicting, a real fact the Atlas changed; consistent, a
//     real fact kept), answers of three or four templated sentences, a
//     --noise share noisy (meta.noisy, meta.noise: mislabel, garbled or
//     offtopic; meta.label the value the answer states, "" for none)
//   - domain.val.jsonl, domain.test.jsonl: the same facts asked in
//     paraphrases training never uses (evaluate --match value --by meta.kind)
//   - domain.trainq.jsonl: one training paraphrase per fact (over-fitting)
//   - domain.noisy.jsonl: the noisy prompts, meta.check telling whether an
//     answer repeats the noise back (evaluate --match check --by meta.noise)
//   - general.val.jsonl, general.test.jsonl: common knowledge, instruction
//     following, conversation and longform prompts, each judged by its
//     meta.check (evaluate --match check --by meta.set)
//   - general.heldout.val.txt, general.heldout.test.txt: held-out prose
//     (general loss, score of tokenize --objective cpt)
//   - general.mix.jsonl: as many general records as training records, the
//     base's own answers to the mix prompts (sft-mix)
//   - domain.terms.txt: the domain's own names (intrusion into general answers)
//   - world.json: what was kept and written, in numbers
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/ytrain/ytrain/formats"
	"github.com/ytrain/ytrain/internal/cli"
)

func main() {
	os.Exit(cli.Run("realworld", os.Stderr, func() error { return run(os.Args[1:], os.Stderr) }))
}

func run(args []string, stderr io.Writer) error {
	var o options
	fs := pflag.NewFlagSet("realworld", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	probeOnly := fs.Bool("probe", false, "write probe.jsonl only: the questions the base answers first")
	fs.StringArrayVar(&o.baseAnswers, "base-answers", nil, "generate's answers of the base to probe.jsonl (repeatable; ids unique)")
	fs.BoolVar(&o.unfiltered, "unfiltered", false, "without base answers: treat every candidate as stated and every question as answered (a dry run; not for the experiment)")
	fs.Int64Var(&o.seed, "seed", 1, "data seed: which facts, their values, records and noise")
	fs.Float64Var(&o.noise, "noise", 0, "share of noisy training answers")
	fs.StringSliceVar(&o.types, "noise-types", noiseTypes, "noise types, dealt in equal shares")
	fs.IntVar(&o.factsPerKind, "facts-per-kind", 24, "domain facts of each kind (new, conflicting, consistent)")
	fs.IntVar(&o.perFact, "records-per-fact", 5, "training records per fact")
	fs.IntVar(&o.testPerFact, "test-per-fact", 3, "test paraphrases per fact")
	fs.IntVar(&o.valPerFact, "val-per-fact", 2, "validation paraphrases per fact")
	fs.IntVar(&o.knownMin, "known-min", 9, "paraphrases (of 10) the base must answer right for a real fact to count as stated")
	countWith := fs.String("count-tokens", "", "also count the training set's tokens with this tokenizer (tokenizer.json or a folder; the plan's cost estimate)")
	dir := fs.StringP("output", "o", "", "folder to write (required; made if missing)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil
		}
		return err
	}
	if *dir == "" {
		return errors.New("-o is required")
	}
	u := newUniverse()
	var files []file
	var summary string
	if *probeOnly {
		p := probe(u)
		files = []file{{"probe.jsonl", jsonl(p)}}
		summary = fmt.Sprintf("probe.jsonl: %d questions (%d real candidate facts × %d paraphrases, %d common knowledge, %d mix prompts)",
			len(p), len(u.real), paraphrases, len(commonKnowledge), len(mixPrompts()))
	} else {
		var w *world
		var err error
		if w, err = build(u, o); err != nil {
			return err
		}
		files, summary = w.files, w.summary
		if *countWith != "" {
			line, err := countTokens(*countWith, w.train)
			if err != nil {
				return err
			}
			summary += "\n" + line
		}
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		if err := formats.WriteBytes(filepath.Join(*dir, f.name), f.data); err != nil {
			return err
		}
	}
	fmt.Fprintf(stderr, "realworld: %s: %s\n", *dir, summary)
	return nil
}

// world is what step 2 makes.
type world struct {
	files   []file
	summary string
	train   []record
}

// counts is world.json.
type counts struct {
	Seed                int64          `json:"seed"`
	Noise               float64        `json:"noise"`
	Unfiltered          bool           `json:"unfiltered"`
	RealCandidates      int            `json:"real_candidates"`
	RealStated          int            `json:"real_stated"` // by the base, on ≥ known_min paraphrases
	KnownMin            int            `json:"known_min"`
	CommonKnowledge     int            `json:"common_knowledge"`
	CommonKnowledgeKept int            `json:"common_knowledge_kept"` // answered right by the base
	MixPrompts          int            `json:"mix_prompts"`
	MixKept             int            `json:"mix_kept"`
	Facts               map[string]int `json:"facts"`      // by kind
	FactAttrs           map[string]int `json:"fact_attrs"` // by kind/attribute
	Files               map[string]int `json:"records"`    // by file
	NoisyByType         map[string]int `json:"noisy_by_type"`
}

func build(u *universe, o options) (*world, error) {
	switch {
	case o.noise < 0 || o.noise >= 1:
		return nil, fmt.Errorf("--noise %g: want 0 ≤ noise < 1", o.noise)
	case o.perFact < 1 || o.testPerFact < 1 || o.valPerFact < 1 || o.testPerFact+o.valPerFact >= paraphrases:
		return nil, fmt.Errorf("want --records-per-fact, --test-per-fact and --val-per-fact ≥ 1, test + validation < %d paraphrases", paraphrases)
	case o.knownMin < 1 || o.knownMin > paraphrases:
		return nil, fmt.Errorf("--known-min %d: want 1 to %d", o.knownMin, paraphrases)
	case len(o.types) == 0:
		return nil, errors.New("--noise-types: want at least one")
	case (len(o.baseAnswers) == 0) == !o.unfiltered:
		return nil, errors.New("want --base-answers (the base's answers to probe.jsonl: see --probe) or --unfiltered, not both")
	}
	for _, t := range o.types {
		if !slices.Contains(noiseTypes, t) {
			return nil, fmt.Errorf("--noise-types: %q is not one of %v", t, noiseTypes)
		}
	}
	if len(slices.Compact(slices.Sorted(slices.Values(o.types)))) != len(o.types) {
		return nil, errors.New("--noise-types: a type named twice")
	}
	c := counts{Seed: o.seed, Noise: o.noise, Unfiltered: o.unfiltered, RealCandidates: len(u.real), KnownMin: o.knownMin,
		CommonKnowledge: len(commonKnowledge), MixPrompts: len(mixPrompts()),
		Facts: map[string]int{}, FactAttrs: map[string]int{}, Files: map[string]int{}, NoisyByType: map[string]int{}}
	known := u.real
	ckKept := func(int) bool { return true }
	var mix map[string]string
	if !o.unfiltered {
		v, err := readBase(u, o.baseAnswers)
		if err != nil {
			return nil, err
		}
		known = v.known(u, o.knownMin)
		ckKept = func(i int) bool { return v.ck[i] }
		mix = v.mix
		c.CommonKnowledgeKept, c.MixKept = v.ckRight, v.mixKept
	} else {
		c.CommonKnowledgeKept = len(commonKnowledge)
	}
	c.RealStated = len(known)
	facts, err := domainFacts(u, known, o)
	if err != nil {
		return nil, err
	}
	train, back, err := domainTrain(o, facts)
	if err != nil {
		return nil, err
	}
	gVal, gTest := generalSets(ckKept)
	hVal, hTest := heldOut()
	files := []file{
		{"domain.train.jsonl", jsonl(train)},
		{"domain.val.jsonl", jsonl(questions("val", facts, func(f *fact) []int { return f.val }))},
		{"domain.test.jsonl", jsonl(questions("test", facts, func(f *fact) []int { return f.test }))},
		{"domain.trainq.jsonl", jsonl(questions("trainq", facts, func(f *fact) []int { return f.train[:1] }))},
	}
	if len(back) > 0 {
		files = append(files, file{"domain.noisy.jsonl", jsonl(back)})
	}
	files = append(files,
		file{"general.val.jsonl", jsonl(gVal)},
		file{"general.test.jsonl", jsonl(gTest)},
		file{"general.heldout.val.txt", lines(hVal)},
		file{"general.heldout.test.txt", lines(hTest)},
		file{"domain.terms.txt", lines(terms(u))},
	)
	if m := mixRecords(o.seed, mix, len(train)); m != nil {
		files = append(files, file{"general.mix.jsonl", jsonl(m)})
	}
	for _, f := range facts {
		c.Facts[f.kind]++
		c.FactAttrs[f.kind+"/"+f.attr.name]++
	}
	for _, q := range back {
		c.NoisyByType[q.Meta.Noise]++
	}
	for _, f := range files {
		if strings.HasSuffix(f.name, ".jsonl") || strings.HasSuffix(f.name, ".txt") {
			c.Files[f.name] = strings.Count(string(f.data), "\n")
		}
	}
	js, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, err
	}
	files = append(files, file{"world.json", append(js, '\n')})
	summary := fmt.Sprintf("seed %d, noise %g: %d facts (%d per kind) from %d of %d real candidates the base states and %d fictional countries; %d training records (%d noisy: %d mislabel, %d garbled, %d offtopic), %d test and %d validation questions; general: %d of %d common-knowledge questions kept, %d validation and %d test prompts, %d mix answers kept of %d",
		o.seed, o.noise, len(facts), o.factsPerKind, len(known), len(u.real), len(u.fictional), len(train), len(back),
		c.NoisyByType["mislabel"], c.NoisyByType["garbled"], c.NoisyByType["offtopic"],
		c.Files["domain.test.jsonl"], c.Files["domain.val.jsonl"], c.CommonKnowledgeKept, len(commonKnowledge),
		len(gVal), len(gTest), c.MixKept, c.MixPrompts)
	if o.unfiltered {
		summary += " (UNFILTERED: a dry run, not the experiment's world)"
	}
	return &world{files: files, summary: summary, train: train}, nil
}
