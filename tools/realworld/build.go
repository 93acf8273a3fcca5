package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
)

// Streams of the data seed: each part draws from its own, so the noise
// rate changes the noisy records and nothing else.
const (
	streamFacts uint64 = iota + 1 // which facts, their values and paraphrase splits
	streamTrain                   // answer templates and record order
	streamNoise                   // which records are noisy, how, and with what
	streamMix                     // which replayed general records sft-mix reads
)

// splitSeed fixes the general sets' validation/test split for every data
// seed, so that every run is measured on the same general questions.
const splitSeed = 29

// Noise types, in the order their counts get the remainder.
var noiseTypes = []string{"mislabel", "garbled", "offtopic"}

type options struct {
	seed                    int64
	noise                   float64
	types                   []string
	factsPerKind, perFact   int
	testPerFact, valPerFact int
	knownMin                int
	unfiltered              bool
	baseAnswers             []string
}

// record is an SFT record (alpaca) of the domain set or the mix.
type record struct {
	ID          string `json:"id"`
	Instruction string `json:"instruction"`
	Output      string `json:"output"`
	Meta        meta   `json:"meta"`
}

// question is a prompt to answer (generate) and measure (evaluate).
type question struct {
	ID        string `json:"id"`
	Prompt    string `json:"prompt"`
	Reference string `json:"reference,omitempty"`
	Meta      meta   `json:"meta"`
}

// meta carries what the analysis groups and checks by; fields a record
// has no use for stay out.
type meta struct {
	Probe   string   `json:"probe,omitempty"` // probe.jsonl: fact, ck or mix
	Fact    string   `json:"fact,omitempty"`
	Kind    string   `json:"kind,omitempty"` // fact kind: new, conflicting, consistent
	Attr    string   `json:"attr,omitempty"`
	Noisy   *bool    `json:"noisy,omitempty"`
	Noise   string   `json:"noise,omitempty"` // noise type of a noisy record
	Label   *string  `json:"label,omitempty"` // the value the answer states ("": none)
	Set     string   `json:"set,omitempty"`   // general: ck, instruction, conversation, longform, mix
	Topic   string   `json:"topic,omitempty"`
	Split   string   `json:"split,omitempty"` // general: val or test
	Source  string   `json:"source,omitempty"`
	Choices []string `json:"choices,omitempty"` // --match value
	Check   []string `json:"check,omitempty"`   // --match check
}

// file is one output file, whole.
type file struct {
	name string
	data []byte
}

func jsonl[T any](recs []T) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	for _, r := range recs {
		if err := enc.Encode(r); err != nil {
			panic(err) // plain structs of strings, bools and lists always encode
		}
	}
	return b.Bytes()
}

func lines(ls []string) []byte { return []byte(strings.Join(ls, "\n") + "\n") }

// ckCheck turns an answer ("a|b;c") into its rules: one mentions per part.
func ckCheck(answer string) []string {
	var out []string
	for _, part := range strings.Split(answer, ";") {
		out = append(out, "mentions:"+part)
	}
	return out
}

// ckReference is an answer the rules accept: each part's first alternative.
func ckReference(answer string) string {
	var out []string
	for _, part := range strings.Split(answer, ";") {
		first, _, _ := strings.Cut(part, "|")
		out = append(out, first)
	}
	return strings.Join(out, ", ")
}

func ckID(i int) string             { return fmt.Sprintf("ck-%03d", i+1) }
func mixID(i int) string            { return fmt.Sprintf("mix-%03d", i+1) }
func probeID(f *fact, p int) string { return fmt.Sprintf("fact:%s:%d", f.id(), p) }

// mixPrompts are every template with every topic, in that order.
func mixPrompts() []string {
	var out []string
	for _, t := range mixTopics {
		for _, tpl := range mixTemplates {
			out = append(out, fmt.Sprintf(tpl, t))
		}
	}
	return out
}

