package ranking

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ytrain/ytrain/formats"
	"github.com/ytrain/ytrain/internal/corpus"
)

// OutputEncoding resolves --encoding for these records. Token records are written
// as token records, arrow or jsonl, defaulting as every tool does. Data
// records stay JSON: json (an array) or jsonl, by the -o extension, else the
// encoding of the input (CSV and text become JSON Lines).
func (rs *Records) OutputEncoding(flag, outPath string, stdout io.Writer) (string, error) {
	if rs.Token {
		if flag == "json" {
			return "", errors.New("--encoding json: token records are written as arrow or jsonl")
		}
		f, err := formats.OutputEncoding(flag, outPath, stdout)
		return f.String(), err
	}
	switch flag {
	case "json", "jsonl":
		return flag, nil
	case "arrow":
		return "", errors.New("--encoding arrow: Arrow holds token records; a data file is written as jsonl or json")
	case "":
	default:
		return "", fmt.Errorf("--encoding %q: want jsonl or json (or arrow for token records)", flag)
	}
	switch strings.ToLower(filepath.Ext(outPath)) {
	case ".json":
		return "json", nil
	case ".jsonl", ".ndjson":
		return "jsonl", nil
	case ".arrow":
		return "", errors.New("-o *.arrow: Arrow holds token records; a data file is written as .jsonl or .json")
	}
	if rs.Encoding == "json" {
		return "json", nil
	}
	return "jsonl", nil
}

// Write writes List[order[0]], List[order[1]], … in encoding (see OutputEncoding)
// with their results attached: a data record gets "score", "rank_reason"
// and, in divergence mode, "rank_spans" fields (replacing fields of those
// names, so a ranked file can be ranked again); a token record gets
// "rank_score", "rank_reason" and "rank_spans" keys in its meta object.
func (rs *Records) Write(w io.Writer, encoding string, res []Result, order []int) error {
	recs := rs.List
	if rs.Token {
		enc := formats.JSONL
		if encoding == "arrow" {
			enc = formats.Arrow
		}
		tw := formats.NewWriter(w, enc, formats.TokenCodec)
		for _, i := range order {
			t := *recs[i].token
			meta, err := metaWith(t.Meta, res[i])
			if err != nil {
				return fmt.Errorf("%s: %w", recs[i].Where, err)
			}
			t.Meta = meta
			if err := tw.Write(&t); err != nil {
				return err
			}
		}
		return tw.Close()
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	if encoding == "json" {
		bw.WriteString("[\n")
	}
	for n, i := range order {
		if encoding == "json" && n > 0 {
			bw.WriteString(",\n")
		}
		fs := withResult(recs[i].data, res[i], "score")
		bw.Write(fs.AppendJSON(nil))
		if encoding == "jsonl" {
			bw.WriteByte('\n')
		}
	}
	if encoding == "json" {
		bw.WriteString("\n]\n")
	}
	return bw.Flush()
}

// metaWith adds the result to a token record's meta, which must be a JSON
// object or absent.
func metaWith(meta []byte, r Result) ([]byte, error) {
	var fs corpus.Fields
	if len(meta) > 0 && string(meta) != "null" {
		var err error
		if fs, err = corpus.ParseObject(meta); err != nil {
			return nil, fmt.Errorf("meta is %s, not a JSON object: rank writes its score into meta", corpus.Clip(meta))
		}
	}
	return withResult(fs, r, "rank_score").AppendJSON(nil), nil
}

// withResult returns a copy of fs with the result's fields set.
func withResult(fs corpus.Fields, r Result, scoreKey string) corpus.Fields {
	fs = fs.With(scoreKey, []byte(Num(r.Score)))
	fs = fs.With("rank_reason", corpus.Quote(r.Why))
	if r.Spans != nil {
		b := []byte{'['}
		for i, s := range r.Spans {
			if i > 0 {
				b = append(b, ',')
			}
			b = fmt.Appendf(b, `{"first":%d,"last":%d,"class":%q,"max_divergence":%s}`, s.First, s.Last, s.Class, Num(s.MaxDivergence))
		}
		fs = fs.With("rank_spans", append(b, ']'))
	}
	return fs
}

// Num formats a score for JSON: 7 significant digits (the curves are
// float32, more would be noise), never "-0"; a score that overflows (ppl of
// a mean loss above ~709) saturates at ±1.797693e+308 and NaN is null, as
// JSON has neither (docs/formats.md).
func Num(v float64) string {
	switch {
	case v == 0:
		v = 0 // turns -0 into 0
	case math.IsNaN(v):
		return "null"
	case math.IsInf(v, 0):
		v = math.Copysign(math.MaxFloat64, v)
	}
	return strconv.FormatFloat(v, 'g', 7, 64)
}
