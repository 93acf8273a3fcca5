package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// The per-answer files of one arm folder (evaluate -o), by set name, in
// the order they are read (facts are numbered as met: keep it fixed).
var sampleFiles = []struct{ name, file string }{
	{"test", "domain.test.samples.jsonl"},
	{"val", "domain.val.samples.jsonl"},
	{"general", "general.test.samples.jsonl"},
	{"trainq", "domain.trainq.samples.jsonl"},
	{"noisy", "domain.noisy.samples.jsonl"},
	{"choices", "domain.test.choices.samples.jsonl"},
}

// required are the files without which a run cannot be reported.
var required = []string{"test", "val", "general"}

// factKey names a fact of one data seed: the unit the bootstrap resamples.
type factKey struct {
	data int
	fact string
}

// registry numbers the facts of every data seed; weights are indexed by it.
type registry struct {
	index  map[factKey]int
	kinds  []string // by index; "" for a seed's slot
	facts  []string // by index
	strata map[stratum][]int
	// seeds' slots in the weights, by level ("data", "init"): only
	// --resample-seeds draws them; otherwise they weigh 1
	slots    map[factKey]int
	seedSets map[string][]int
}

// stratum is a data seed's facts of one kind: the bootstrap draws within it,
// so every resample keeps the design's facts per kind and per seed.
type stratum struct {
	data int
	kind string
}

func newRegistry() *registry {
	return &registry{index: map[factKey]int{}, strata: map[stratum][]int{}, slots: map[factKey]int{}, seedSets: map[string][]int{}}
}

// slot is the weight index of a seed of a level (data or init).
func (g *registry) slot(level string, seed int) int {
	k := factKey{seed, level}
	if i, ok := g.slots[k]; ok {
		return i
	}
	i := len(g.kinds)
	g.kinds = append(g.kinds, "")
	g.facts = append(g.facts, "")
	g.slots[k] = i
	g.seedSets[level] = append(g.seedSets[level], i)
	return i
}

// ones weighs every fact and seed once: the data as it is.
func (g *registry) ones() []float64 {
	w := make([]float64, len(g.kinds))
	for i := range w {
		w[i] = 1
	}
	return w
}

func (g *registry) add(data int, fact, kind string) (int, error) {
	k := factKey{data, fact}
	if i, ok := g.index[k]; ok {
		if g.kinds[i] != kind {
			return 0, fmt.Errorf("fact %q of data seed %d is %q here and %q elsewhere", fact, data, kind, g.kinds[i])
		}
		return i, nil
	}
	i := len(g.kinds)
	g.index[k] = i
	g.kinds = append(g.kinds, kind)
	g.facts = append(g.facts, fact)
	s := stratum{data, kind}
	g.strata[s] = append(g.strata[s], i)
	return i, nil
}

// factRow sums one fact's answers in one set of one run.
type factRow struct {
	fact                     int
	n, correct, rep          float64
	truncated, truncatedKnow float64
}

// set is one run's answers to one question set, summed per fact.
type set struct {
	rows      []factRow
	byKind    map[string][]factRow // the same rows by fact kind
	ids       map[string]int       // answer id → fact
	questions int
}

// armRun is one arm folder: n<noise>-d<data>-i<init>/<arm>.
type armRun struct {
	runs       *runsFS // what dir is in
	dir        string  // slash-separated, within runs
	noise      string
	noiseVal   float64
	data, init int
	method, lr string // method "base" has no lr
	lrVal      float64
	sets       map[string]*set
	heldout    float64   // score_mean_loss of held-out general prose
	kinds      []string  // the registry's, by fact
	ones       []float64 // every fact weighed once
	slots      [2]int    // weight indices of the data and init seed
	// the arm at its earlier epoch ends (demo CURVE=1: curve/checkpoint-N/,
	// by step), each with the test, general and held-out measures only
	curve []*armRun
	step  int
}

var runDir = regexp.MustCompile(`^n([0-9.eE+-]+)-d([0-9]+)-i([0-9]+)$`)