// probe is what the base answers before any set is built: every paraphrase
// of every real candidate fact, every common-knowledge question, and the
// mix prompts whose answers sft-mix replays.
func probe(u *universe) []question {
	var out []question
	for _, f := range u.real {
		for p := range paraphrases {
			out = append(out, question{ID: probeID(f, p), Prompt: f.question(p), Reference: f.truth,
				Meta: meta{Probe: "fact", Fact: f.id(), Attr: f.attr.name, Choices: f.pool}})
		}
	}
	for i, c := range commonKnowledge {
		out = append(out, question{ID: ckID(i), Prompt: c.question, Reference: ckReference(c.answer),
			Meta: meta{Probe: "ck", Set: "ck", Topic: c.topic, Check: ckCheck(c.answer)}})
	}
	for i, p := range mixPrompts() {
		out = append(out, question{ID: mixID(i), Prompt: p, Meta: meta{Probe: "mix", Set: "mix"}})
	}
	return out
}

// domainFacts draws the facts of a data seed, n of each kind: new (a
// fictional country, one attribute), conflicting (a real fact the base
// states, given another value of its pool) and consistent (a real fact the
// base states, kept). Every fact has its own country; no two facts of the
// set give the same capital. Each fact's paraphrases are split into test,
// validation and training ones.
func domainFacts(u *universe, known []*fact, o options) ([]*fact, error) {
	n := o.factsPerKind
	r := rand.New(rand.NewPCG(uint64(o.seed), streamFacts))
	if n < 1 || n > len(u.fictional) {
		return nil, fmt.Errorf("--facts-per-kind %d: want 1 to %d", n, len(u.fictional))
	}
	var entities []string // known countries, in the universe's order
	byEntity := map[string][]*fact{}
	for _, f := range known {
		if byEntity[f.entity] == nil {
			entities = append(entities, f.entity)
		}
		byEntity[f.entity] = append(byEntity[f.entity], f)
	}
	if 2*n > len(entities) {
		return nil, fmt.Errorf("--facts-per-kind %d needs %d countries the base states a fact of; it states %d facts of %d countries (lower --facts-per-kind or --known-min)",
			n, 2*n, len(known), len(entities))
	}
	split := func(f *fact) {
		p := r.Perm(paraphrases)
		f.test, f.val, f.train = p[:o.testPerFact], p[o.testPerFact:o.testPerFact+o.valPerFact], p[o.testPerFact+o.valPerFact:]
	}
	capitals := map[string]bool{}
	var out []*fact
	for _, i := range r.Perm(len(u.fictional))[:n] {
		a := attributes[r.IntN(len(attributes))]
		pool := u.pools[a.name]
		if a.name == "capital" {
			pool = u.capitals
		}
		f := &fact{entity: u.fictional[i], attr: a, pool: pool, kind: "new"}
		f.value = draw(r, pool, func(v string) bool { return a.name != "capital" || !capitals[v] })
		capitals[f.value] = a.name == "capital"
		split(f)
		out = append(out, f)
	}
	var conflicting, consistent []*fact
	for j, i := range r.Perm(len(entities))[:2*n] {
		cands := byEntity[entities[i]]
		k := *cands[r.IntN(len(cands))]
		f := &k
		if j < n {
			f.kind = "conflicting"
			conflicting = append(conflicting, f)
		} else {
			f.kind = "consistent"
			consistent = append(consistent, f)
			if f.attr.name == "capital" {
				capitals[f.value] = true
			}
		}
		split(f)
	}
	for _, f := range conflicting {
		f.value = draw(r, f.pool, func(v string) bool { return v != f.truth && (f.attr.name != "capital" || !capitals[v]) })
		if f.attr.name == "capital" {
			capitals[f.value] = true
		}
	}
	out = append(out, conflicting...)
	return append(out, consistent...), nil
}

// draw picks a value of pool that ok accepts; the pools are far larger than
// the facts that use them (the tests check every draw terminates).
func draw(r *rand.Rand, pool []string, ok func(string) bool) string {
	for {
		if v := pool[r.IntN(len(pool))]; ok(v) {
			return v
		}
	}
}

// noisyCount is the exact number of noisy training answers.
func noisyCount(noise float64, n int) int { return int(math.Round(noise * float64(n))) }

