package main

import (
	"errors"
	"io"
	"path/filepath"
	"testing"

	"github.com/ytrain/ytrain/internal/corpus"
)

// The files are read by the project's own reader, as tokenize (--kind sft,
// --kind cpt) and generate read them.
func TestProjectReaderReadsFiles(t *testing.T) {
	dir := t.TempDir()
	if err := run([]string{"-o", dir, "--general-kb", "20"}, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		kind  corpus.Task
		check func(*corpus.Example) bool
	}{
		{"domain.train.jsonl", corpus.SFT, func(ex *corpus.Example) bool {
			return len(ex.Messages) == 2 && ex.Messages[0].Role == "user" && ex.Messages[1].Role == "assistant" && ex.Meta != nil
		}},
		{"domain.test.jsonl", corpus.Prompt, func(ex *corpus.Example) bool {
			return len(ex.Messages) == 1 && ex.Messages[0].Role == "user" && ex.Messages[0].Content != ""
		}},
		{"general.train.txt", corpus.CPT, func(ex *corpus.Example) bool { return ex.Text != "" }},
		{"general.heldout.txt", corpus.CPT, func(ex *corpus.Example) bool { return ex.Text != "" }},
	} {
		r, err := corpus.Open(filepath.Join(dir, c.name), "auto", nil, c.kind)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for {
			ex, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if !c.check(ex) {
				t.Fatalf("%s: unexpected example %+v", ex.Where, ex)
			}
			n++
		}
		r.Close()
		if n == 0 {
			t.Errorf("%s: no records", c.name)
		}
	}
}