// parseArm splits an arm folder's name on its last "-lr": the method may
// hold dashes (nlirg-auto-lr2e-3).
func parseArm(name string) (method, lr string, lrVal float64, err error) {
	if name == "base" {
		return "base", "", 0, nil
	}
	i := strings.LastIndex(name, "-lr")
	if i <= 0 {
		return "", "", 0, fmt.Errorf("arm folder %q: want base or METHOD-lrLR", name)
	}
	method, lr = name[:i], name[i+3:]
	lrVal, err = strconv.ParseFloat(lr, 64)
	if err != nil || lrVal <= 0 {
		return "", "", 0, fmt.Errorf("arm folder %q: learning rate %q is not a positive number", name, lr)
	}
	return method, lr, lrVal, nil
}

// loadRuns reads every arm folder of runs. An arm folder lacking a
// required file is an error, or skipped with a warning when skip is set.
func loadRuns(runs *runsFS, skip bool, warn func(string)) ([]*armRun, *registry, error) {
	root := runs.name
	ents, err := fs.ReadDir(runs, ".")
	if err != nil {
		return nil, nil, err
	}
	g := newRegistry()
	var out []*armRun
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		m := runDir.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, nil, fmt.Errorf("%s: want folders named n<noise>-d<dataseed>-i<initseed>", runs.show(e.Name()))
		}
		noiseVal, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: noise %q is not a number", runs.show(e.Name()), m[1])
		}
		data, _ := strconv.Atoi(m[2])
		init, _ := strconv.Atoi(m[3])
		arms, err := fs.ReadDir(runs, e.Name())
		if err != nil {
			return nil, nil, err
		}
		for _, a := range arms {
			if !a.IsDir() || a.Name() == "data" { // demo/Makefile keeps the run's data beside its arms
				continue
			}
			dir := path.Join(e.Name(), a.Name())
			method, lr, lrVal, err := parseArm(a.Name())
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", runs.show(dir), err)
			}
			r := &armRun{runs: runs, dir: dir, noise: m[1], noiseVal: noiseVal, data: data, init: init, method: method, lr: lr, lrVal: lrVal}
			if err := r.load(g); err != nil {
				var missing missingError
				if skip && errors.As(err, &missing) {
					warn(fmt.Sprintf("skipping %s: %v", runs.show(dir), err))
					continue
				}
				return nil, nil, err
			}
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return nil, nil, fmt.Errorf("%s: no runs", root)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].dir < out[j].dir })
	return out, g, nil
}

type missingError struct{ path string }

func (e missingError) Error() string { return e.path + ": missing" }

func (r *armRun) load(g *registry) error {
	if err := r.loadMeasures(g, sampleFiles); err != nil {
		return err
	}
	return r.loadCurve(g)
}

// curveFiles are what demo/curve.sh measures at a checkpoint.
var curveFiles = []struct{ name, file string }{
	{"test", "domain.test.samples.jsonl"},
	{"general", "general.test.samples.jsonl"},
}

// loadCurve reads the arm's curve/checkpoint-N folders, if any, by step.
func (r *armRun) loadCurve(g *registry) error {
	dirs, err := fs.Glob(r.runs, path.Join(r.dir, "curve", "checkpoint-*"))
	if err != nil {
		return err
	}
	for _, d := range dirs {
		step, err := strconv.Atoi(strings.TrimPrefix(path.Base(d), "checkpoint-"))
		if err != nil {
			return fmt.Errorf("%s: want curve/checkpoint-<step>", r.runs.show(d))
		}
		p := *r
		p.dir, p.step, p.curve = d, step, nil
		if err := p.loadMeasures(g, curveFiles); err != nil {
			return err
		}
		r.curve = append(r.curve, &p)
	}
	sort.Slice(r.curve, func(i, j int) bool { return r.curve[i].step < r.curve[j].step })
	return nil
}

// loadMeasures reads files' samples and heldout.json from r.dir.
func (r *armRun) loadMeasures(g *registry, files []struct{ name, file string }) error {
	r.sets = map[string]*set{}
	for _, sf := range files {
		name, file := sf.name, path.Join(r.dir, sf.file)
		var ids map[string]int // choices rows name their question, not its fact
		if name == "choices" && r.sets["test"] != nil {
			ids = r.sets["test"].ids
		}
		s, err := readSamples(r.runs, file, r.data, name == "choices", ids, g)
		if errors.Is(err, fs.ErrNotExist) {
			for _, req := range required {
				if req == name {
					return missingError{r.runs.show(file)}
				}
			}
			continue
		}
		if err != nil {
			return err
		}
		r.sets[name] = s
	}
	file := path.Join(r.dir, "heldout.json")
	path := r.runs.show(file)
	b, err := fs.ReadFile(r.runs, file)
	if errors.Is(err, fs.ErrNotExist) {
		return missingError{path}
	}
	if err != nil {
		return err
	}
	var h struct {
		Loss *float64 `json:"score_mean_loss"`
	}
	if err := json.Unmarshal(b, &h); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if h.Loss == nil {
		return fmt.Errorf("%s: no score_mean_loss", path)
	}
	r.heldout = *h.Loss
	return nil
}

