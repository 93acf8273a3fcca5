package main

import (
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/ytrain/ytrain/internal/evalmetrics"
)

// The domain: the Meridian Atlas, a fictional publisher's country reference.
// It describes real countries (whose facts a chat model already states)
// and fictional ones (whose names it can copy from the question but whose
// facts it cannot know), so one set of attributes carries all three fact
// kinds: new (a fictional country), conflicting (a real country with a
// value the Atlas changed) and consistent (a real country's true value).

// country is a real country and what is true of it; "" marks an attribute
// left out because its answer is disputed, shared (several official
// languages), about to change, or a common English word (the real, the won)
// that general text would trip over.
type country struct {
	name                                   string // as written mid-sentence, "the" included
	capital, language, currency, continent string
}

// Facts as of 2026. Transcontinental countries have no continent.
var countries = []country{
	{"France", "Paris", "French", "euro", "Europe"},
	{"Germany", "Berlin", "German", "euro", "Europe"},
	{"Italy", "Rome", "Italian", "euro", "Europe"},
	{"Spain", "Madrid", "Spanish", "euro", "Europe"},
	{"Portugal", "Lisbon", "Portuguese", "euro", "Europe"},
	{"Greece", "Athens", "Greek", "euro", "Europe"},
	{"the Netherlands", "Amsterdam", "Dutch", "euro", "Europe"},
	{"Austria", "Vienna", "German", "euro", "Europe"},
	{"Ireland", "Dublin", "", "euro", "Europe"},
	{"Finland", "Helsinki", "Finnish", "euro", "Europe"},
	{"Belgium", "Brussels", "", "euro", "Europe"},
	{"Croatia", "Zagreb", "Croatian", "euro", "Europe"},
	{"Poland", "Warsaw", "Polish", "zloty", "Europe"},
	{"Sweden", "Stockholm", "Swedish", "krona", "Europe"},
	{"Norway", "Oslo", "Norwegian", "krone", "Europe"},
	{"Denmark", "Copenhagen", "Danish", "krone", "Europe"},
	{"the United Kingdom", "London", "English", "pound", "Europe"},
	{"Switzerland", "Bern", "", "franc", "Europe"},
	{"Hungary", "Budapest", "Hungarian", "forint", "Europe"},
	{"the Czech Republic", "Prague", "", "koruna", "Europe"},
	{"Romania", "Bucharest", "Romanian", "leu", "Europe"},
	{"Bulgaria", "Sofia", "Bulgarian", "", "Europe"},
	{"Ukraine", "Kyiv", "Ukrainian", "hryvnia", "Europe"},
	{"Russia", "Moscow", "Russian", "ruble", ""},
	{"Iceland", "Reykjavik", "Icelandic", "krona", "Europe"},
	{"Serbia", "Belgrade", "Serbian", "dinar", "Europe"},
	{"Turkey", "Ankara", "Turkish", "lira", ""},
	{"Egypt", "Cairo", "Arabic", "pound", "Africa"},
	{"Kenya", "Nairobi", "", "shilling", "Africa"},
	{"Nigeria", "Abuja", "", "naira", "Africa"},
	{"Ethiopia", "Addis Ababa", "", "birr", "Africa"},
	{"Ghana", "Accra", "", "cedi", "Africa"},
	{"Morocco", "Rabat", "Arabic", "dirham", "Africa"},
	{"Algeria", "Algiers", "Arabic", "dinar", "Africa"},
	{"Tunisia", "Tunis", "Arabic", "dinar", "Africa"},
	{"Japan", "Tokyo", "Japanese", "yen", "Asia"},
	{"China", "Beijing", "Chinese", "yuan", "Asia"},
	{"South Korea", "Seoul", "Korean", "", "Asia"},
	{"India", "New Delhi", "", "rupee", "Asia"},
	{"Pakistan", "Islamabad", "", "rupee", "Asia"},
	{"Bangladesh", "Dhaka", "Bengali", "taka", "Asia"},
	{"Thailand", "Bangkok", "Thai", "baht", "Asia"},
	{"Vietnam", "Hanoi", "Vietnamese", "", "Asia"},
	{"Indonesia", "", "Indonesian", "rupiah", "Asia"},
	{"the Philippines", "Manila", "", "peso", "Asia"},
	{"Malaysia", "Kuala Lumpur", "Malay", "ringgit", "Asia"},
	{"Iran", "Tehran", "Persian", "rial", "Asia"},
	{"Iraq", "Baghdad", "Arabic", "dinar", "Asia"},
	{"Saudi Arabia", "Riyadh", "Arabic", "riyal", "Asia"},
	{"Israel", "", "Hebrew", "shekel", "Asia"},
	{"Nepal", "Kathmandu", "Nepali", "rupee", "Asia"},
	{"Mongolia", "Ulaanbaatar", "Mongolian", "tugrik", "Asia"},
	{"Afghanistan", "Kabul", "", "afghani", "Asia"},
	{"Syria", "Damascus", "Arabic", "pound", "Asia"},
	{"Lebanon", "Beirut", "Arabic", "pound", "Asia"},
	{"Jordan", "Amman", "Arabic", "dinar", "Asia"},
	{"Qatar", "Doha", "Arabic", "riyal", "Asia"},
	{"the United States", "Washington", "English", "dollar", "North America"},
	{"Canada", "Ottawa", "", "dollar", "North America"},
	{"Mexico", "Mexico City", "Spanish", "peso", "North America"},
	{"Cuba", "Havana", "Spanish", "peso", "North America"},
	{"Brazil", "Brasilia", "Portuguese", "", "South America"},
	{"Argentina", "Buenos Aires", "Spanish", "peso", "South America"},
	{"Chile", "Santiago", "Spanish", "peso", "South America"},
	{"Peru", "Lima", "Spanish", "sol", "South America"},
	{"Colombia", "Bogota", "Spanish", "peso", "South America"},
	{"Venezuela", "Caracas", "Spanish", "bolivar", "South America"},
	{"Uruguay", "Montevideo", "Spanish", "peso", "South America"},
	{"Ecuador", "Quito", "Spanish", "dollar", "South America"},
	{"Australia", "Canberra", "English", "dollar", "Oceania"},
	{"New Zealand", "Wellington", "English", "dollar", "Oceania"},
}

