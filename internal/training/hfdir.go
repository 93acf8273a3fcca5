package training

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ytrain/ytrain/internal/generation"
	"github.com/ytrain/ytrain/internal/weighting"
)

// This file makes ytrain's output folders what Hugging Face tools expect
// beyond the weights: the files copied from the base, generation_config.json,
// a model card, and names that do not collide with theirs.

// stateFile is where a checkpoint keeps ytrain's resume state. It is not
// HF Trainer's trainer_state.json: that name with this schema made
// TrainerState.load_from_json raise.
const stateFile = "ytrain_state.json"

// hfFiles caches what every saved folder gets from the base model.
type hfFiles struct {
	done      bool
	genConfig []byte // generation_config.json when the base has none
}

// finishFolder adds to a saved model or adapter folder the base's tokenizer
// files (and its generation_config.json, else one naming its stop tokens,
// so transformers' generate stops where `generate` does) and a model card.
func (tr *trainer) finishFolder(dir, kind string) error {
	if err := copyFiles(tr.cfg.Model, dir, tokenizerFiles); err != nil {
		return err
	}
	if !tr.hf.done {
		g, err := generation.GenerationConfig(tr.cfg.Model)
		if err != nil { // not worth losing a checkpoint over
			fmt.Fprintf(tr.cfg.Progress, "train: writing no generation_config.json: %v\n", err)
		}
		tr.hf = hfFiles{done: true, genConfig: g}
	}
	if tr.hf.genConfig != nil {
		if err := os.WriteFile(filepath.Join(dir, "generation_config.json"), tr.hf.genConfig, 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, "README.md"), tr.modelCard(kind), 0o644)
}

// adapterBase is adapter_config.json's base_model_name_or_path: a local
// folder as an absolute path, which AutoPeftModelForCausalLM finds from any
// working directory; anything else (a hub name) as given.
func adapterBase(model string) string {
	if st, err := os.Stat(model); err == nil && st.IsDir() {
		if abs, err := filepath.Abs(model); err == nil {
			return abs
		}
	}
	return model
}

// modelCard is a short README.md: what the folder is and how it was made.
func (tr *trainer) modelCard(kind string) []byte {
	c := tr.cfg
	base := adapterBase(c.Model)
	var b strings.Builder
	fmt.Fprintf(&b, "---\nbase_model: %s\n", yamlString(base))
	if kind == "adapter" {
		b.WriteString("library_name: peft\n")
	}
	fmt.Fprintf(&b, "tags:\n- ytrain\n- %s\n---\n\n", c.Weighting.Name())
	what := map[string]string{
		"adapter": "A LoRA adapter (PEFT) for",
		"merged":  "The model with its LoRA adapter merged into",
		"full":    "A full fine-tune of",
	}[kind]
	fmt.Fprintf(&b, "# %s\n\n%s `%s`, trained by ytrain's `train`.\n\n", filepath.Base(c.Output), what, base)
	method := "full fine-tuning (float32 master weights)"
	if c.LoRA != nil {
		method = fmt.Sprintf("LoRA r=%d, α=%g, dropout %g on %s", c.LoRA.Rank, c.LoRA.Alpha, c.LoRA.Dropout, strings.Join(c.LoRA.Targets, ", "))
	}
	mode := "SFT, fused (one step per batch)"
	switch {
	case c.Objective == "cpt":
		mode = "CPT on packed rows"
	case c.TokenBatch > 0:
		mode = fmt.Sprintf("SFT, windowed (a step every %d answer tokens)", c.TokenBatch)
	}
	scheme := c.Weighting.Name()
	if cal, ok := c.Weighting.(weighting.Calibrated); ok {
		scheme += ": " + cal.Calibration()
	}
	rows := [][2]string{
		{"base model", "`" + base + "`"},
		{"data", "`" + strings.Join(c.Data, "`, `") + "`"},
		{"token weighting", scheme},
		{"mode", mode},
		{"method", method},
		{"optimizer", fmt.Sprintf("AdamW, lr %g (%s), β %g/%g, weight decay %g", c.LR, c.Schedule, c.Beta1, c.Beta2, c.WeightDecay)},
		{"steps", fmt.Sprintf("%d (epoch %.2f of %d)", tr.st.Step, float64(tr.st.Unit)/float64(max(1, tr.perEpoch)), c.Epochs)},
		{"seed", fmt.Sprint(c.Seed)},
	}
	b.WriteString("| | |\n|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s |\n", r[0], strings.ReplaceAll(r[1], "|", `\|`))
	}
	if kind == "adapter" {
		fmt.Fprintf(&b, "\nLoad it with `peft.AutoPeftModelForCausalLM.from_pretrained(%q)`.\n", "<this folder>")
	}
	return []byte(b.String())
}

// yamlString quotes s as a YAML (and JSON) string.
func yamlString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// tbTag is the TensorBoard tag of a metrics.jsonl key: HF Trainer's names
// where it has one (train/loss, train/learning_rate, train/grad_norm,
// train/epoch, and eval/loss for a single held-out set), so runs overlay
// with theirs; train/<key> for the rest and eval/<file>/loss for one of
// several held-out sets.
func tbTag(key string, evalSets int) string {
	switch {
	case key == "lr":
		return "train/learning_rate"
	case strings.HasPrefix(key, "eval/") && evalSets == 1:
		return "eval/loss"
	case strings.HasPrefix(key, "eval/"):
		return key
	}
	return "train/" + key
}