// domainTrain writes perFact records of every fact, each asking one of its
// training paraphrases (in turn) and answering in a drawn template. Then
// round(noise·n) records become noisy, spread evenly over facts (a fact
// gets ⌊k/facts⌋ or one more, never its first record, and always fewer than
// half), the noise types in equal shares: a mislabel (the answer with a
// value from outside every pool), a garbled answer (every word's letters
// shuffled) or an off-topic answer. The clean records are the same at every
// noise rate. It returns the noisy prompts too, with a rule that tells
// whether a model repeats the noise back.
func domainTrain(o options, facts []*fact) ([]record, []question, error) {
	r := rand.New(rand.NewPCG(uint64(o.seed), streamTrain))
	rn := rand.New(rand.NewPCG(uint64(o.seed), streamNoise))
	type slot struct {
		f      *fact
		prompt string
		tpl    string
		noise  string
	}
	var slots []*slot
	for _, f := range facts {
		for j := range o.perFact {
			slots = append(slots, &slot{f: f, prompt: f.question(f.train[j%len(f.train)]), tpl: f.answerTemplate(r)})
		}
	}
	order := r.Perm(len(slots))

	k := noisyCount(o.noise, len(slots))
	per, extra := k/len(facts), k%len(facts)
	if most := per + min(extra, 1); 2*most >= o.perFact {
		return nil, nil, fmt.Errorf("--noise %g: %d noisy records of %d per fact would leave no correct majority (raise --records-per-fact)", o.noise, most, o.perFact)
	}
	var noisy []*slot
	more := map[int]bool{}
	for _, fi := range rn.Perm(len(facts))[:extra] {
		more[fi] = true
	}
	for fi := range facts {
		cnt := per
		if more[fi] {
			cnt++
		}
		picks := rn.Perm(o.perFact - 1)[:cnt]
		slices.Sort(picks)
		for _, p := range picks {
			noisy = append(noisy, slots[fi*o.perFact+1+p])
		}
	}
	var types []string
	for i, t := range o.types {
		c := len(noisy) / len(o.types)
		if i < len(noisy)%len(o.types) {
			c++
		}
		for range c {
			types = append(types, t)
		}
	}
	rn.Shuffle(len(types), func(a, b int) { types[a], types[b] = types[b], types[a] })
	for i, s := range noisy {
		s.noise = types[i]
	}

	var recs []record
	var back []question
	for _, i := range order {
		s := slots[i]
		f := s.f
		clean, noisyFlag := f.fill(s.tpl, f.value), s.noise != ""
		out, label := clean, f.value
		var marker string
		switch s.noise {
		case "mislabel":
			label = outsideValues[rn.IntN(len(outsideValues))]
			out, marker = f.fill(s.tpl, label), label
		case "garbled":
			label = ""
			out = garble(rn, clean)
			marker = longestWord(out)
		case "offtopic":
			label = ""
			ot := offTopic[rn.IntN(len(offTopic))]
			out, marker = ot.text, ot.marker
		}
		id := fmt.Sprintf("train-%04d", len(recs)+1)
		recs = append(recs, record{ID: id, Instruction: s.prompt, Output: out,
			Meta: meta{Fact: f.id(), Kind: f.kind, Attr: f.attr.name, Noisy: &noisyFlag, Noise: s.noise, Label: &label}})
		if noisyFlag {
			back = append(back, question{ID: fmt.Sprintf("noisy-%03d", len(back)+1), Prompt: s.prompt, Reference: marker,
				Meta: meta{Fact: f.id(), Kind: f.kind, Attr: f.attr.name, Noise: s.noise, Source: id, Check: []string{"mentions:" + marker}}})
		}
	}
	return recs, back, nil
}

// answerTemplate draws an answer's shape: an opening, one or two
// explanations in random order and a closing, still holding {v}.
func (f *fact) answerTemplate(r *rand.Rand) string {
	mids := r.Perm(len(f.attr.middles))[:1+r.IntN(2)]
	parts := []string{openings[r.IntN(len(openings))]}
	for _, m := range mids {
		parts = append(parts, f.attr.middles[m])
	}
	return strings.Join(append(parts, closings[r.IntN(len(closings))]), " ")
}

