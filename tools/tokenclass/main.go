// Command tokenclass reports a base model's answer-token loss by token
// class, the sanity check of issue 13 §1: are the template tokens already
// known, the entity (copied from the question) cheap, and the fact values
// where the loss is?
//
//	go run ./tools/tokenclass --tokenizer MODEL_DIR --data domain.train.jsonl \
//		--tokens domain.train.tokens.arrow --scores domain.train.scores.arrow \
//		-o token-classes.md [--json token-classes.json] [--regions]
//
// --data holds tools/world's SFT records (id, output, meta.fact, meta.kind,
// meta.noisy, meta.label); --tokens the token records tokenize made of them
// and --scores the score records score made of those, joined on id. A
// target token is "value" if it overlaps meta.label in the answer, else
// "copied" if it overlaps the entity (meta.fact before "/", any case), else
// "template" (so is the end-of-turn token).
//
// --regions makes experiment/PLAN-real.md's table of the base's answer
// tokens on tools/realworld's records (which add meta.noise): the bins are
// NLIRG's regions (weighting.Region), value splits into its first mention
// and the later ones, every target of a noisy record goes to its type's row
// ("noisy · mislabel", with "noisy · mislabel · value" for the outside
// value, found in any case) instead of the clean classes, and each row gets
// its token share, mean NLIRG weight and weight share.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ytrain/ytrain/formats"
	"github.com/ytrain/ytrain/internal/bpe"
	"github.com/ytrain/ytrain/internal/cli"
	"github.com/ytrain/ytrain/internal/corpus"
	"github.com/ytrain/ytrain/internal/weighting"
)

const usage = `usage: tokenclass --tokenizer MODEL_DIR --data SFT.jsonl --tokens TOKENS --scores SCORES [-o OUT.md] [--json OUT.json] [--regions]

Answer-token loss by token class (template, copied from the question, fact
value; value also by meta.kind and meta.noisy) as a markdown table.

--regions: the bins are NLIRG's regions (known, learning, hard, cut), value
also by first and later mention, a noisy record's targets by meta.noise
(mislabel also on its stated value), and each class's token share, mean NLIRG
weight and weight share (of all targets' weight).

`

func main() { os.Exit(cli.Run("tokenclass", os.Stderr, func() error { return run(os.Args[1:]) })) }

func run(args []string) error {
	fs := cli.Flags("tokenclass", usage, os.Stderr)
	var in inputs
	fs.StringVar(&in.tokenizer, "tokenizer", "", "tokenizer.json or a model folder holding one (required)")
	fs.StringVar(&in.data, "data", "", "the SFT records, JSON Lines (required)")
	fs.StringVar(&in.tokens, "tokens", "", "their token records (required)")
	fs.StringVar(&in.scores, "scores", "", "the token records' score records (required)")
	out := fs.StringP("output", "o", "", "markdown table (default stdout)")
	jsonOut := fs.String("json", "", "also write the numbers as JSON here")
	fs.BoolVar(&in.regions, "regions", false, "NLIRG's regions for bins, noisy records by meta.noise, and each class's NLIRG weight share")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if in.tokenizer == "" || in.data == "" || in.tokens == "" || in.scores == "" {
		return errors.New("--tokenizer, --data, --tokens and --scores are required")
	}
	rep, err := in.report()
	if err != nil {
		return err
	}
	if *jsonOut != "" {
		b, err := rep.JSON()
		if err != nil {
			return err
		}
		if err := formats.WriteBytes(*jsonOut, b); err != nil {
			return err
		}
	}
	return formats.WriteFile(*out, os.Stdout, func(w io.Writer) error {
		_, err := io.WriteString(w, rep.Markdown())
		return err
	})
}

// inputs are the four files a report is made of, and the table's kind.
type inputs struct {
	tokenizer, data, tokens, scores string
	regions                         bool
}

// dataRecord is the part of an SFT record the classes need.
type dataRecord struct {
	ID     string `json:"id"`
	Output string `json:"output"`
	Meta   struct {
		Fact  string `json:"fact"`
		Kind  string `json:"kind"`
		Noisy bool   `json:"noisy"`
		Noise string `json:"noise"` // tools/realworld's noise type; "" when clean
		Label string `json:"label"`
	} `json:"meta"`
}

