package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing/fstest"
	"time"
)

// runsFS is the RUNS argument: a folder of runs (make experiment's
// build/experiment/STAGE/runs) or the archive --pack made of one
// (experiment/results/STAGE/runs.tar.gz), which is how a committed report
// is made again without its models (experiment/reports.sh). It remembers
// every file read, so --pack archives exactly what the report needs.
type runsFS struct {
	fs.FS
	name string // as given: messages and the report name it

	mu   sync.Mutex
	read map[string]bool
}

// archiveExt names the files RUNS reads as --pack's archives.
const archiveExt = ".tar.gz"

func openRuns(name string) (*runsFS, error) {
	r := &runsFS{name: name, read: map[string]bool{}}
	if !strings.HasSuffix(name, archiveExt) {
		st, err := os.Stat(name)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("%s: want a folder of runs or a %s archive of one (expreport --pack)", name, archiveExt)
		}
		r.FS = os.DirFS(name)
		return r, nil
	}
	m, err := readArchive(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	r.FS = m
	return r, nil
}

// show is a file's name for messages: the runs' name joined to it.
func (r *runsFS) show(file string) string { return filepath.Join(r.name, filepath.FromSlash(file)) }

func (r *runsFS) Open(name string) (fs.File, error) {
	f, err := r.FS.Open(name)
	if err == nil {
		if st, e := f.Stat(); e == nil && !st.IsDir() {
			r.mu.Lock()
			r.read[name] = true
			r.mu.Unlock()
		}
	}
	return f, err
}

// readArchive loads a tar.gz into memory (a stage's rows are a few MB);
// fstest.MapFS is io/fs's map-backed file system, folders implied by paths.
func readArchive(name string) (fstest.MapFS, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	m := fstest.MapFS{}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if h.Typeflag == tar.TypeDir {
			continue
		}
		if h.Typeflag != tar.TypeReg || !fs.ValidPath(h.Name) {
			return nil, fmt.Errorf("%q: want regular files with relative paths", h.Name)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		m[h.Name] = &fstest.MapFile{Data: b, Mode: 0o644}
	}
	if len(m) == 0 {
		return nil, errors.New("empty archive")
	}
	return m, zr.Close()
}

// pack writes the files the loaded runs were read from as a tar.gz, each
// JSON row cut to the fields expreport reads (what evaluate writes besides,
// e.g. each question's choice list, is for people and stays in the runs).
// The bytes depend on the rows only: sorted names, no times or owners.
func (r *runsFS) pack(dst string) error {
	r.mu.Lock()
	names := make([]string, 0, len(r.read))
	for n := range r.read {
		names = append(names, n)
	}
	r.mu.Unlock()
	sort.Strings(names)
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(zw)
	for _, n := range names {
		b, err := fs.ReadFile(r.FS, n)
		if err != nil {
			return err
		}
		if b, err = cutRows(b, strings.HasSuffix(n, ".choices.samples.jsonl")); err != nil {
			return fmt.Errorf("%s: %w", r.show(n), err)
		}
		h := &tar.Header{Name: n, Mode: 0o644, Size: int64(len(b)), ModTime: time.Unix(0, 0), Format: tar.FormatUSTAR}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := tw.Write(b); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, buf.Bytes(), 0o644)
}

// keep are the fields of sampleRow and heldout.json that expreport reads.
var keep = map[string]bool{"id": true, "question": true, "correct": true, "credit": true, "seq_rep_4": true,
	"truncated": true, "candidates": true, "k": true, "fact": true, "kind": true, "score_mean_loss": true}

// cutRows cuts each JSON object of b (JSONL, or heldout.json's one object)
// to keep's fields and meta's fact and kind (and, in a choices file, meta's
// choices where the row gives its number of candidates no other way).
// Values are copied as written, so every number reads back the same.
func cutRows(b []byte, choices bool) ([]byte, error) {
	var out bytes.Buffer
	dec := json.NewDecoder(bytes.NewReader(b))
	for {
		var row map[string]json.RawMessage
		if err := dec.Decode(&row); err == io.EOF {
			break
		} else if err != nil {
			return nil, err
		}
		cut := map[string]json.RawMessage{}
		for k, v := range row {
			if keep[k] {
				cut[k] = v
			}
		}
		if m, ok := row["meta"]; ok && string(m) != "null" {
			var meta map[string]json.RawMessage
			if err := json.Unmarshal(m, &meta); err != nil {
				return nil, fmt.Errorf("meta: %w", err)
			}
			mc := map[string]json.RawMessage{}
			for _, k := range []string{"fact", "kind"} {
				if v, ok := meta[k]; ok {
					mc[k] = v
				}
			}
			if _, c := row["candidates"]; choices && !c {
				if _, k := row["k"]; !k {
					if v, ok := meta["choices"]; ok {
						mc["choices"] = v
					}
				}
			}
			j, err := json.Marshal(mc)
			if err != nil {
				return nil, err
			}
			cut["meta"] = j
		}
		j, err := json.Marshal(cut) // keys sorted: the same rows, the same bytes
		if err != nil {
			return nil, err
		}
		out.Write(append(j, '\n'))
	}
	return out.Bytes(), nil
}
