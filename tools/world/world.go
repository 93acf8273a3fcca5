package main

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// Streams of the generator: each part draws from its own, so a flag that
// sizes one part leaves the others byte-identical. The world streams take the
// world seed (the base model's prior), the data streams the data seed.
const (
	streamGeneral  uint64 = iota + 1 // general prose (world)
	streamNames                      // drug and town names (world)
	streamPrior                      // prior values and paraphrase splits (world)
	streamPretrain                   // order of the pre-training corpus (world)
	streamFacts                      // which facts the domain set teaches (data)
	streamTrain                      // training records (data)
	streamNoise                      // mislabelled records (data)
	streamTest                       // general test questions (world)
	streamMix                        // general records mixed into training (data)
)

// attribute is one thing a fact states about an entity: its value pool, the
// clause that states it and the questions that ask for it.
type attribute struct {
	name      string
	pool      []string
	clause    string   // "{e}" the entity, "{v}" the value
	questions []string // paraphrases; no two facts share a test one with training
}

const (
	paraphrases = 8 // questions per attribute
	priorShown  = 6 // of them, the pre-training corpus uses this many per fact
	testPerFact = 2 // held-out paraphrases per fact in the test set
)

// The domain: a fictional drug formulary. Values are whole-word distinct
// within a pool ("20 mg" is not a word-bounded part of "120 mg"), so
// evaluate --match value can tell every pair apart.
var drugAttrs = []*attribute{
	{
		name:   "dose",
		pool:   []string{"5 mg", "10 mg", "15 mg", "20 mg", "25 mg", "40 mg", "50 mg", "60 mg", "75 mg", "100 mg", "150 mg", "200 mg", "250 mg", "400 mg"},
		clause: "the usual dose of {e} is {v}",
		questions: []string{
			"What is the usual dose of {e}?", "How much {e} should an adult take at once?", "What dose of {e} is standard?",
			"Tell me the standard dose of {e}.", "How many milligrams of {e} make one dose?", "What is the recommended single dose of {e}?",
			"Which dose of {e} does the formulary list?", "For {e}, what is the normal dose?",
		},
	},
	{
		name:   "interval",
		pool:   []string{"2 hours", "3 hours", "4 hours", "6 hours", "8 hours", "12 hours", "24 hours", "36 hours", "48 hours", "72 hours"},
		clause: "{e} is taken every {v}",
		questions: []string{
			"How often is {e} taken?", "How many hours apart should doses of {e} be?", "What is the dosing interval of {e}?",
			"Tell me how often to take {e}.", "At what interval is {e} given?", "How frequently should a patient take {e}?",
			"How long should one wait between doses of {e}?", "What is the usual interval between doses of {e}?",
		},
	},
	{
		name:   "maker",
		pool:   []string{"Orlen Labs", "Castor Pharma", "Brightwell", "Nordvik Health", "Sunmere", "Halden Group", "Korvel", "Ambrose and Kite", "Pellion", "Tamsin Works", "Greyfield", "Ostara Medical"},
		clause: "{e} is made by {v}",
		questions: []string{
			"Who makes {e}?", "Which company produces {e}?", "Who is the maker of {e}?",
			"Tell me which firm manufactures {e}.", "What company is behind {e}?", "Who manufactures {e}?",
			"Which laboratory makes {e}?", "Name the producer of {e}.",
		},
	},
	{
		name:   "use",
		pool:   []string{"migraine", "fever", "dry cough", "joint pain", "insomnia", "nausea", "sore throat", "back pain", "skin rash", "heartburn", "high blood pressure", "ear infection", "toothache", "asthma"},
		clause: "{e} is used to treat {v}",
		questions: []string{
			"What is {e} used for?", "Which condition does {e} treat?", "What does {e} treat?",
			"Tell me what {e} is prescribed for.", "For which illness is {e} given?", "What is the main use of {e}?",
			"Which complaint is {e} meant to relieve?", "What do doctors prescribe {e} for?",
		},
	},
}

// The domain's heavy answer templates around a clause; the first is the most
// common, as in real support and formulary corpora. The first is also the
// canonical answer of the multiple-choice candidates.
var drugAnswers = []string{
	"According to the formulary, {c}.",
	"According to the formulary, {c}.",
	"According to the formulary, {c}.",
	"According to the formulary, {c}. Always follow the label.",
	"The formulary states that {c}.",
	"As the formulary says, {c}. Ask a pharmacist if unsure.",
}

