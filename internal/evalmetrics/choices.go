package evalmetrics

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/ytrain/ytrain/formats"
	"github.com/ytrain/ytrain/internal/corpus"
)

// Multiple-choice accuracy by log-likelihood: each question's candidate
// answers are tokenized and scored like any answer, and the model's pick is
// the candidate with the lowest summed answer-token loss (the most likely
// answer text). Unlike generated accuracy it needs no generation and is
// not blurred by format, so it shows what a model knows even when it
// answers badly.

// ChoiceSummary is evaluate choices' JSON summary.
type ChoiceSummary struct {
	Questions  int     `json:"questions"`
	Candidates int     `json:"candidates"`
	Accuracy   float64 `json:"accuracy"` // mean credit
	Chance     float64 `json:"chance"`   // mean 1/k over questions: a blind pick's accuracy
	// (accuracy − chance) / (1 − chance): 0 for a blind pick, 1 for all right,
	// comparable across questions with different numbers of candidates.
	ChanceCorrected float64                   `json:"chance_corrected_accuracy"`
	By              map[string]*ChoiceSummary `json:"by,omitempty"`
}

// ChoiceRow is one question's result (the -o records).
type ChoiceRow struct {
	Question   string  `json:"question"`
	Group      *string `json:"group,omitempty"`
	Candidates int     `json:"candidates"`
	Pick       string  `json:"pick"`   // the candidate with the lowest summed loss (the first of a tie)
	Answer     string  `json:"answer"` // the correct candidate
	Correct    bool    `json:"correct"`
	// 1 right, 0 wrong, 1/t when the correct candidate ties t ways for the
	// lowest loss (the expected credit of breaking the tie at random).
	Credit     float64 `json:"credit"`
	AnswerLoss float64 `json:"answer_loss"` // the correct candidate's summed loss
	// The lowest wrong candidate's loss minus the correct one's: > 0 when the
	// model prefers the correct answer, by how many nats.
	Margin float64 `json:"margin"`
}

type candidate struct {
	id, where string
	correct   bool
	group     *string
	loss      float64
	scored    bool
}

type question struct {
	id    string
	cands []*candidate
}