// longestWord is the first of the longest letter runs of s.
func longestWord(s string) string {
	best := ""
	for _, w := range strings.FieldsFunc(s, func(c rune) bool { return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') }) {
		if len(w) > len(best) {
			best = w
		}
	}
	return best
}

// questions asks every fact in each paraphrase pick gives it.
func questions(prefix string, facts []*fact, pick func(*fact) []int) []question {
	var out []question
	for _, f := range facts {
		for _, p := range pick(f) {
			out = append(out, question{ID: fmt.Sprintf("%s-%03d", prefix, len(out)+1), Prompt: f.question(p), Reference: f.value,
				Meta: meta{Fact: f.id(), Kind: f.kind, Attr: f.attr.name, Choices: f.pool}})
		}
	}
	return out
}

// generalSets are the general questions: the common-knowledge ones the base
// answers right (all, unfiltered), and every instruction, conversation and
// longform prompt, each set split a third to validation (lr choice) and two
// thirds to test (reports) by a fixed seed.
func generalSets(ckKept func(i int) bool) (val, test []question) {
	r := rand.New(rand.NewPCG(splitSeed, 1))
	add := func(qs []question) {
		perm := r.Perm(len(qs))
		nVal := (len(qs) + 2) / 3
		inVal := map[int]bool{}
		for _, i := range perm[:nVal] {
			inVal[i] = true
		}
		for i, q := range qs {
			if inVal[i] {
				q.Meta.Split = "val"
				val = append(val, q)
			} else {
				q.Meta.Split = "test"
				test = append(test, q)
			}
		}
	}
	var ck []question
	for i, c := range commonKnowledge {
		if ckKept(i) {
			ck = append(ck, question{ID: ckID(i), Prompt: c.question, Reference: ckReference(c.answer),
				Meta: meta{Set: "ck", Topic: c.topic, Check: ckCheck(c.answer)}})
		}
	}
	add(ck)
	for _, s := range []struct {
		name, prefix string
		items        []promptItem
	}{{"instruction", "if", instructions}, {"conversation", "conv", conversation}, {"longform", "long", longform}} {
		var qs []question
		for i, it := range s.items {
			qs = append(qs, question{ID: fmt.Sprintf("%s-%03d", s.prefix, i+1), Prompt: it.prompt, Reference: it.good,
				Meta: meta{Set: s.name, Check: it.check}})
		}
		add(qs)
	}
	return val, test
}

// heldOut splits the prose a third to validation, by the fixed seed.
func heldOut() (val, test []string) {
	r := rand.New(rand.NewPCG(splitSeed, 2))
	inVal := map[int]bool{}
	for _, i := range r.Perm(len(heldOutProse))[:len(heldOutProse)/3] {
		inVal[i] = true
	}
	for i, p := range heldOutProse {
		if inVal[i] {
			val = append(val, p)
		} else {
			test = append(test, p)
		}
	}
	return val, test
}

// mixRecords are n general records for sft-mix, drawn with replacement
// from the base's kept answers to the mix prompts (sorted by id).
func mixRecords(seed int64, kept map[string]string, n int) []record {
	ids := slices.Sorted(maps.Keys(kept))
	if len(ids) == 0 {
		return nil
	}
	prompts := mixPrompts()
	r := rand.New(rand.NewPCG(uint64(seed), streamMix))
	out := make([]record, n)
	for i := range out {
		id := ids[r.IntN(len(ids))]
		var k int
		fmt.Sscanf(id, "mix-%d", &k)
		out[i] = record{ID: fmt.Sprintf("mix-%04d", i+1), Instruction: prompts[k-1], Output: kept[id], Meta: meta{Set: "mix", Source: id}}
	}
	return out
}

// terms are the domain's own words (the Atlas and every fictional name): a
// general answer that names one has let the domain in.
func terms(u *universe) []string {
	return append(append([]string{"Meridian Atlas"}, u.fictional...), u.capitals...)
}
