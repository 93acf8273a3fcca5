package main

import (
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
)

// topics of the general corpus. Each has past-tense clauses (TOPIC_c),
// combined by the shapes below into sentences of varied structure, and
// present-tense statements (TOPIC_s) that stand alone.
var topics = []string{"weather", "cooking", "travel", "animals", "machines", "history", "market"}

// shapes turn clauses into sentences; plain ones are listed more often so
// that most sentences stay short.
var shapes = []string{
	"{c}.", "{c}.", "{c}.", "{c}.",
	"{c}, and {c}.", "{c}, but {c}.", "{c}, so {c}.",
	"when {c}, {c}.", "after {c}, {c}.", "{c} because {c}.",
	"{s}.", "{s}.",
}

// words is the vocabulary of the general corpus: a few hundred words,
// everyday topics, numbers as digits. Some words (harbor, ship, captain,
// law, grain, coins, days) are shared with the legal domain, as a real
// general corpus would share them.
var words = grammar{
	"name":      {"Anna", "Tom", "Mira", "Paul", "Lena", "Omar", "Sara", "Ben", "Nora", "Ivan", "Rosa", "Karl", "Eva", "Hugo", "Ida", "Leo"},
	"town":      {"Millford", "Stonebridge", "Ashby", "Redwater", "Northgate", "Elmwood", "Greenhill", "Saltmarsh"},
	"num":       {"2", "3", "4", "5", "6", "7", "8", "9", "10", "12", "15", "20"},
	"year":      {"1204", "1388", "1512", "1650", "1721", "1803", "1870", "1912"},
	"time":      {"in the morning", "at noon", "in the evening", "late at night", "on Monday", "on Friday", "last winter", "early in spring", "one summer day", "after the rain"},
	"daypart":   {"morning", "evening", "day", "week"},
	"season":    {"spring", "summer", "autumn", "winter"},
	"manner":    {"slowly", "quickly", "quietly", "loudly", "steadily"},
	"landplace": {"field", "hill", "valley", "forest", "meadow", "river", "lake", "road"},

	"weather_c": {
		"the sky over {$town} was {skyadj} {time}",
		"the wind came from the {dir} and brought {weatherthing}",
		"it {precip} for {num} hours",
		"{$name} stayed at home and {indooract}",
		"the {season} was {tempadj} that year",
		"the clouds moved {manner} over the {landplace}",
		"{$name} wore a {clothing} because the air was {tempadj}",
		"the river rose after {num} days of rain",
		"a {tempadj} wind shook the trees in the garden",
	},
	"weather_s": {
		"the weather in {season} is often {tempadj}",
		"a red sky in the evening often means a {skyadj} morning",
		"farmers watch the clouds to know when rain will come",
		"snow usually falls in the hills before it reaches the valley",
	},
	"skyadj":       {"grey", "clear", "blue", "dark", "cloudy", "bright", "pale"},
	"dir":          {"north", "south", "east", "west"},
	"weatherthing": {"rain", "snow", "fog", "a storm", "cold air", "warm air", "dust"},
	"precip":       {"rained", "snowed", "rained softly", "snowed heavily"},
	"tempadj":      {"cold", "warm", "hot", "mild", "wet", "dry", "windy"},
	"indooract":    {"read a book by the fire", "cleaned the kitchen", "wrote a letter to {name}", "mended an old {clothing}", "played cards with {name}"},
	"clothing":     {"coat", "hat", "scarf", "jacket", "wool shirt"},

	"cooking_c": {
		"{$name} {cookverb} the {food} in a {vessel}",
		"the {$dish} cooked for {num} minutes",
		"{$name} added some {spice} to the {$dish}",
		"the kitchen smelled of {spice} and fresh {food}",
		"{name} cut the {food} into small pieces",
		"the {$dish} was {foodadj} and everyone wanted more",
		"{$name} served the {$dish} with {side}",
		"{$name} left the {$dish} on the fire for too long",
	},
	"cooking_s": {
		"to make {dish}, you need {food}, {food} and a little {spice}",
		"a good cook tastes the food before serving it",
		"it is best to keep {food} in a cool, dry place",
		"bread tastes best on the day it is baked",
	},
	"cookverb": {"boiled", "fried", "baked", "washed", "chopped", "roasted", "stirred"},
	"food":     {"potatoes", "onions", "carrots", "beans", "rice", "fish", "eggs", "apples", "cabbage", "cheese", "mushrooms"},
	"dish":     {"soup", "stew", "pie", "porridge", "cake"},
	"vessel":   {"pot", "pan", "bowl", "clay dish"},
	"spice":    {"salt", "pepper", "garlic", "honey", "butter", "herbs"},
	"side":     {"bread", "rice", "fresh herbs", "a glass of milk"},
	"foodadj":  {"hot", "sweet", "salty", "rich", "tasty", "soft", "crisp"},

	"travel_c": {
		"{$name} left {$town} by {vehicle} {time}",
		"the road to {town} ran past a {landmark}",
		"the trip took {num} days",
		"the {vehicle} stopped at every {stop}",
		"{$name} bought a ticket for {num} coins",
		"{$name} slept at a small inn near the {landmark}",
		"the driver said the road was {roadadj}",
		"{$name} wrote a letter home to {name}",
		"the {vehicle} crossed the river on an old bridge",
	},
	"travel_s": {
		"travelers should carry water and a warm coat",
		"the fastest way from {town} to {town} is by {vehicle}",
		"many people visit {town} in {season}",
	},
	"vehicle":  {"cart", "coach", "boat", "train", "horse", "ship"},
	"landmark": {"mill", "tower", "bridge", "lake", "castle", "church", "lighthouse", "forest"},
	"stop":     {"village", "town", "inn", "crossing"},
	"roadadj":  {"long", "narrow", "muddy", "dusty", "steep", "safe"},

	"animals_c": {
		"a {animaladj} {animal} {animalverb} near the {landplace}",
		"{$name} fed the {animal} some {animalfood}",
		"the {animal} ran into the {landplace} when it saw {name}",
		"{$name} counted {num} {herd} in the {landplace}",
		"the dog barked at the {animal} all night",
	},
	"animals_s": {
		"{herd} usually {animalhabit}",
		"a young {animal} stays close to its mother",
	},
	"animal":      {"fox", "horse", "goat", "cow", "rabbit", "owl", "duck", "sheep", "deer"},
	"herd":        {"foxes", "horses", "goats", "cows", "rabbits", "owls", "ducks", "sheep", "deer"},
	"animaladj":   {"small", "lazy", "brown", "white", "hungry", "quiet", "wild", "young"},
	"animalverb":  {"slept", "waited", "played", "rested", "hid", "drank water"},
	"animalfood":  {"hay", "grass", "grain", "carrots", "bread", "seeds"},
	"animalhabit": {"sleep during the day", "eat in the early morning", "stay together in cold weather", "hide when they hear a loud noise", "look for food at night"},

	"machines_c": {
		"the {$machine} in the {workplace} {machineverb} {manner}",
		"{$name} fixed the {$machine} with a {tool}",
		"the {$machine} needed new {parts}",
		"{$name} oiled the {parts} of the {$machine} every {daypart}",
		"the old {$machine} made a {noise} noise",
	},
	"machines_s": {
		"a {machine} works best when its {parts} are clean",
		"when the {part} broke, the whole {$machine} stopped",
		"a {tool} is the most useful tool in a {workplace}",
	},
	"machine":     {"pump", "clock", "loom", "press", "boiler", "crane"},
	"workplace":   {"workshop", "mill", "factory", "barn", "harbor"},
	"machineverb": {"turned", "ran", "worked", "shook", "hummed"},
	"tool":        {"hammer", "wrench", "saw", "knife", "drill"},
	"part":        {"wheel", "belt", "gear", "spring", "chain", "handle"},
	"parts":       {"wheels", "belts", "gears", "springs", "chains", "handles"},
	"noise":       {"loud", "strange", "soft", "sharp", "low"},

	"history_c": {
		"the old {ruler} of {$town} {rulerverb}",
		"a {traveler} arrived with news from {town}",
		"a great fire burned half of {$town} in {year}",
		"the people of {$town} traded {goods} with {town}",
		"the town council made a new law about {goods}",
		"the {building} of {$town} fell down in a storm",
	},
	"history_s": {
		"long ago, {$town} was a small {settlement} by the {water}",
		"in the year {year}, the people of {$town} built a {building}",
		"{num} years later, a {traveler} came to {$town}",
		"the old stories say that {$town} was once ruled by a {ruler}",
		"historians still argue about what happened in {year}",
	},
	"settlement": {"village", "farm", "fishing camp", "market town"},
	"water":      {"river", "lake", "sea", "bay"},
	"building":   {"bridge", "wall", "church", "school", "market hall", "harbor", "tower"},
	"ruler":      {"king", "queen", "duke", "mayor"},
	"rulerverb":  {"built a new road", "raised the taxes", "opened a school", "went to war", "made peace with {town}"},
	"traveler":   {"merchant", "monk", "soldier", "sailor", "stranger"},
	"goods":      {"grain", "wool", "salt", "fish", "timber", "cloth", "wine"},

	"market_c": {
		"a {trader} sold {goods} at the market for {num} coins",
		"ships brought {goods} to the harbor",
		"the captain of the ship {captainverb}",
		"{$name} paid {num} coins for a bag of {goods}",
		"the market in {$town} was {marketadj} {time}",
	},
	"market_s": {
		"prices at the market rise when the harvest is poor",
		"every trader in {town} must use honest weights",
	},
	"trader":      {"merchant", "baker", "farmer", "fisherman", "weaver"},
	"captainverb": {"counted the barrels", "checked the ropes", "waited for the tide", "spoke with the harbor master"},
	"marketadj":   {"busy", "quiet", "crowded", "noisy", "empty"},
}

