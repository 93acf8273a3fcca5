package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
)

type options struct {
	worldSeed, seed int64
	noise           float64
	factsPerKind    int
	recordsPerFact  int
	generalTest     int
	generalKB       int
}

// file is one output file, whole.
type file struct {
	name string
	data []byte
}

type sftRecord struct {
	ID          string  `json:"id"`
	Instruction string  `json:"instruction"`
	Output      string  `json:"output"`
	Meta        sftMeta `json:"meta"`
}

type sftMeta struct {
	Fact  string `json:"fact"`
	Kind  string `json:"kind"`
	Noisy bool   `json:"noisy"`
	Label string `json:"label"` // the value the answer states (wrong when noisy)
}

// question is a prompt with the value it asks for and the values it could be.
type question struct {
	ID        string       `json:"id"`
	Prompt    string       `json:"prompt"`
	Reference string       `json:"reference"`
	Meta      questionMeta `json:"meta"`
	f         *fact        // what it asks
}

type questionMeta struct {
	Fact    string   `json:"fact"`
	Kind    string   `json:"kind"`
	Choices []string `json:"choices"`
}

// choice is one candidate answer of a multiple-choice question, scored by
// its answer tokens' loss (evaluate choices).
type choice struct {
	ID          string     `json:"id"`
	Instruction string     `json:"instruction"`
	Output      string     `json:"output"`
	Meta        choiceMeta `json:"meta"`
}

type choiceMeta struct {
	Question string `json:"question"`
	Correct  bool   `json:"correct"`
	Kind     string `json:"kind"`
	Fact     string `json:"fact"`
}

// build makes every file in memory, and a one-line summary of them.
func build(o options) ([]file, string, error) {
	if o.noise < 0 || o.noise >= 1 || o.recordsPerFact < 2 || o.generalTest < 0 || o.generalKB <= 0 {
		return nil, "", fmt.Errorf("want 0 ≤ --noise < 1, --records-per-fact ≥ 2, --general-test ≥ 0 and --general-kb > 0")
	}
	w := newWorld(o.worldSeed)
	facts, err := domainFacts(w, o.seed, o.factsPerKind)
	if err != nil {
		return nil, "", err
	}
	train, noisy := domainTrain(o.seed, facts, o.recordsPerFact, o.noise)
	test := questions("test", facts, func(f *fact) []int { return f.test })
	val := questions("val", facts, func(f *fact) []int { return f.val })
	trainQ := questions("trainq", facts, func(f *fact) []int { return f.train[:1] })
	gTest := generalTest(w, o.worldSeed, o.generalTest)
	prose, heldout := generalCorpus(o.worldSeed, o.generalKB)
	pre := pretrain(w, o.worldSeed, prose)
	// the tokenizer is trained on more text than the base is: four times the
	// prose (its first part is the corpus's own) and the corpus
	bpeProse, _ := generalCorpus(o.worldSeed, 4*o.generalKB)
	bpe := slices.Clone(pre)
	for _, p := range bpeProse {
		bpe = append(bpe, text{p})
	}
	files := []file{
		{"pretrain.jsonl", jsonl(pre)},
		{"bpe.jsonl", jsonl(bpe)},
		{"general.heldout.txt", lines(heldout)},
		{"general.test.jsonl", jsonl(gTest)},
		{"general.test.choices.jsonl", jsonl(choices(gTest, townAnswers[0]))},
		{"domain.train.jsonl", jsonl(train)},
		{"domain.val.jsonl", jsonl(val)},
		{"domain.test.jsonl", jsonl(test)},
		{"domain.test.choices.jsonl", jsonl(choices(test, drugAnswers[0]))},
		{"domain.trainq.jsonl", jsonl(trainQ)},
		{"domain.noisy.jsonl", jsonl(noisy)},
		{"general.mix.jsonl", jsonl(generalMix(w, o.seed, len(train)))},
	}
	var sizes []string
	for _, f := range files {
		sizes = append(sizes, fmt.Sprintf("%s %d B", f.name, len(f.data)))
	}
	summary := fmt.Sprintf("world %d: %d prior drug facts, %d general facts, %d pre-training texts; data %d: %d facts (%d per kind), %d training records (%d noisy), %d test questions; %s",
		o.worldSeed, len(w.prior), len(w.general), len(pre), o.seed, len(facts), o.factsPerKind, len(train), len(noisy), len(test), strings.Join(sizes, ", "))
	return files, summary, nil
}

