// Command tinymodel writes a small random Hugging Face checkpoint for tests,
// benchmarks and demos: config.json + model.safetensors, plus the tokenizer
// files of --tokenizer (whose vocabulary then sets the model's).
//
//	go run ./tools/tinymodel --arch Qwen3ForCausalLM --tokenizer ../shared/tokenizers/qwen3 -o /tmp/tiny
package main

import "github.com/ytrain/ytrain/internal/tinymodel"

func main() { tinymodel.Main() }