// General knowledge: towns of the world and what everybody there knows.
var townAttrs = []*attribute{
	{
		name:   "river",
		pool:   []string{"Ash River", "Dun River", "Sable River", "Wend River", "Corrow River", "Fenn River", "Lyme River", "Tarn River", "Vell River", "Orme River"},
		clause: "{e} stands on the {v}",
		questions: []string{
			"Which river flows through {e}?", "What river runs through {e}?", "Name the river of {e}.",
			"Which river passes {e}?", "What is the river in {e} called?", "Tell me which river flows through {e}.",
			"By which river does {e} stand?", "What river can you see in {e}?",
		},
	},
	{
		name:   "trade",
		pool:   []string{"wool", "salt", "glass", "cheese", "rope", "pottery", "candles", "paper", "lace", "cider", "bells", "boats"},
		clause: "{e} is known for its {v}",
		questions: []string{
			"What is {e} known for making?", "What does {e} produce?", "What craft is {e} famous for?",
			"Tell me what {e} is known for.", "Which goods come from {e}?", "What is the main trade of {e}?",
			"What do the people of {e} make?", "What is {e} famous for?",
		},
	},
	{
		name:   "region",
		pool:   []string{"the North Coast", "the Low Valley", "the High Moors", "the East Plains", "the Lake Country", "the South Hills", "the Marsh Lands", "the Far Forest"},
		clause: "{e} lies in {v}",
		questions: []string{
			"In which region is {e}?", "Where is {e}?", "Which part of the country is {e} in?",
			"Tell me where {e} lies.", "In what region does {e} lie?", "Where can one find {e}?",
			"What region is {e} part of?", "Which region holds {e}?",
		},
	},
	{
		name:   "festival",
		pool:   []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
		clause: "{e} holds its festival in {v}",
		questions: []string{
			"In which month does {e} hold its festival?", "When is the festival of {e}?", "What month is the {e} festival?",
			"Tell me when {e} celebrates its festival.", "In what month do the people of {e} hold their festival?", "When does {e} celebrate?",
			"Which month brings the festival of {e}?", "At what time of year is the {e} festival?",
		},
	},
}

var townAnswers = []string{"{C}.", "{C}.", "As everyone there knows, {c}."}

// Names are made of syllables so that a new drug's name is new to the base
// but made of tokens it knows.
var (
	drugHeads = []string{"Vel", "Cor", "Dal", "Mir", "Tes", "Bor", "Lun", "Zan", "Fer", "Nol", "Pra", "Sev", "Tol", "Kar", "Ves", "Ril", "Cap", "Dex", "Mon", "Quel"}
	drugMids  = []string{"a", "e", "i", "o", "u", ""}
	drugTails = []string{"morin", "dazol", "tryl", "pexin", "vastat", "lomide", "fenac", "zepam", "cillin", "tadine", "prazol", "sartan"}
	townHeads = []string{"Ash", "Elm", "Stone", "Red", "North", "Green", "Salt", "Mill", "Oak", "Fox", "Wolf", "Iron", "Clay", "Brook", "Hazel", "Thorn"}
	townTails = []string{"ford", "bridge", "by", "water", "gate", "wood", "hill", "marsh", "field", "ton", "stead", "mere"}
)

// Sizes of the world.
const (
	priorDrugs = 60 // drugs the base model's corpus describes
	newDrugs   = 60 // drugs it never sees: the pool of new facts
	towns      = 24
)

// fact is one (entity, attribute, value), with the question paraphrases each
// part of the data may use.
type fact struct {
	entity string
	attr   *attribute
	value  string
	kind   string // the fact kind: new, conflicting, consistent (domain) or general
	prior  string // the value the base's corpus states; "" for new facts
	shown  []int  // paraphrases the pre-training corpus uses (prior facts)
	train  []int  // paraphrases of the fine-tuning set
	val    []int
	test   []int
}

func (f *fact) id() string { return strings.ToLower(f.entity) + "/" + f.attr.name }