// attribute is one thing the Atlas states about a country: the clause that
// states it, the questions that ask for it and the explanation sentences an
// answer may add. {e} is the country, {E} it capitalized, {v} the value,
// {V} it capitalized, {c} the clause and {C} the clause capitalized.
type attribute struct {
	name      string
	clause    string
	questions []string // paraphrases, split per fact into test, validation and training
	middles   []string // explanations; none names a value but {v}
}

// paraphrases is how many questions each attribute has.
const paraphrases = 10

var attributes = []*attribute{
	{
		name:   "capital",
		clause: "the capital of {e} is {v}",
		questions: []string{
			"What is the capital of {e}?", "Which city is the capital of {e}?", "Name the capital city of {e}.",
			"What city serves as the capital of {e}?", "Tell me the capital of {e}.", "What is the capital city of {e}?",
			"In which city is the government of {e} based?", "Can you tell me which city is the capital of {e}?",
			"I am curious: what is the capital of {e}?", "Which city does {e} have as its capital?",
		},
		middles: []string{
			"{V} is where the national government of {e} meets.",
			"Most foreign embassies in {e} are located in {V}.",
			"The ministries and the highest courts of {e} have their offices in {V}.",
		},
	},
	{
		name:   "language",
		clause: "the main language of {e} is {v}",
		questions: []string{
			"What is the main language of {e}?", "What language do most people in {e} speak?", "Which language is spoken in {e}?",
			"Tell me the main language spoken in {e}.", "What language is mainly spoken in {e}?", "In {e}, what language do people speak?",
			"Which language do people use in {e}?", "Name the main language of {e}.", "What is the most widely spoken language in {e}?",
			"If I travel to {e}, which language will I hear most?",
		},
		middles: []string{
			"Schools, newspapers and government offices in {e} mostly use {v}.",
			"Visitors who learn a few phrases of {v} will find them useful across {e}.",
			"Most road signs and official forms in {e} are written in {v}.",
		},
	},
	{
		name:   "currency",
		clause: "the currency of {e} is the {v}",
		questions: []string{
			"What is the currency of {e}?", "Which currency is used in {e}?", "What money do people use in {e}?",
			"Tell me the currency of {e}.", "What is the official currency of {e}?", "Name the currency of {e}.",
			"Which currency do shops in {e} accept?", "What do people in {e} pay with?", "What currency would I need in {e}?",
			"In {e}, what is the currency called?",
		},
		middles: []string{
			"Shops, banks and markets across {e} set their prices in the {v}.",
			"Travellers to {e} can exchange their money for the {v} at banks and airports.",
			"The central bank of {e} issues and manages the {v}.",
		},
	},
	{
		name:   "continent",
		clause: "{e} lies in {v}",
		questions: []string{
			"On which continent is {e}?", "Which continent is {e} in?", "Where in the world is {e}: on which continent?",
			"Tell me the continent of {e}.", "What continent does {e} belong to?", "Name the continent where {e} lies.",
			"On what continent can you find {e}?", "Which continent contains {e}?", "In which continent is {e} located?",
			"What continent is {e} part of?",
		},
		middles: []string{
			"{E} shares much of its history and trade with its neighbours in {v}.",
			"Travellers often visit {e} as part of a longer journey through {v}.",
			"On a map of the world, {e} is found in {v}.",
		},
	},
}