func (in *inputs) report() (*Report, error) {
	tok, err := bpe.Load(in.tokenizer)
	if err != nil {
		return nil, err
	}
	data, err := readData(in.data)
	if err != nil {
		return nil, err
	}
	scores, err := readScores(in.scores)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(in.tokens)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rep := &Report{Bins: binTable()}
	t := newTally()
	if in.regions {
		rep.Bins, rep.Regions = nil, weighting.RegionNames[:]
		t = newRegionTally()
	}
	used := map[string]bool{}
	err = formats.Each(f, in.tokens, formats.TokenCodec, func(rec *formats.Token, _ string) error {
		d, ok := data[rec.ID]
		if !ok {
			return fmt.Errorf("token record %q has no record in %s", rec.ID, in.data)
		}
		sc, ok := scores[rec.ID]
		if !ok {
			return fmt.Errorf("token record %q has no score record in %s", rec.ID, in.scores)
		}
		if used[rec.ID] {
			return fmt.Errorf("token record %q appears twice", rec.ID)
		}
		used[rec.ID] = true
		var ids []int32 // the targets, in order: score's loss[k] is the k-th one's
		for i, m := range rec.LossMask {
			if m == 1 {
				ids = append(ids, rec.InputIDs[i])
			}
		}
		if len(ids) != len(sc.Loss) {
			return fmt.Errorf("token record %q has %d targets but its score record in %s %d losses", rec.ID, len(ids), in.scores, len(sc.Loss))
		}
		rep.Records++
		rep.Targets += len(ids)
		a := answer{d.Output, d.Meta.Label, entityOf(d.Meta.Fact)}
		var classes []string
		if in.regions {
			// a noisy record that says it is noisy but not how would
			// otherwise count as clean
			if d.Meta.Noisy != (d.Meta.Noise != "") {
				return fmt.Errorf("record %q has meta.noisy %t but meta.noise %q: --regions classes noisy records by meta.noise (tools/realworld's records)", d.ID, d.Meta.Noisy, d.Meta.Noise)
			}
			index := strings.Index
			if d.Meta.Noise != "" {
				index = indexFold // a mislabel's outside value is lower case, and capitalized at a sentence start
			}
			classes, ok = classifyMentions(tok, ids, a, index)
		} else {
			classes, ok = classify(tok, ids, a)
		}
		if !ok {
			rep.UnalignedRecs++
		}
		for k, l := range sc.Loss {
			c := unaligned
			if ok {
				c = classes[k]
			}
			if in.regions {
				t.addRegion(c, d.Meta.Kind, d.Meta.Noise, float64(l))
			} else {
				t.add(c, d.Meta.Kind, d.Meta.Noisy, float64(l))
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for id := range scores {
		if !used[id] {
			return nil, fmt.Errorf("%s: score record %q has no token record in %s", in.scores, id, in.tokens)
		}
	}
	rep.UnusedDataRecs = len(data) - len(used)
	rep.Rows = t.rows()
	return rep, nil
}

// readData reads the SFT records by id.
func readData(path string) (map[string]*dataRecord, error) {
	out := map[string]*dataRecord{}
	err := corpus.EachRecord(path, "jsonl", nil, func(rec *corpus.Record) error {
		d := new(dataRecord)
		if err := json.Unmarshal(rec.Raw, d); err != nil {
			return err
		}
		if d.ID == "" {
			return errors.New("no id")
		}
		if _, dup := out[d.ID]; dup {
			return fmt.Errorf("id %q appears twice", d.ID)
		}
		out[d.ID] = d
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// readScores reads the score records by id.
func readScores(path string) (map[string]*formats.Score, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]*formats.Score{}
	err = formats.Each(f, path, formats.ScoreCodec, func(rec *formats.Score, _ string) error {
		if _, dup := out[rec.ID]; dup {
			return fmt.Errorf("score record %q appears twice", rec.ID)
		}
		out[rec.ID] = rec
		return nil
	})
	return out, err
}
