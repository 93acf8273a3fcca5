package corpus

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ytrain/ytrain/internal/chat"
)

func readFile(t *testing.T, name, content string, objective Objective) ([]*Example, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	var out []*Example
	for ex, err := range Examples([]string{path}, "auto", nil, objective) {
		if err != nil {
			return out, err
		}
		out = append(out, ex)
	}
	return out, nil
}

func msgs(pairs ...string) []chat.Message {
	var m []chat.Message
	for i := 0; i < len(pairs); i += 2 {
		m = append(m, chat.Message{Role: pairs[i], Content: pairs[i+1]})
	}
	return m
}

func TestShapes(t *testing.T) {
	cases := []struct {
		name, file, content string
		want                []chat.Message
		id                  string
	}{
		{"alpaca", "a.jsonl", `{"instruction":"Q","input":"ctx","output":"A","system":"S"}`,
			msgs("system", "S", "user", "Q\nctx", "assistant", "A"), "a.jsonl:1"},
		{"alpaca history", "a.jsonl", `{"id":7,"instruction":"Q2","output":"A2","history":[["Q1","A1"]]}`,
			msgs("user", "Q1", "assistant", "A1", "user", "Q2", "assistant", "A2"), "7"},
		{"sharegpt all turns", "s.json", `[{"id":"x","conversations":[{"from":"system","value":"S"},{"from":"human","value":"h1"},{"from":"gpt","value":"g1"},{"from":"human","value":"h2"},{"from":"gpt","value":"g2"}]}]`,
			msgs("system", "S", "user", "h1", "assistant", "g1", "user", "h2", "assistant", "g2"), "x"},
		{"messages", "m.jsonl", `{"messages":[{"role":"user","content":"u"},{"role":"assistant","content":"a"}]}`,
			msgs("user", "u", "assistant", "a"), "m.jsonl:1"},
		{"prompt response", "p.jsonl", `{"prompt":"p","completion":"c"}`, msgs("user", "p", "assistant", "c"), "p.jsonl:1"},
		{"csv", "c.csv", "id,instruction,output\nr1,\"Q, with comma\",A\n", msgs("user", "Q, with comma", "assistant", "A"), "r1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readFile(t, tc.file, tc.content, SFT)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || !reflect.DeepEqual(got[0].Messages, tc.want) || got[0].ID != tc.id {
				t.Fatalf("got %+v", got[0])
			}
		})
	}
}

func TestText(t *testing.T) {
	got, err := readFile(t, "c.txt", "first doc\n\n  \nsecond doc\r\n", CPT)
	if err != nil || len(got) != 2 || got[1].Text != "second doc" || got[1].ID != "c.txt:2" || !strings.HasSuffix(got[1].Where, "c.txt:4") {
		t.Fatalf("got %+v, %v", got, err)
	}
	got, err = readFile(t, "c.jsonl", `{"output":"o","meta":{"a": [1, 2]}}`, CPT)
	if err != nil || got[0].Text != "o" || string(got[0].Meta) != `{"a":[1,2]}` {
		t.Fatalf("got %+v, %v", got, err)
	}
}

func TestErrorsNameFileAndLine(t *testing.T) {
	cases := []struct {
		name, file, content, want string
		objective                 Objective
	}{
		{"malformed json line", "x.jsonl", `{"prompt":"p","response":"r"}` + "\n" + `{"prompt":`, "x.jsonl:2: unexpected end of JSON input", SFT},
		{"wrong type", "x.jsonl", `{"instruction":["a"],"output":"b"}`, `x.jsonl:1: field "instruction": want a string`, SFT},
		{"missing answer", "x.jsonl", `{"instruction":"q"}`, "x.jsonl:1: missing answer", SFT},
		{"no assistant", "x.jsonl", `{"messages":[{"role":"user","content":"u"}]}`, "x.jsonl:1: missing answer: no assistant turn", SFT},
		{"unknown role", "x.jsonl", `{"messages":[{"role":"tool","content":"u"}]}`, `x.jsonl:1: messages[0]: unknown role "tool"`, SFT},
		{"invalid utf8", "x.jsonl", "{\"text\":\"\xff\"}", "x.jsonl:1: invalid UTF-8", CPT},
		{"empty file", "x.jsonl", "", "x.jsonl: empty input", SFT},
		{"array line", "x.json", "[\n{\"prompt\":\"p\",\"response\":\"r\"},\n{\"prompt\":\"p\",\n\"response\":3}\n]", `x.json:3: field "response": want a string`, SFT},
		{"no shape", "x.jsonl", `{"foo":"bar"}`, "x.jsonl:1: no conversation", SFT},
		{"no text", "x.jsonl", `{"foo":"bar"}`, `x.jsonl:1: no "text" field`, Text},
		{"txt for sft", "x.txt", "hello", "plain text has no answers", SFT},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readFile(t, tc.file, tc.content, tc.objective)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestEmptyAnswerIsSkippable(t *testing.T) {
	_, err := readFile(t, "x.jsonl", `{"instruction":"q","output":""}`, SFT)
	if !errors.Is(err, ErrEmptyAnswer) {
		t.Fatalf("got %v", err)
	}
}

// All goes on past an error in one record (ErrRecord), so that tokenize
// --skip-invalid can count it, and ends at an error after which nothing can
// be read: a JSON array whose syntax breaks gave the same error forever.
func TestAllGoesOnPastOneRecord(t *testing.T) {
	for _, tc := range []struct {
		file, content string
		want          string // one word per yield: the id, or "bad" for an ErrRecord, "END" for another error
	}{
		{"x.jsonl", "{\"id\":\"a\",\"text\":\"t\"}\n{\"text\":\n[1]\n{\"id\":\"b\",\"text\":3}\n{\"id\":\"c\",\"text\":\"t\"}\n", "a bad bad bad c a bad bad bad c"},
		{"x.csv", "id,text\na,t\nb,\"t\"x\nc,\"t\xff\"\nd,t\n", "a bad bad d a bad bad d"},
		{"x.txt", "one\n\xff\nthree\n", "x.txt:1 bad x.txt:3 x.txt:1 bad x.txt:3"},
		{"x.json", "[{\"id\":\"a\",\"text\":\"t\"},\n7,\n{\"id\": x},\n{\"id\":\"d\",\"text\":\"t\"}]", "a bad END"},
		{"x.json", "[{\"id\":\"a\",\"text\":\"t\"},", "a END"},
	} {
		path := filepath.Join(t.TempDir(), tc.file)
		os.WriteFile(path, []byte(tc.content), 0o644)
		var got []string
		// a second file after it is read only if nothing ended the first
		for ex, err := range Examples([]string{path, path}, "auto", nil, CPT) {
			switch {
			case errors.Is(err, ErrRecord):
				got = append(got, "bad")
			case err != nil:
				got = append(got, "END")
			default:
				got = append(got, ex.ID)
			}
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("%s %q: %q, want %q", tc.file, tc.content, got, tc.want)
		}
	}
}

func TestPromptReference(t *testing.T) {
	got, err := readFile(t, "q.jsonl", `{"id":"a","prompt":"Q?","reference":"3 days"}`+"\n"+`{"id":"b","prompt":"Q2?","response":"R"}`, Prompt)
	if err != nil || len(got) != 2 || got[0].Reference != "3 days" || got[1].Reference != "R" || len(got[1].Messages) != 1 {
		t.Fatalf("got %+v, %v", got, err)
	}
}
