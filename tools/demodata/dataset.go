package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Streams of the seed's generator: each part draws from its own, so a flag
// that sizes one part leaves the others byte-identical.
const (
	streamGeneral uint64 = iota + 1
	streamFacts
	streamTrain
	streamNoise
	streamTest
)

type options struct {
	seed        int64
	noise       float64
	train, test int
	generalKB   int
}

// file is one output file, whole.
type file struct {
	name string
	data []byte
}

// build makes every file in memory, and a one-line summary of them.
func build(o options) ([]file, string, error) {
	if o.noise < 0 || o.noise > 1 || o.test < 0 || o.generalKB <= 0 {
		return nil, "", fmt.Errorf("want 0 ≤ --noise ≤ 1, --test ≥ 0 and --general-kb > 0")
	}
	facts := buildFacts(o.seed)
	train, err := domainTrain(o.seed, facts, o.train, o.noise)
	if err != nil {
		return nil, "", err
	}
	test, err := domainTest(o.seed, facts, o.test)
	if err != nil {
		return nil, "", err
	}
	gTrain, gHeld := generalCorpus(o.seed, o.generalKB)
	files := []file{
		{"general.train.txt", lines(gTrain)},
		{"general.heldout.txt", lines(gHeld)},
		{"domain.train.jsonl", jsonl(train)},
		{"domain.train.txt", lines(domainText(train))},
		{"domain.test.jsonl", jsonl(test)},
	}
	var sizes []string
	for _, f := range files {
		sizes = append(sizes, fmt.Sprintf("%s %d B", f.name, len(f.data)))
	}
	k := noisyCount(o.noise, o.train)
	summary := fmt.Sprintf("general %d train + %d held-out paragraphs; domain %d facts in %d laws, %d train records (%d noisy, %.1f%%), %d test questions; %s",
		len(gTrain), len(gHeld), len(facts), len(laws), len(train), k, 100*float64(k)/float64(len(train)), len(test), strings.Join(sizes, ", "))
	return files, summary, nil
}

// domainText is the training set as prose, question and answer on a line:
// pre-training a base model on another seed's (whose facts differ) gives it
// the domain's language without this seed's facts, as a real base model
// knows legal language but not one jurisdiction's articles.
func domainText(recs []sftRecord) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Instruction + " " + r.Output
	}
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
