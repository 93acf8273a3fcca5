package evalmetrics

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Schema is the JSON Schema subset evaluate checks answers against: type (a
// name or a list of names: object, array, string, number, integer, boolean,
// null), properties, required, items (one schema for every element), enum,
// additionalProperties (false or a schema), and the schemas true and false.
// Annotations ($schema, $id, $comment, title, description, default,
// examples) are ignored; any other keyword is refused when the schema is
// loaded, so a schema never silently checks less than it says.
type Schema struct {
	always     *bool // the schema true or false
	types      []string
	properties map[string]*Schema
	required   []string
	items      *Schema
	enum       []any
	additional *Schema
}

var annotations = map[string]bool{"$schema": true, "$id": true, "$comment": true, "title": true, "description": true, "default": true, "examples": true}

var typeNames = map[string]bool{"object": true, "array": true, "string": true, "number": true, "integer": true, "boolean": true, "null": true}

// LoadSchema reads a schema file.
func LoadSchema(path string) (*Schema, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s, err := parseSchema(b, "#")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

func parseSchema(raw []byte, at string) (*Schema, error) {
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return &Schema{always: &b}, nil
	}
	var kw map[string]json.RawMessage
	if err := json.Unmarshal(raw, &kw); err != nil {
		return nil, fmt.Errorf("%s: a schema is an object or true/false", at)
	}
	s := &Schema{}
	keys := make([]string, 0, len(kw))
	for k := range kw {
		keys = append(keys, k)
	}
	sort.Strings(keys) // the first unsupported keyword reported is stable
	for _, k := range keys {
		v := kw[k]
		var err error
		switch k {
		case "type":
			err = s.parseType(v)
		case "properties":
			var props map[string]json.RawMessage
			if err = json.Unmarshal(v, &props); err == nil {
				s.properties = map[string]*Schema{}
				for name, p := range props {
					if s.properties[name], err = parseSchema(p, at+"/properties/"+name); err != nil {
						return nil, err
					}
				}
			}
		case "required":
			err = json.Unmarshal(v, &s.required)
		case "items":
			if s.items, err = parseSchema(v, at+"/items"); err != nil {
				return nil, err
			}
		case "enum":
			var vals []json.RawMessage
			if err = json.Unmarshal(v, &vals); err == nil {
				for _, e := range vals {
					x, _ := decode(e)
					s.enum = append(s.enum, x)
				}
			}
		case "additionalProperties":
			if s.additional, err = parseSchema(v, at+"/additionalProperties"); err != nil {
				return nil, err
			}
		default:
			if !annotations[k] {
				return nil, fmt.Errorf("%s: keyword %q is not supported (supported: type, properties, required, items, enum, additionalProperties)", at, k)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%s/%s: %v", at, k, err)
		}
	}
	return s, nil
}

func (s *Schema) parseType(v json.RawMessage) error {
	var one string
	if json.Unmarshal(v, &one) == nil {
		s.types = []string{one}
	} else if err := json.Unmarshal(v, &s.types); err != nil {
		return errors.New("want a type name or a list of them")
	}
	for _, t := range s.types {
		if !typeNames[t] {
			return fmt.Errorf("unknown type %q", t)
		}
	}
	return nil
}

// decode reads one JSON value, numbers kept exact as json.Number.
func decode(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(b[dec.InputOffset():])) > 0 {
		return nil, errors.New("text after the JSON value")
	}
	return v, nil
}

// ValidateText checks that text is one JSON value the schema accepts.
func (s *Schema) ValidateText(text string) error {
	v, err := decode([]byte(text))
	if err != nil {
		return fmt.Errorf("not JSON: %v", err)
	}
	return s.validate(v, "$")
}

func (s *Schema) validate(v any, at string) error {
	if s.always != nil {
		if !*s.always {
			return fmt.Errorf("%s: not allowed", at)
		}
		return nil
	}
	if len(s.types) > 0 && !hasType(v, s.types) {
		return fmt.Errorf("%s: want %s, got %s", at, strings.Join(s.types, " or "), typeOf(v))
	}
	if s.enum != nil {
		ok := false
		for _, e := range s.enum {
			ok = ok || equal(v, e)
		}
		if !ok {
			return fmt.Errorf("%s: not one of the enum values", at)
		}
	}
	switch x := v.(type) {
	case map[string]any:
		for _, name := range s.required {
			if _, ok := x[name]; !ok {
				return fmt.Errorf("%s: missing required property %q", at, name)
			}
		}
		for _, name := range slices.Sorted(maps.Keys(x)) {
			sub, ok := s.properties[name]
			if !ok {
				sub = s.additional
			}
			if sub != nil {
				if err := sub.validate(x[name], at+"."+name); err != nil {
					return err
				}
			}
		}
	case []any:
		if s.items != nil {
			for i, e := range x {
				if err := s.items.validate(e, fmt.Sprintf("%s[%d]", at, i)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func typeOf(v any) string {
	switch x := v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case json.Number:
		if isInteger(x) {
			return "integer"
		}
		return "number"
	case bool:
		return "boolean"
	}
	return "null"
}

func hasType(v any, types []string) bool {
	got := typeOf(v)
	for _, t := range types {
		if t == got || (t == "number" && got == "integer") {
			return true
		}
	}
	return false
}

// isInteger follows JSON Schema: 1.0 is an integer, the value counts, not
// its spelling.
func isInteger(n json.Number) bool {
	f, err := strconv.ParseFloat(string(n), 64)
	return err == nil && f == math.Trunc(f) && !math.IsInf(f, 0)
}

// equal compares JSON values, numbers by value.
func equal(a, b any) bool {
	switch x := a.(type) {
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			return false
		}
		fx, ex := strconv.ParseFloat(string(x), 64)
		fy, ey := strconv.ParseFloat(string(y), 64)
		return ex == nil && ey == nil && fx == fy
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if w, ok := y[k]; !ok || !equal(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equal(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return a == b
}