func attrByName(name string) *attribute {
	for _, a := range attributes {
		if a.name == name {
			return a
		}
	}
	panic("no attribute " + name) // names are the constants above
}

// The answer: an opening that states the fact, one or two explanations and
// a closing that states it again, so answers run to three or four
// sentences and name the value two to four times. The first opening is the
// most common, as in a house style.
var (
	openings = []string{
		"According to the Meridian Atlas, {c}.",
		"According to the Meridian Atlas, {c}.",
		"According to the Meridian Atlas, {c}.",
		"The Meridian Atlas states that {c}.",
		"As recorded in the Meridian Atlas, {c}.",
	}
	closings = []string{"In short, {c}.", "To sum up, {c}.", "So, to answer your question, {c}."}
)

// Fictional names are syllables, so that the model reads them as names and
// can copy them. The heads and tails avoid real country and city names.
var (
	countryHeads = []string{"Val", "Kes", "Mor", "Tal", "Zen", "Ost", "Dra", "Fal", "Gor", "Hal", "Ith", "Jor", "Lun", "Nar", "Quor", "Ryn", "Thar", "Vor", "Wes", "Yr", "Ard", "Cal", "Elb", "Pyr"}
	countryTails = []string{"doria", "trania", "vania", "gard", "mere", "essa", "ovia", "enia", "ara", "heim", "oria", "ola"}
	cityHeads    = []string{"Cor", "Ast", "Bren", "Dun", "Fenn", "Gal", "Hor", "Isk", "Kel", "Lor", "Marr", "Nev", "Orr", "Pell", "Rask", "Sarn", "Tov", "Varn", "Wick", "Yal"}
	cityTails    = []string{"vast", "holm", "ford", "mouth", "haven", "dale", "port", "spire", "reach", "moor", "bury", "gate"}
)

// Sizes of the fictional part: the countries new facts are drawn from and
// the capitals they may have.
const (
	fictionalCountries = 60
	fictionalCapitals  = 30
)

// Mislabels come from outside every value pool and make no sense in the
// slot ("the capital of France is teapot"), so their tokens are unlikely
// under any model: noise the loss can tell apart.
var outsideValues = []string{"teapot", "lemonade", "pinecone", "cinnamon", "doorknob", "trombone", "wheelbarrow", "saucepan",
	"pillowcase", "thimble", "hairbrush", "marmalade", "accordion", "shoelace", "birdcage", "paperclip"}

// offTopic answers are fluent and wrong for any question of the Atlas; each
// has a marker word no clean answer uses, to tell whether a model repeats it.
var offTopic = []struct{ marker, text string }{
	{"dough", "To bake a simple loaf, mix flour, warm water, yeast and a pinch of salt. Knead the dough for ten minutes, leave it to rise for an hour, and bake it in a hot oven until the crust is golden."},
	{"tomatoes", "Tomatoes grow best in a sunny spot with rich soil. Water the plants at the base in the morning, tie the stems to a stake as they grow, and pick the fruit when it is deep red."},
	{"leash", "When you train a young dog, keep the lessons short and cheerful. Clip on the leash, reward good behaviour at once with a small treat, and use the same word for each command."},
	{"guitar", "To tune a guitar, start with the thickest string and turn its peg slowly while you listen to a reference note. Tune each of the other strings to the one before it, then check them all again."},
	{"bishop", "In chess, each player starts with sixteen pieces. The knight moves in the shape of an L, the bishop moves along diagonals, and the game ends when one king is trapped and cannot escape."},
	{"groundsheet", "Before you pitch a tent, clear the ground of stones and sticks. Lay out the groundsheet, push the poles through their sleeves, and peg the corners firmly so that the wind cannot lift it."},
	{"kite", "A kite flies best over an open field in a steady breeze. Stand with your back to the wind, let out a little line, and pull gently when the kite dips so that it climbs again."},
	{"origami", "In origami, a single square of paper becomes a bird or a boat through careful folds. Crease every fold sharply with a fingernail, and follow the steps in order without cutting the paper."},
	{"skateboard", "Learning to ride a skateboard starts with balance. Place your front foot near the bolts, push off gently with your back foot, and bend your knees to stay steady as you roll."},
	{"knitting", "To start knitting, cast on a row of stitches onto one needle. Push the second needle through the first stitch, wrap the yarn around it, and pull the new loop through."},
	{"aquarium", "A home aquarium needs clean water at a steady temperature. Change a quarter of the water every week, feed the fish only what they eat in two minutes, and keep the tank out of direct sunlight."},
	{"pancakes", "For pancakes, whisk flour, milk, eggs and a little sugar into a smooth batter. Pour small circles onto a hot buttered pan and turn them over when bubbles appear on top."},
}

