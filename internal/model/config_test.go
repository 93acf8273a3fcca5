package model

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// transformers 5 writes rope_theta and the Llama 3 scaling inside
// rope_parameters, and dtype for torch_dtype; both spellings mean the same.
func TestConfigRopeParameters(t *testing.T) {
	const common = `"architectures":["LlamaForCausalLM"],"vocab_size":64,"hidden_size":32,"num_hidden_layers":1,"num_attention_heads":2,"intermediate_size":48,`
	v4 := `{` + common + `"torch_dtype":"bfloat16","rope_theta":500000.0,"rope_scaling":{"rope_type":"llama3","factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":8192}}`
	v5 := `{` + common + `"dtype":"bfloat16","rope_parameters":{"rope_theta":500000.0,"rope_type":"llama3","factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":8192}}`
	load := func(js string) *Config {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(js), 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := LoadConfig(dir)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a, b := load(v4), load(v5)
	if b.RopeTheta != 500000 || b.Rope == nil || b.DType != "bfloat16" {
		t.Fatalf("transformers 5 config read as theta %g, scaling %+v, dtype %q", b.RopeTheta, b.Rope, b.DType)
	}
	if !slices.Equal(a.InvFreq(), b.InvFreq()) {
		t.Fatalf("inverse frequencies differ:\n%v\n%v", a.InvFreq(), b.InvFreq())
	}
	plain := load(`{` + common + `"rope_parameters":{"rope_theta":1000000.0,"rope_type":"default"}}`)
	if plain.RopeTheta != 1e6 || plain.Rope != nil {
		t.Fatalf("default rope_parameters read as theta %g, scaling %+v", plain.RopeTheta, plain.Rope)
	}
}

// A saved model's config.json keeps the spelling of the base's: transformers 5's
// dtype (no torch_dtype added) and rope_parameters as written, or transformers 4's
// torch_dtype.
func TestWithDTypeKeepsSpelling(t *testing.T) {
	const common = `"architectures":["LlamaForCausalLM"],"vocab_size":64,"hidden_size":32,"num_hidden_layers":1,"num_attention_heads":2,"intermediate_size":48,`
	const rope = `{"rope_theta":100000.0,"rope_type":"default"}`
	for _, c := range []struct {
		name, config string
		want, absent string
	}{
		{"v5", `{` + common + `"dtype":"bfloat16","rope_parameters":` + rope + `}`, "dtype", "torch_dtype"},
		{"v4", `{` + common + `"torch_dtype":"bfloat16","rope_theta":100000.0}`, "torch_dtype", "dtype"},
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(c.config), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := LoadConfig(dir)
		if err != nil {
			t.Fatal(err)
		}
		b, err := cfg.WithDType("float32")
		if err != nil {
			t.Fatal(err)
		}
		var keys map[string]json.RawMessage
		if err := json.Unmarshal(b, &keys); err != nil {
			t.Fatal(err)
		}
		if string(keys[c.want]) != `"float32"` || keys[c.absent] != nil {
			t.Errorf("%s: wrote %s", c.name, b)
		}
		if c.name == "v5" {
			var got, want any
			json.Unmarshal(keys["rope_parameters"], &got)
			json.Unmarshal([]byte(rope), &want)
			if !reflect.DeepEqual(got, want) || !strings.Contains(string(b), `"rope_theta": 100000.0`) {
				t.Errorf("%s: rope_parameters not kept as written: %s", c.name, b)
			}
		}
	}
}