// personNames are the syllable names of the general prose, the same on
// every seed.
func personNames() []string {
	heads := []string{"Al", "Bri", "Cas", "Dor", "El", "Fen", "Gar", "Hal", "Is", "Jor", "Kel", "Lor", "Mar", "Nev", "Or", "Per", "Quin", "Ros", "Sil", "Tam", "Ul", "Val", "Wen", "Yar", "Zel", "Ber", "Cal", "Dun", "Ev", "Fal"}
	tails := []string{"an", "ella", "ric", "wyn", "old", "ina", "mund", "eth", "ora", "vin", "dra", "lan", "mira", "gus", "ette", "bert", "ison", "anne", "ard", "isa", "ot", "ia", "en", "ald", "ine", "ius", "ara", "ney", "iel", "ow", "ic", "una", "as", "edd", "ilde", "orn", "ys", "ek", "ala", "ust"}
	var out []string
	for _, h := range heads {
		for _, m := range []string{"", "a", "e", "o"} {
			for _, t := range tails {
				out = append(out, h+m+t)
			}
		}
	}
	return out
}

// generalGrammar is words plus, per topic, a symbol drawing one sentence.
func generalGrammar() grammar {
	g := grammar{}
	maps.Copy(g, words) // copying: the map's order cannot leak
	// A long tail of rarer names, as real text has: it is most of what
	// fills a 4k-token BPE vocabulary, so uniform loss is ln 4096 ≈ 8.3 nats.
	g["name"] = append(slices.Clone(words["name"]), personNames()...)
	for _, t := range topics {
		r := strings.NewReplacer("{c}", "{!"+t+"_c}", "{s}", "{!"+t+"_s}")
		for _, s := range shapes {
			g[t] = append(g[t], r.Replace(s))
		}
	}
	return g
}

// generalCorpus writes paragraphs of 2–6 sentences on one topic each, one
// per line, until about kb KiB, and deals every tenth line to the held-out
// part. Repeated paragraphs are dropped so that no held-out line is also a
// training line.
func generalCorpus(seed int64, kb int) (train, heldout []string) {
	r := rand.New(rand.NewPCG(uint64(seed), streamGeneral))
	e := newExpander(generalGrammar(), r)
	seen := map[string]bool{}
	for size := 0; size < kb*1024; {
		e.reset()
		topic := "{" + topics[r.IntN(len(topics))] + "}"
		sentences := make([]string, 2+r.IntN(5))
		for i := range sentences {
			sentences[i] = capitalize(e.expand(topic))
		}
		line := strings.Join(sentences, " ")
		if seen[line] {
			continue
		}
		seen[line] = true
		if (len(train)+len(heldout))%10 == 9 {
			heldout = append(heldout, line)
		} else {
			train = append(train, line)
		}
		size += len(line) + 1
	}
	return train, heldout
}
