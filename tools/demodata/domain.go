package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

const (
	articlesPerKind = 2 // articles of each kind in each law
	heldOutPerFact  = 3 // question paraphrases of a fact kept for the test set
	maxArticle      = 40
)

// fact is one article of one law.
type fact struct {
	law     *law
	article int
	kind    kind
	subject subject
	value   string // the key fact: the test reference
	asked   []int  // question paraphrases the training set uses
	heldOut []int  // question paraphrases only the test set uses
}

func (f *fact) id() string {
	return strings.ToLower(strings.ReplaceAll(f.law.name, " ", "-")) + "/" + strconv.Itoa(f.article)
}

// fill writes a question, statement or answer template for f with the given
// value in the fact's slot.
func (f *fact) fill(tpl, value string) string {
	return strings.NewReplacer(
		"{role}", f.subject.role,
		"{what}", f.subject.what,
		"{law}", f.law.name,
		"{article}", fmt.Sprintf("Article %d of the %s", f.article, f.law.name),
		"{value}", value,
	).Replace(tpl)
}

// answer is an answer template around f's statement with value in its slot.
func (f *fact) answer(tpl, value string) string {
	return f.fill(strings.Replace(tpl, "{statement}", statements[f.kind], 1), value)
}

// buildFacts draws the articles of every law: which subjects, which values
// (distinct within a law and kind), which article numbers, and which
// question paraphrases the test set keeps. It depends on the seed alone, so
// the training and test sets of one seed always agree.
func buildFacts(seed int64) []*fact {
	r := rand.New(rand.NewPCG(uint64(seed), streamFacts))
	var facts []*fact
	for i := range laws {
		l := &laws[i]
		var arts []*fact
		for k := range numKinds {
			subjects := pick(r, l.subjects[k], articlesPerKind)
			values := pick(r, l.values(k), articlesPerKind)
			for j := range subjects {
				arts = append(arts, &fact{law: l, kind: k, subject: subjects[j], value: values[j]})
			}
		}
		r.Shuffle(len(arts), func(a, b int) { arts[a], arts[b] = arts[b], arts[a] })
		numbers := r.Perm(maxArticle)[:len(arts)]
		slices.Sort(numbers)
		for j, f := range arts {
			f.article = numbers[j] + 1
			p := r.Perm(len(questions[f.kind]))
			f.heldOut, f.asked = p[:heldOutPerFact], p[heldOutPerFact:]
		}
		facts = append(facts, arts...)
	}
	return facts
}

// pick returns n distinct elements of list in random order.
func pick[T any](r *rand.Rand, list []T, n int) []T {
	out := make([]T, n)
	for i, j := range r.Perm(len(list))[:n] {
		out[i] = list[j]
	}
	return out
}

type sftRecord struct {
	ID          string  `json:"id"`
	Instruction string  `json:"instruction"`
	Output      string  `json:"output"`
	Meta        sftMeta `json:"meta"`
}

type sftMeta struct {
	Noisy bool   `json:"noisy"`
	Fact  string `json:"fact"`            // the article the question asks about
	Noise string `json:"noise,omitempty"` // article: another article's answer; value: a wrong value
}

type testRecord struct {
	ID        string   `json:"id"`
	Prompt    string   `json:"prompt"`
	Reference string   `json:"reference"`
	Meta      testMeta `json:"meta"`
}

type testMeta struct {
	Fact string `json:"fact"`
}

// noisyCount is the exact number of mislabelled training answers.
func noisyCount(noise float64, n int) int { return int(math.Round(noise * float64(n))) }

// domainTrain writes n SFT records, every fact asked about in turn, so each
// fact gets n/len(facts) records (±1) in several paraphrases and answer
// templates. The first record of each fact stays correct; round(noise·n) of
// the others are mislabelled. Noise draws from a stream of its own: another
// --noise changes which answers are wrong, not the questions, and the noisy
// records of a lower share are among those of a higher one.
func domainTrain(seed int64, facts []*fact, n int, noise float64) ([]sftRecord, error) {
	nf := len(facts)
	if n < nf {
		return nil, fmt.Errorf("--train %d: want at least %d, one record per fact", n, nf)
	}
	k := noisyCount(noise, n)
	if k > n-nf {
		return nil, fmt.Errorf("--noise %g: %d noisy records leave no correct answer for some of the %d facts", noise, k, nf)
	}
	r := rand.New(rand.NewPCG(uint64(seed), streamTrain))
	rn := rand.New(rand.NewPCG(uint64(seed), streamNoise))
	noisy := make([]bool, n)
	for _, i := range rn.Perm(n - nf)[:k] {
		noisy[nf+i] = true
	}
	order := r.Perm(nf)
	recs := make([]sftRecord, n)
	for i := range recs {
		f := facts[order[i%nf]]
		tpl := answers[r.IntN(len(answers))]
		rec := sftRecord{
			Instruction: f.fill(questions[f.kind][f.asked[r.IntN(len(f.asked))]], ""),
			Output:      f.answer(tpl, f.value),
			Meta:        sftMeta{Fact: f.id()},
		}
		if noisy[i] {
			rec.Meta.Noisy = true
			if rn.IntN(2) == 0 {
				o := otherArticle(rn, facts, f)
				rec.Output, rec.Meta.Noise = o.answer(tpl, o.value), "article"
			} else {
				rec.Output, rec.Meta.Noise = f.answer(tpl, wrongValue(rn, f)), "value"
			}
		}
		recs[i] = rec
	}
	r.Shuffle(n, func(a, b int) { recs[a], recs[b] = recs[b], recs[a] })
	for i := range recs {
		recs[i].ID = fmt.Sprintf("train-%04d", i+1)
	}
	return recs, nil
}

// otherArticle is another article of f's law: the answer a misaligned
// annotation would attach.
func otherArticle(r *rand.Rand, facts []*fact, f *fact) *fact {
	var same []*fact
	for _, o := range facts {
		if o.law == f.law && o != f {
			same = append(same, o)
		}
	}
	return same[r.IntN(len(same))]
}

// wrongValue is a value of f's kind other than its own: a wrong number of
// days, coins or years, or the wrong office.
func wrongValue(r *rand.Rand, f *fact) string {
	vals := slices.DeleteFunc(slices.Clone(f.law.values(f.kind)), func(v string) bool { return v == f.value })
	return vals[r.IntN(len(vals))]
}

// domainTest asks n held-out questions, each fact in turn, each time in a
// paraphrase the training set never uses for that fact.
func domainTest(seed int64, facts []*fact, n int) ([]testRecord, error) {
	nf := len(facts)
	if n > nf*heldOutPerFact {
		return nil, fmt.Errorf("--test %d: at most %d (%d facts × %d held-out paraphrases)", n, nf*heldOutPerFact, nf, heldOutPerFact)
	}
	r := rand.New(rand.NewPCG(uint64(seed), streamTest))
	order := r.Perm(nf)
	recs := make([]testRecord, n)
	for j := range recs {
		f := facts[order[j%nf]]
		recs[j] = testRecord{
			ID:        fmt.Sprintf("test-%03d", j+1),
			Prompt:    f.fill(questions[f.kind][f.heldOut[j/nf]], ""),
			Reference: f.value,
			Meta:      testMeta{Fact: f.id()},
		}
	}
	return recs, nil
}