// fill puts entity and value v into a template. {c} is the attribute's
// clause, {C} the clause capitalized.
func (f *fact) fill(tpl, v string) string {
	c := strings.NewReplacer("{e}", f.entity, "{v}", v).Replace(f.attr.clause)
	return strings.NewReplacer("{c}", c, "{C}", capitalize(c), "{e}", f.entity, "{v}", v).Replace(tpl)
}

func (f *fact) question(i int) string { return f.fill(f.attr.questions[i], "") }

// world is what the base model is pre-trained on: the prior facts of the
// formulary and of the towns, and the names of drugs it never sees.
type world struct {
	prior   []*fact // one per (prior drug, attribute)
	general []*fact // one per (town, attribute)
	unseen  []string
}

// names draws n distinct names head+mid+tail in random order.
func names(r *rand.Rand, n int, heads, mids, tails []string) []string {
	var all []string
	for _, h := range heads {
		for _, m := range mids {
			for _, t := range tails {
				all = append(all, h+m+t)
			}
		}
	}
	all = slices.Compact(slices.Sorted(slices.Values(all)))
	r.Shuffle(len(all), func(a, b int) { all[a], all[b] = all[b], all[a] })
	return all[:n]
}

// newWorld draws the world of a seed: names, prior values and which
// paraphrases the pre-training corpus shows for each prior fact (the others
// stay unseen: test questions of those facts).
func newWorld(seed int64) *world {
	rn := rand.New(rand.NewPCG(uint64(seed), streamNames))
	drugs := names(rn, priorDrugs+newDrugs, drugHeads, drugMids, drugTails)
	townNames := names(rn, towns, townHeads, []string{""}, townTails)
	r := rand.New(rand.NewPCG(uint64(seed), streamPrior))
	w := &world{unseen: drugs[priorDrugs:]}
	mk := func(entity string, a *attribute, kind string) *fact {
		p := r.Perm(paraphrases)
		v := a.pool[r.IntN(len(a.pool))]
		return &fact{entity: entity, attr: a, value: v, prior: v, kind: kind, shown: p[:priorShown], test: p[priorShown:]}
	}
	for _, d := range drugs[:priorDrugs] {
		for _, a := range drugAttrs {
			w.prior = append(w.prior, mk(d, a, "prior"))
		}
	}
	for _, t := range townNames {
		for _, a := range townAttrs {
			w.general = append(w.general, mk(t, a, "general"))
		}
	}
	return w
}

// domainFacts draws the facts the fine-tuning set teaches, n of each fact kind:
// new (an unseen drug), conflicting (a prior drug's attribute with another
// value than the base's corpus states) and consistent (the value the base
// already holds). Prior facts keep their unseen paraphrases as the test set;
// one shown paraphrase is kept for validation and the rest are trained on.
func domainFacts(w *world, seed int64, n int) ([]*fact, error) {
	if n < 1 || n > len(w.unseen) || 2*n > priorDrugs {
		return nil, fmt.Errorf("--facts-per-kind %d: want 1 to %d", n, min(len(w.unseen), priorDrugs/2))
	}
	r := rand.New(rand.NewPCG(uint64(seed), streamFacts))
	var out []*fact
	for _, i := range r.Perm(len(w.unseen))[:n] {
		a := drugAttrs[r.IntN(len(drugAttrs))]
		p := r.Perm(paraphrases)
		out = append(out, &fact{entity: w.unseen[i], attr: a, value: a.pool[r.IntN(len(a.pool))], kind: "new",
			test: p[:testPerFact], val: p[testPerFact : testPerFact+1], train: p[testPerFact+1:]})
	}
	for j, i := range r.Perm(priorDrugs)[:2*n] {
		pf := w.prior[i*len(drugAttrs)+r.IntN(len(drugAttrs))]
		f := &fact{entity: pf.entity, attr: pf.attr, value: pf.value, prior: pf.value, kind: "consistent",
			shown: pf.shown, test: pf.test, val: pf.shown[:1], train: pf.shown[1:]}
		if j < n {
			f.kind, f.value = "conflicting", other(r, f.attr.pool, pf.value)
		}
		out = append(out, f)
	}
	return out, nil
}

// other is a value of pool other than v.
func other(r *rand.Rand, pool []string, v string) string {
	for {
		if o := pool[r.IntN(len(pool))]; o != v {
			return o
		}
	}
}