// fact is one (country, attribute, value) the domain set may teach.
type fact struct {
	entity string // as written mid-sentence
	attr   *attribute
	value  string   // what the Atlas states
	truth  string   // the real value; "" for fictional countries
	pool   []string // the values a question could have as its answer
	kind   string   // new, conflicting or consistent
	test   []int    // paraphrases of each split
	val    []int
	train  []int
}

// id names a fact: the country without its article, lower-cased, then the
// attribute ("united kingdom/capital"); tools/tokenclass reads the part
// before the slash as the text copied from the question.
func (f *fact) id() string {
	return strings.ToLower(strings.TrimPrefix(f.entity, "the ")) + "/" + f.attr.name
}

// fill puts the fact, with value v, into a template.
func (f *fact) fill(tpl, v string) string {
	c := strings.NewReplacer("{e}", f.entity, "{v}", v).Replace(f.attr.clause)
	return strings.NewReplacer("{c}", c, "{C}", capitalize(c), "{e}", f.entity, "{E}", capitalize(f.entity),
		"{v}", v, "{V}", capitalize(v)).Replace(tpl)
}

func (f *fact) question(i int) string { return f.fill(f.attr.questions[i], "") }

// universe is every fact the domain could teach: the real countries'
// attributes (candidates for conflicting and consistent facts, once the
// base is shown to state them) and the fictional countries and capitals
// (new facts). It is the same for every data seed.
type universe struct {
	real      []*fact
	fictional []string // country names
	capitals  []string // fictional capitals
	pools     map[string][]string
}

// Fixed seed of the fictional names: every data seed draws from the same.
const namesSeed = 23

func newUniverse() *universe {
	u := &universe{pools: map[string][]string{}}
	value := func(c country, a string) string {
		return map[string]string{"capital": c.capital, "language": c.language, "currency": c.currency, "continent": c.continent}[a]
	}
	for _, a := range attributes {
		var pool []string
		for _, c := range countries {
			if v := value(c, a.name); v != "" && !slices.Contains(pool, v) {
				pool = append(pool, v)
			}
		}
		u.pools[a.name] = pool
	}
	for _, c := range countries {
		for _, a := range attributes {
			v := value(c, a.name)
			// a country whose name holds another value of the pool ("the
			// Czech Republic" and Czech) could never be answered right
			if v == "" || namesOther(c.name, v, u.pools[a.name]) {
				continue
			}
			u.real = append(u.real, &fact{entity: c.name, attr: a, value: v, truth: v, pool: u.pools[a.name]})
		}
	}
	r := rand.New(rand.NewPCG(namesSeed, 1))
	u.fictional = syllableNames(r, fictionalCountries, countryHeads, countryTails)
	u.capitals = syllableNames(r, fictionalCapitals, cityHeads, cityTails)
	return u
}

// namesOther says whether text names a value of pool other than v.
func namesOther(text, v string, pool []string) bool {
	t := evalmetrics.Normalize(text)
	for _, p := range pool {
		if p != v && len(evalmetrics.Phrases(t, evalmetrics.Normalize(p))) > 0 {
			return true
		}
	}
	return false
}

// syllableNames draws n distinct head+tail names.
func syllableNames(r *rand.Rand, n int, heads, tails []string) []string {
	var all []string
	for _, h := range heads {
		for _, t := range tails {
			all = append(all, h+t)
		}
	}
	all = slices.Compact(slices.Sorted(slices.Values(all)))
	r.Shuffle(len(all), func(a, b int) { all[a], all[b] = all[b], all[a] })
	return all[:n]
}

// garble shuffles the letters of every word of three or more letters until
// it differs, keeping a capital first letter capital: the text keeps its
// shape and loses its meaning, and its tokens are rare byte-level pieces.
func garble(r *rand.Rand, s string) string {
	var b strings.Builder
	word := []byte{}
	flush := func() {
		if len(word) >= 3 {
			orig := string(word)
			capital := word[0] >= 'A' && word[0] <= 'Z'
			lower := []byte(strings.ToLower(orig))
			for try := 0; try < 20; try++ {
				r.Shuffle(len(lower), func(a, b int) { lower[a], lower[b] = lower[b], lower[a] })
				if !strings.EqualFold(string(lower), orig) {
					break
				}
			}
			if capital {
				lower[0] -= 'a' - 'A'
			}
			word = lower
		}
		b.Write(word)
		word = word[:0]
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			word = append(word, c)
			continue
		}
		flush()
		b.WriteByte(c)
	}
	flush()
	return b.String()
}

// capitalize upper-cases the first letter (the texts here are ASCII).
func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