// ScoreChoices reads the candidates (JSON Lines, one record per question and
// candidate: {"id", "meta": {"question", "correct", ...}}) and their score
// records (Arrow or JSON Lines, the same ids), and picks each question's
// most likely candidate. by (a dotted path such as meta.kind; "" for none)
// groups the questions. Rows come in the order questions first appear.
func ScoreChoices(choicePaths, scorePaths []string, by string, stdin io.Reader) (*ChoiceSummary, []ChoiceRow, error) {
	if len(choicePaths) == 0 {
		choicePaths = []string{"-"}
	}
	if len(scorePaths) == 0 {
		return nil, nil, errors.New("choices: --scores names the candidates' score records")
	}
	if slices.Contains(scorePaths, "-") && slices.Contains(choicePaths, "-") {
		return nil, nil, errors.New(`stdin ("-") can be read once: give either the scores or the candidates there`)
	}
	cands := map[string]*candidate{}
	var questions []*question
	byID := map[string]*question{}
	for _, p := range choicePaths {
		err := readChoiceFile(p, stdin, by, func(c *candidate, q string) error {
			if first, dup := cands[c.id]; dup {
				return fmt.Errorf("duplicate id %q (first at %s)", c.id, first.where)
			}
			cands[c.id] = c
			if byID[q] == nil {
				byID[q] = &question{id: q}
				questions = append(questions, byID[q])
			}
			byID[q].cands = append(byID[q].cands, c)
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
	}
	if err := readChoiceScores(scorePaths, stdin, cands); err != nil {
		return nil, nil, err
	}
	rows := make([]ChoiceRow, 0, len(questions))
	for _, q := range questions {
		r, err := q.pick()
		if err != nil {
			return nil, nil, err
		}
		rows = append(rows, r)
	}
	return SummariseChoices(rows), rows, nil
}

func readChoiceFile(path string, stdin io.Reader, by string, add func(*candidate, string) error) error {
	return corpus.EachRecord(path, "jsonl", stdin, func(rec *corpus.Record) error {
		c, q, err := choice(rec, by)
		if err != nil {
			return err
		}
		return add(c, q)
	})
}

func choice(rec *corpus.Record, by string) (*candidate, string, error) {
	c := &candidate{where: rec.Where}
	var err error
	if c.id, err = rec.ID(); err != nil {
		return nil, "", err
	}
	q, ok, err := Lookup(rec.Fields, "meta.question")
	if err == nil && !ok {
		err = errors.New("no meta.question (the id of the question this candidate answers)")
	}
	if err != nil {
		return nil, "", err
	}
	meta, _ := rec.Fields.Get("meta")
	var m struct {
		Correct json.RawMessage `json:"correct"`
	}
	json.Unmarshal(meta, &m) // an object: meta.question was found in it
	if m.Correct == nil {
		return nil, "", errors.New("no meta.correct (true for the right answer, false for the others)")
	}
	if json.Unmarshal(m.Correct, &c.correct) != nil {
		return nil, "", fmt.Errorf("meta.correct: want true or false, got %s", corpus.Clip(m.Correct))
	}
	if by != "" {
		g, err := group(rec.Fields, by)
		if err != nil {
			return nil, "", err
		}
		c.group = &g
	}
	return c, q, nil
}

// readChoiceScores sums each candidate's answer-token loss; score records
// of other ids are counted and otherwise ignored (a file scored for more
// than this test).
func readChoiceScores(paths []string, stdin io.Reader, cands map[string]*candidate) error {
	in := formats.OpenInputs(paths, stdin, formats.ScoreCodec)
	defer in.Close()
	for s, err := range in.All() {
		if err != nil {
			return err
		}
		c := cands[s.ID]
		if c == nil {
			continue
		}
		if c.scored {
			return fmt.Errorf("%s: duplicate score record %q", in.Where(), s.ID)
		}
		if len(s.Loss) == 0 {
			return fmt.Errorf("%s: score record %q has no targets: an empty candidate answer cannot be compared", in.Where(), s.ID)
		}
		for k, l := range s.Loss {
			if math.IsNaN(float64(l)) || math.IsInf(float64(l), 0) {
				return fmt.Errorf("%s: record %q: loss at target %d is not finite", in.Where(), s.ID, k)
			}
			c.loss += float64(l)
		}
		c.scored = true
	}
	return nil
}

func (q *question) pick() (ChoiceRow, error) {
	r := ChoiceRow{Question: q.id, Candidates: len(q.cands)}
	if len(q.cands) < 2 {
		return r, fmt.Errorf("%s: question %q has one candidate: nothing to choose between", q.cands[0].where, q.id)
	}
	var answer *candidate
	best, bestWrong := math.Inf(1), math.Inf(1)
	for _, c := range q.cands {
		if !c.scored {
			return r, fmt.Errorf("%s: candidate %q has no score record", c.where, c.id)
		}
		if c.correct {
			if answer != nil {
				return r, fmt.Errorf("%s: question %q has a second correct candidate %q (first %q): want exactly one", c.where, q.id, c.id, answer.id)
			}
			answer = c
		} else {
			bestWrong = min(bestWrong, c.loss)
		}
		if c.loss < best {
			best, r.Pick = c.loss, c.id
		}
		if c.group != nil && *c.group != *q.cands[0].group { // --by is on every record or none
			return r, fmt.Errorf("%s: candidate %q is in group %q, another of question %q in %q", c.where, c.id, *c.group, q.id, *q.cands[0].group)
		}
	}
	if answer == nil {
		return r, fmt.Errorf("%s: question %q has no correct candidate (meta.correct true)", q.cands[0].where, q.id)
	}
	tied := 0
	for _, c := range q.cands {
		if c.loss == best {
			tied++
		}
	}
	r.Group, r.Answer, r.AnswerLoss = q.cands[0].group, answer.id, answer.loss
	r.Margin = bestWrong - answer.loss
	if answer.loss == best {
		r.Credit = 1 / float64(tied)
	}
	r.Correct = r.Credit == 1
	return r, nil
}

// SummariseChoices is the accuracy, chance and chance-corrected accuracy of
// rows, overall and per group.
func SummariseChoices(rows []ChoiceRow) *ChoiceSummary {
	all := summariseChoices(rows)
	groups := map[string][]ChoiceRow{}
	for _, r := range rows {
		if r.Group != nil {
			groups[*r.Group] = append(groups[*r.Group], r)
		}
	}
	if len(groups) > 0 {
		all.By = map[string]*ChoiceSummary{}
		for g, rs := range groups {
			all.By[g] = summariseChoices(rs)
		}
	}
	return all
}

func summariseChoices(rows []ChoiceRow) *ChoiceSummary {
	s := &ChoiceSummary{Questions: len(rows)}
	if len(rows) == 0 {
		return s
	}
	for _, r := range rows {
		s.Candidates += r.Candidates
		s.Accuracy += r.Credit
		s.Chance += 1 / float64(r.Candidates)
	}
	n := float64(len(rows))
	s.Accuracy /= n
	s.Chance /= n
	s.ChanceCorrected = (s.Accuracy - s.Chance) / (1 - s.Chance)
	return s
}