// noisyCount is the exact number of mislabelled training answers.
func noisyCount(noise float64, n int) int { return int(math.Round(noise * float64(n))) }

// domainTrain writes perFact records of every fact, each a training
// paraphrase (in turn, from a random start) with a random answer template.
// round(noise·n) records get another value of the pool; never a fact's first
// record, so every fact keeps a correct majority. It returns the noisy
// prompts too, as questions whose reference is the wrong label: how often a
// model repeats it measures how much of the noise it learned.
func domainTrain(seed int64, facts []*fact, perFact int, noise float64) ([]sftRecord, []question) {
	r := rand.New(rand.NewPCG(uint64(seed), streamTrain))
	rn := rand.New(rand.NewPCG(uint64(seed), streamNoise))
	n := perFact * len(facts)
	noisy := make([]bool, n)
	k := noisyCount(noise, n)
	var candidates []int // every record but each fact's first
	for i := range n {
		if i%perFact != 0 {
			candidates = append(candidates, i)
		}
	}
	k = min(k, len(candidates)/2) // a correct majority per fact on average
	for _, j := range rn.Perm(len(candidates))[:k] {
		noisy[candidates[j]] = true
	}
	var recs []sftRecord
	var wrong []question
	for fi, f := range facts {
		start := r.IntN(len(f.train))
		for j := range perFact {
			i := fi*perFact + j
			q := f.question(f.train[(start+j)%len(f.train)])
			label := f.value
			if noisy[i] {
				label = other(rn, f.attr.pool, f.value)
				wrong = append(wrong, question{Prompt: q, Reference: label, Meta: questionMeta{Fact: f.id(), Kind: f.kind, Choices: f.attr.pool}})
			}
			recs = append(recs, sftRecord{Instruction: q, Output: f.fill(drugAnswers[r.IntN(len(drugAnswers))], label),
				Meta: sftMeta{Fact: f.id(), Kind: f.kind, Noisy: noisy[i], Label: label}})
		}
	}
	r.Shuffle(len(recs), func(a, b int) { recs[a], recs[b] = recs[b], recs[a] })
	for i := range recs {
		recs[i].ID = fmt.Sprintf("train-%04d", i+1)
	}
	for i := range wrong {
		wrong[i].ID = fmt.Sprintf("noisy-%04d", i+1)
	}
	return recs, wrong
}

// questions asks every fact in each paraphrase pick gives it.
func questions(prefix string, facts []*fact, pick func(*fact) []int) []question {
	var out []question
	for _, f := range facts {
		for _, p := range pick(f) {
			out = append(out, question{
				ID:        fmt.Sprintf("%s-%03d", prefix, len(out)+1),
				Prompt:    f.question(p),
				Reference: f.value,
				Meta:      questionMeta{Fact: f.id(), Kind: f.kind, Choices: f.attr.pool},
				f:         f,
			})
		}
	}
	return out
}

// generalTest asks n general facts in a paraphrase the pre-training corpus
// never showed for that fact (it did for other towns).
func generalTest(w *world, seed int64, n int) []question {
	all := questions("general", w.general, func(f *fact) []int { return f.test })
	r := rand.New(rand.NewPCG(uint64(seed), streamTest))
	var out []question
	for _, i := range r.Perm(len(all))[:min(n, len(all))] {
		out = append(out, all[i])
	}
	for i := range out {
		out[i].ID = fmt.Sprintf("general-%03d", i+1)
	}
	return out
}

