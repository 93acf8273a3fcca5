package ranking

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/ytrain/ytrain/formats"
	"github.com/ytrain/ytrain/internal/corpus"
)

// Record is one record to reorder: a user's data record with every field in
// its original order, or a token record.
type Record struct {
	ID    string
	Where string // FILE:LINE or FILE: record N, for messages
	data  corpus.Fields
	token *formats.Token
}

// Records is what ReadRecords read. Encoding is the first input's file
// encoding: "arrow" or "jsonl" for token records; "json" (an array),
// "jsonl", "csv" or "txt" for data files.
type Records struct {
	Token    bool
	Encoding string
	List     []Record
}

// ReadRecords reads the records to reorder, in order, from files ("-" is
// stdin). A file is token records when it is an Arrow stream or its first
// JSON record has input_ids and loss_mask; anything else is a data file read
// as tokenize reads it (JSON array, JSON Lines, CSV with a header, text
// lines), and a record without an "id" is named FILE:N, its 1-based position
// in the file, as tokenize names it. Token and data files cannot be mixed.
func ReadRecords(paths []string, stdin io.Reader) (*Records, error) {
	rs := &Records{}
	for i, p := range paths {
		token, encoding, err := readFile(p, stdin, func(r Record) { rs.List = append(rs.List, r) })
		if err != nil {
			return nil, err
		}
		if i == 0 {
			rs.Token, rs.Encoding = token, encoding
		} else if token != rs.Token {
			return nil, fmt.Errorf("%s: token records and data records cannot be ranked together", p)
		}
	}
	return rs, nil
}

func readFile(path string, stdin io.Reader, add func(Record)) (token bool, encoding string, err error) {
	in, name := stdin, "stdin"
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return false, "", err
		}
		defer f.Close()
		in, name = f, path
	}
	br := bufio.NewReaderSize(in, 1<<16)
	enc, err := formats.Detect(br)
	if err != nil {
		return false, "", fmt.Errorf("%s: %w", name, err)
	}
	if enc == formats.Arrow {
		return true, "arrow", readTokens(br, name, add)
	}
	rs, err := corpus.NewRecords(br, path, "auto")
	if err != nil {
		return false, "", err
	}
	for rec, err := range rs.All() {
		if err != nil {
			return false, "", err
		}
		if rec.N == 1 {
			token = rec.Raw != nil && rec.Fields.Has("input_ids") && rec.Fields.Has("loss_mask")
		}
		r := Record{Where: rec.Where}
		if token {
			r.token = new(formats.Token)
			if err := json.Unmarshal(rec.Raw, r.token); err != nil {
				return false, "", fmt.Errorf("%s: token record: %w", rec.Where, err)
			}
			if err := r.token.Validate(); err != nil {
				return false, "", fmt.Errorf("%s: %w", rec.Where, err)
			}
			r.ID = r.token.ID
		} else {
			r.data = rec.Fields
			if r.ID, err = rec.ID(); err != nil {
				return false, "", fmt.Errorf("%s: %w", rec.Where, err)
			}
		}
		add(r)
	}
	return token, rs.Encoding(), nil
}

func readTokens(br *bufio.Reader, name string, add func(Record)) error {
	return formats.Each(br, name, formats.TokenCodec, func(t *formats.Token, where string) error {
		add(Record{ID: t.ID, Where: where, token: t})
		return nil
	})
}