// sampleRow is one line of evaluate -o ({id, correct, seq_rep_4,
// truncated, meta}), or of evaluate choices -o (one question: {question,
// candidates, correct, credit}; credit is 1/t for a t-way tie with the
// reference). fact and kind come from meta, else the top level, else (a
// choices row) from the domain test answer of the same question id.
type sampleRow struct {
	ID         string   `json:"id"`
	Question   string   `json:"question"`
	Correct    *bool    `json:"correct"`
	Credit     *float64 `json:"credit"`
	SeqRep4    *float64 `json:"seq_rep_4"`
	Truncated  *bool    `json:"truncated"`
	Candidates int      `json:"candidates"`
	K          int      `json:"k"`
	Fact       string   `json:"fact"`
	Kind       string   `json:"kind"`
	Meta       struct {
		Fact    string   `json:"fact"`
		Kind    string   `json:"kind"`
		Choices []string `json:"choices"`
	} `json:"meta"`
}

// readSamples sums a samples file per fact. For choices the "correct" sum
// is chance-corrected per question: (correct − 1/k)/(1 − 1/k), whose mean
// is (acc − 1/k)/(1 − 1/k) when k is the same for all.
func readSamples(runs *runsFS, file string, data int, choices bool, ids map[string]int, g *registry) (*set, error) {
	f, err := runs.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	path := runs.show(file)
	rows := map[int]*factRow{}
	s := &set{ids: map[string]int{}}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for line := 1; sc.Scan(); line++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var x sampleRow
		if err := json.Unmarshal(sc.Bytes(), &x); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		fact, kind := x.Meta.Fact, x.Meta.Kind
		if fact == "" {
			fact, kind = x.Fact, x.Kind
		}
		if i, ok := ids[x.Question]; ok && fact == "" && choices {
			fact, kind = g.facts[i], g.kinds[i]
		}
		if fact == "" || kind == "" {
			if choices {
				return nil, fmt.Errorf("%s:%d: question %q: no fact and kind (meta.fact, fact, or a domain test answer with this id)", path, line, x.Question)
			}
			return nil, fmt.Errorf("%s:%d: no meta.fact or meta.kind", path, line)
		}
		if x.Correct == nil {
			return nil, fmt.Errorf("%s:%d: no \"correct\" (the question needs a reference)", path, line)
		}
		i, err := g.add(data, fact, kind)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		fr := rows[i]
		if fr == nil {
			fr = &factRow{fact: i}
			rows[i] = fr
		}
		c := 0.0
		if *x.Correct {
			c = 1
		}
		if choices {
			if x.Credit != nil {
				c = *x.Credit
			}
			k := x.Candidates
			if k == 0 {
				k = x.K
			}
			if k == 0 {
				k = len(x.Meta.Choices)
			}
			if k < 2 {
				return nil, fmt.Errorf("%s:%d: want k ≥ 2 candidates, have %d", path, line, k)
			}
			c = (c - 1/float64(k)) / (1 - 1/float64(k))
		}
		fr.n++
		fr.correct += c
		if x.SeqRep4 != nil {
			fr.rep += *x.SeqRep4
		}
		if x.Truncated != nil {
			fr.truncatedKnow++
			if *x.Truncated {
				fr.truncated++
			}
		}
		s.questions++
		if x.ID != "" {
			s.ids[x.ID] = i
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, fr := range rows {
		s.rows = append(s.rows, *fr)
	}
	sort.Slice(s.rows, func(i, j int) bool { return s.rows[i].fact < s.rows[j].fact })
	s.byKind = map[string][]factRow{}
	for _, r := range s.rows {
		k := g.kinds[r.fact]
		s.byKind[k] = append(s.byKind[k], r)
	}
	return s, nil
}
