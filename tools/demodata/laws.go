package main

// kind is what an article fixes. It picks the article's sentence, its
// questions and the unit of its key fact.
type kind int

const (
	deadline kind = iota // a role must act within N days
	fine                 // a role who breaks a rule pays N coins
	permit               // an office issues permits for an activity
	validity             // a licence is valid for N years
	numKinds
)

// subject is what one article is about: a role and an act for deadlines and
// fines, an activity or a licence (what only) for permits and validity.
type subject struct{ role, what string }

// law is one fictional law: the offices, people, acts and papers its
// articles can be about. Nouns never start with a vowel, so "a" always fits.
type law struct {
	name     string
	offices  []string // the values of permit articles
	subjects [numKinds][]subject
}

var laws = []law{
	{
		name:    "Harbor Safety Law",
		offices: []string{"Harbor Office", "Coast Watch", "Port Council"},
		subjects: [numKinds][]subject{
			deadline: {{"ship captain", "report a collision"}, {"dock worker", "report an injury"}, {"ship owner", "register a new ship"}},
			fine:     {{"ship captain", "sails without lights at night"}, {"ship owner", "leaves a wreck in port"}, {"dock worker", "blocks a fire lane"}},
			permit:   {{what: "anchoring in the inner harbor"}, {what: "moving explosive cargo"}, {what: "diving near the docks"}},
			validity: {{what: "a pilot license"}, {what: "a berth permit"}, {what: "a ship safety certificate"}},
		},
	},
	{
		name:    "Grain Trade Law",
		offices: []string{"Grain Board", "Market Inspector", "Trade Chamber"},
		subjects: [numKinds][]subject{
			deadline: {{"grain merchant", "report a spoiled shipment"}, {"miller", "record a purchase of wheat"}, {"warehouse keeper", "inspect a grain store"}},
			fine:     {{"grain merchant", "sells wet grain"}, {"miller", "uses false weights"}, {"warehouse keeper", "mixes old and new grain"}},
			permit:   {{what: "exporting grain"}, {what: "opening a grain warehouse"}, {what: "selling seed grain"}},
			validity: {{what: "a grain export license"}, {what: "a warehouse permit"}, {what: "a miller certificate"}},
		},
	},
	{
		name:    "Road Transport Law",
		offices: []string{"Road Office", "Toll Council", "Bridge Board"},
		subjects: [numKinds][]subject{
			deadline: {{"cart driver", "report a broken bridge"}, {"road keeper", "clear a fallen tree"}, {"coach owner", "register a new coach"}},
			fine:     {{"cart driver", "drives on the wrong side"}, {"coach owner", "carries too many passengers"}, {"road keeper", "leaves a hole unmarked"}},
			permit:   {{what: "closing a public road"}, {what: "building a toll gate"}, {what: "moving heavy loads at night"}},
			validity: {{what: "a driver license"}, {what: "a toll gate permit"}, {what: "a coach safety certificate"}},
		},
	},
	{
		name:    "Forest Protection Law",
		offices: []string{"Forest Service", "Ranger Council", "Timber Board"},
		subjects: [numKinds][]subject{
			deadline: {{"forest ranger", "report a fire"}, {"wood cutter", "plant new trees"}, {"land owner", "remove dead trees"}},
			fine:     {{"wood cutter", "cuts trees without a mark"}, {"hunter", "hunts in the breeding season"}, {"camper", "lights a fire in dry weather"}},
			permit:   {{what: "cutting old oak trees"}, {what: "hunting deer"}, {what: "building a forest road"}},
			validity: {{what: "a hunting license"}, {what: "a wood cutting permit"}, {what: "a forest camping permit"}},
		},
	},
	{
		name:    "Water Use Law",
		offices: []string{"Water Council", "River Office", "Canal Board"},
		subjects: [numKinds][]subject{
			deadline: {{"well owner", "report a polluted well"}, {"farmer", "repair a leaking canal"}, {"mill owner", "register a new water wheel"}},
			fine:     {{"farmer", "takes water out of turn"}, {"mill owner", "blocks a river"}, {"tanner", "pours waste into a stream"}},
			permit:   {{what: "digging a new well"}, {what: "building a dam"}, {what: "moving water between valleys"}},
			validity: {{what: "a well permit"}, {what: "a canal use license"}, {what: "a fishing pond permit"}},
		},
	},
	{
		name:    "Market Weights Law",
		offices: []string{"Market Office", "Weights Bureau", "Town Council"},
		subjects: [numKinds][]subject{
			deadline: {{"market trader", "report a stolen scale"}, {"baker", "test a new oven scale"}, {"stall owner", "pay the market fee"}},
			fine:     {{"market trader", "uses a false scale"}, {"baker", "sells light bread"}, {"stall owner", "sells goods after dark"}},
			permit:   {{what: "opening a market stall"}, {what: "selling fresh fish"}, {what: "holding a night market"}},
			validity: {{what: "a stall permit"}, {what: "a trader license"}, {what: "a scale seal"}},
		},
	},
}

