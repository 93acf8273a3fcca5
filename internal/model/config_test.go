package model

import (
	"os"
	"path/filepath"
	"slices"
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