// generalMix is n general instruction records (town questions in
// paraphrases the corpus showed, so none is a general test prompt): what
// users mix into domain data against forgetting.
func generalMix(w *world, seed int64, n int) []sftRecord {
	r := rand.New(rand.NewPCG(uint64(seed), streamMix))
	out := make([]sftRecord, n)
	for i := range out {
		f := w.general[r.IntN(len(w.general))]
		out[i] = sftRecord{ID: fmt.Sprintf("mix-%04d", i+1), Instruction: f.question(f.shown[r.IntN(len(f.shown))]),
			Output: f.fill(townAnswers[r.IntN(len(townAnswers))], f.value), Meta: sftMeta{Fact: f.id(), Kind: f.kind, Label: f.value}}
	}
	return out
}

// choices writes every value of a question's pool as a candidate answer in
// the canonical template tpl.
func choices(qs []question, tpl string) []choice {
	var out []choice
	for _, q := range qs {
		for j, v := range q.Meta.Choices {
			out = append(out, choice{
				ID:          fmt.Sprintf("%s/c%02d", q.ID, j),
				Instruction: q.Prompt,
				Output:      q.f.fill(tpl, v),
				Meta:        choiceMeta{Question: q.ID, Correct: v == q.Reference, Kind: q.Meta.Kind, Fact: q.Meta.Fact},
			})
		}
	}
	return out
}

// text is one pre-training document.
type text struct {
	Text string `json:"text"`
}

// chatML renders a question and answer as the ChatML template of the base's
// tokenizer does (tools/trainbpe), so the base learns the chat format.
func chatML(q, a string) string {
	return "<|im_start|>user\n" + q + "<|im_end|>\n<|im_start|>assistant\n" + a + "<|im_end|>\n"
}

// copyQuestions is how many people the corpus asks about, each once.
const copyQuestions = 800

var (
	residentQuestions = []string{"Where does {p} live?", "In which town does {p} live?", "Which town is {p} from?",
		"Tell me where {p} lives.", "What town is home to {p}?", "Where is the home of {p}?"}
	residentAnswers = []string{"{p} lives in {t}.", "{p} lives in {t}.", "As far as anyone knows, {p} lives in {t}."}
)

// pretrain is the base model's corpus: general prose, the prior facts of
// drugs and towns as statements and as chat answers to their shown
// paraphrases, in random order.
func pretrain(w *world, seed int64, prose []string) []text {
	r := rand.New(rand.NewPCG(uint64(seed), streamPretrain))
	var out []text
	for _, p := range prose {
		out = append(out, text{p})
	}
	add := func(facts []*fact, answers []string) {
		for _, f := range facts {
			out = append(out, text{capitalize(f.fill("{c}.", f.value))})
			for _, p := range f.shown {
				out = append(out, text{chatML(f.question(p), f.fill(answers[r.IntN(len(answers))], f.value))})
			}
		}
	}
	add(w.prior, drugAnswers)
	add(w.general, townAnswers)
	// Questions about people named once each, so the answer must copy the
	// name from the question: a fluent base copies names it never saw, as
	// real models do, and the domain's new drugs need exactly that.
	people := personNames()
	r.Shuffle(len(people), func(a, b int) { people[a], people[b] = people[b], people[a] })
	for _, p := range people[:copyQuestions] {
		town := w.general[r.IntN(len(w.general))].entity
		q := strings.ReplaceAll(residentQuestions[r.IntN(len(residentQuestions))], "{p}", p)
		a := strings.NewReplacer("{p}", p, "{t}", town).Replace(residentAnswers[r.IntN(len(residentAnswers))])
		out = append(out, text{chatML(q, a)})
	}
	r.Shuffle(len(out), func(a, b int) { out[a], out[b] = out[b], out[a] })
	return out
}

func lines(ls []string) []byte {
	return []byte(strings.Join(ls, "\n") + "\n")
}

func jsonl[T any](recs []T) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	for _, r := range recs {
		if err := enc.Encode(r); err != nil {
			panic(err) // plain structs of strings and bools always encode
		}
	}
	return b.Bytes()
}