// pools are the values of the numeric kinds. No value is a suffix of
// another ("3 days" is not inside "13 days"), so evaluate --match contains
// cannot credit a wrong number.
var pools = [numKinds][]string{
	deadline: {"2 days", "3 days", "5 days", "7 days", "10 days", "14 days", "21 days", "30 days", "60 days", "90 days"},
	fine:     {"50 coins", "80 coins", "200 coins", "300 coins", "500 coins", "800 coins", "1000 coins", "2000 coins"},
	validity: {"2 years", "3 years", "4 years", "5 years", "6 years", "8 years", "10 years"},
}

// values lists what an article of kind k of law l can state.
func (l *law) values(k kind) []string {
	if k == permit {
		return l.offices
	}
	return pools[k]
}

// statements are the content slot of an answer: the fact itself.
var statements = [numKinds]string{
	deadline: "a {role} must {what} within {value}",
	fine:     "a {role} who {what} must pay a fine of {value}",
	permit:   "permits for {what} are issued by the {value}",
	validity: "{what} is valid for {value}",
}

// answers are the heavy templates around the fact; the first form is listed
// most often, as in the article's corpora.
var answers = []string{
	"According to {article}, {statement}.",
	"According to {article}, {statement}.",
	"According to {article}, {statement}.",
	"According to {article}, {statement}. This rule must be followed.",
	"According to {article}, {statement}. Breaking it is punished.",
	"Under {article}, {statement}.",
	"As stated in {article}, {statement}.",
	"In accordance with {article}, {statement}.",
	"{article} provides that {statement}.",
}

// questions are the paraphrases of each kind. Every fact keeps a few of them
// for the test set only.
var questions = [numKinds][]string{
	deadline: {
		"How many days does a {role} have to {what} under the {law}?",
		"Under the {law}, within how many days must a {role} {what}?",
		"What is the deadline for a {role} to {what} according to the {law}?",
		"How soon must a {role} {what} under the {law}?",
		"What time limit does the {law} set for a {role} to {what}?",
		"If a {role} has to {what}, how many days does the {law} allow?",
		"According to the {law}, how long does a {role} have to {what}?",
		"Tell me the deadline under the {law} for a {role} to {what}.",
		"Under the {law}, how much time is a {role} given to {what}?",
		"By the {law}, what is the time limit for a {role} to {what}?",
	},
	fine: {
		"What is the fine for a {role} who {what} under the {law}?",
		"Under the {law}, how much must a {role} who {what} pay?",
		"How many coins does a {role} who {what} pay under the {law}?",
		"What penalty does the {law} set for a {role} who {what}?",
		"According to the {law}, what fine must a {role} who {what} pay?",
		"What does the {law} charge a {role} who {what}?",
		"Under the {law}, what is the penalty for a {role} who {what}?",
		"Tell me the fine under the {law} for a {role} who {what}.",
		"How large is the fine for a {role} who {what} under the {law}?",
		"By the {law}, how much does a {role} who {what} have to pay?",
	},
	permit: {
		"Who issues permits for {what} under the {law}?",
		"Under the {law}, which office grants permits for {what}?",
		"Which authority handles permits for {what} according to the {law}?",
		"Where must a person apply for a permit for {what} under the {law}?",
		"According to the {law}, who decides on permits for {what}?",
		"Who gives permission for {what} under the {law}?",
		"Under the {law}, who must approve {what}?",
		"Tell me who issues permits for {what} under the {law}.",
		"Which body is responsible for permits for {what} under the {law}?",
		"By the {law}, who can allow {what}?",
	},
	validity: {
		"How long is {what} valid under the {law}?",
		"Under the {law}, for how many years is {what} valid?",
		"What is the period of validity of {what} according to the {law}?",
		"How many years does {what} last under the {law}?",
		"For how long can {what} be used under the {law}?",
		"According to the {law}, how long does {what} remain valid?",
		"What is the term of {what} under the {law}?",
		"Tell me how long {what} is valid under the {law}.",
		"Under the {law}, after how many years does {what} expire?",
		"By the {law}, how many years is {what} good for?",
	},
}
