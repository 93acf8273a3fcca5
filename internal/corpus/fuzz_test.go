package corpus

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// The one reader of user records takes any bytes in every encoding (JSON Lines
// with lines of any length among them) and either errors or yields records
// whose fields make valid JSON again; never a panic or a hang, even read on
// past its errors.
func FuzzRecords(f *testing.F) {
	f.Add([]byte(`{"id":1,"prompt":"p","response":"r"}`+"\n"+`{"text":"`+strings.Repeat("x", 70000)+`"}`), "jsonl")
	f.Add([]byte("[\n{\"id\":\"a\",\"text\":\"t\"},\n{\"id\":2}\n]"), "json")
	f.Add([]byte("id,prompt,response\n1,\"a,b\",c\n"), "csv")
	f.Add([]byte("line one\n\n\xff\n"), "txt")
	f.Add([]byte(`{"a":`), "auto")
	f.Fuzz(func(t *testing.T, data []byte, encoding string) {
		rs, err := NewRecords(bufio.NewReader(bytes.NewReader(data)), "fuzz.x", encoding)
		if err != nil {
			return
		}
		n := 0
		for r, err := range rs.All() { // on past a bad record, as tokenize --skip-invalid reads
			if n++; n > 1<<20 {
				t.Fatal("more than 2^20 records from one input")
			}
			if err != nil {
				continue
			}
			if b := r.Fields.AppendJSON(nil); !json.Valid(b) {
				t.Fatalf("record %d: fields make invalid JSON %q", r.N, b)
			}
			if _, err := r.ID(); err != nil && !strings.Contains(err.Error(), `field "id"`) {
				t.Fatalf("record %d: id error %v", r.N, err)
			}
		}
	})
}
