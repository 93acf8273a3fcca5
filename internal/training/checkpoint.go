package training

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"unsafe"

	"github.com/sugarme/gotch"
	"github.com/sugarme/gotch/ts"

	"github.com/ytrain/ytrain/internal/model"
	"github.com/ytrain/ytrain/internal/safetensors"
	"github.com/ytrain/ytrain/internal/tempfiles"
	"github.com/ytrain/ytrain/internal/torch"
)

// state is ytrain_state.json (stateFile): where a run stands, so --resume continues
// exactly there.
type state struct {
	Step         int   `json:"global_step"` // optimizer steps taken
	Unit         int   `json:"next_unit"`   // data cursor: next unit over all epochs
	Epoch        int   `json:"epoch"`       // of the next unit
	Seed         int64 `json:"seed"`
	SkippedUnits int   `json:"skipped_units"` // all weights zero
	BadSteps     int   `json:"bad_steps"`     // loss or gradient not finite
	LoRA         bool  `json:"lora"`          // adapters or full weights, to refuse a mismatched resume
	Spec         *spec `json:"run,omitempty"` // what defines the run, checked on --resume
	// ranks when written: another world size may resume with the same
	// global batch (Spec.BatchSize), which defines the units
	WorldSize int `json:"world_size,omitempty"`
}

// tokenizerFiles are copied next to saved weights so a checkpoint is a
// usable model folder.
var tokenizerFiles = []string{"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
	"vocab.json", "merges.txt", "generation_config.json", "chat_template.jinja"}

// save writes a checkpoint (or, without state, the final model) to dir: into
// a temp folder renamed at the end, so a kill never leaves half of one.
func (tr *trainer) save(dir string, st *state) error {
	var opt map[string]*ts.Tensor
	if st != nil { // every rank: under --zero 1 each holds a share of the state
		var drop func()
		var err error
		if opt, drop, err = tr.opt.state(tr.g); err != nil {
			return err
		}
		defer drop()
	}
	if tr.g.Rank() != 0 { // the ranks hold the same weights: rank 0 writes them
		return nil
	}
	tmp := dir + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	tempfiles.Add(tmp)
	defer tempfiles.Done(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	err := torch.Catch(func() error {
		if tr.adapters != nil {
			return tr.writeAdapter(tmp)
		}
		return tr.writeModel(tmp, tr.m.Params, nil)
	})
	if err == nil && st != nil {
		err = tr.writeState(tmp, st, opt)
	}
	if err == nil {
		kind := "full"
		if tr.adapters != nil {
			kind = "adapter"
		}
		err = tr.finishFolder(tmp, kind)
	}
	if err == nil && st != nil && tr.adapters != nil && tr.cfg.MergeCheckpoints {
		err = tr.writeMerged(filepath.Join(tmp, "merged"))
	}
	if err == nil {
		if err = os.RemoveAll(dir); err == nil {
			err = os.Rename(tmp, dir)
		}
	}
	if err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("saving %s: %w", dir, err)
	}
	return nil
}

func tensorData(t *ts.Tensor, dtype string) (safetensors.Tensor, error) {
	v, err := torch.Float32s(t)
	if err != nil {
		return safetensors.Tensor{}, err
	}
	b, err := safetensors.Encode(v, dtype)
	return safetensors.Tensor{DType: dtype, Shape: t.MustSize(), Data: b}, err
}

func writeTensors(path string, named map[string]*ts.Tensor, dtype string) error {
	var list []safetensors.Tensor
	for name, t := range named {
		d, err := tensorData(t, dtype)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		d.Name = name
		list = append(list, d)
	}
	return safetensors.Write(path, list, map[string]string{"format": "pt"})
}

// writeAdapter writes a PEFT LoRA adapter: adapter_config.json and
// adapter_model.safetensors with PEFT's keys
// (base_model.model.<module>.lora_A.weight), float32 as PEFT keeps them.
func (tr *trainer) writeAdapter(dir string) error {
	c := *tr.cfg.LoRA
	cfg := map[string]any{
		"peft_type": "LORA", "task_type": "CAUSAL_LM", "base_model_name_or_path": adapterBase(tr.cfg.Model),
		"r": c.Rank, "lora_alpha": c.Alpha, "lora_dropout": c.Dropout, "target_modules": c.Targets,
		"bias": "none", "fan_in_fan_out": false, "inference_mode": true, "init_lora_weights": true,
		"modules_to_save": nil, "layers_to_transform": nil, "layers_pattern": nil,
		"rank_pattern": map[string]any{}, "alpha_pattern": map[string]any{},
		"use_rslora": false, "use_dora": false, "revision": nil,
	}
	b, _ := json.MarshalIndent(cfg, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "adapter_config.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	return writeTensors(filepath.Join(dir, "adapter_model.safetensors"), tr.adapters, "F32")
}

// writeModel writes an HF model folder: config.json (with torch_dtype set to
// what is saved) and model.safetensors. override replaces some weights
// (merged LoRA).
func (tr *trainer) writeModel(dir string, params, override map[string]*ts.Tensor) error {
	dtype, torchDType := "F32", "float32"
	if tr.m.DType != gotch.Float {
		dtype, torchDType = "BF16", "bfloat16"
	}
	b, err := tr.m.Cfg.WithDType(torchDType)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644); err != nil {
		return err
	}
	named := map[string]*ts.Tensor{}
	for k, v := range params {
		named[k] = v
	}
	for k, v := range override {
		named[k] = v
	}
	if tr.m.Cfg.Tied {
		delete(named, "lm_head.weight") // HF re-ties it from the embeddings
	}
	return writeTensors(filepath.Join(dir, "model.safetensors"), named, dtype)
}

// writeState adds what resuming needs: ytrain_state.json and the
// optimizer's moments (and float32 master weights when they differ from the
// saved ones) in optimizer.safetensors.
func (tr *trainer) writeState(dir string, st *state, named map[string]*ts.Tensor) error {
	b, _ := json.MarshalIndent(st, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, stateFile), append(b, '\n'), 0o644); err != nil {
		return err
	}
	if err := writeTensors(filepath.Join(dir, "optimizer.safetensors"), named, "F32"); err != nil {
		return err
	}
	opt := map[string]any{"step": tr.opt.step, "beta1": tr.opt.beta1, "beta2": tr.opt.beta2, "eps": tr.opt.eps, "weight_decay": tr.opt.weightDecay}
	b, _ = json.MarshalIndent(opt, "", "  ")
	return os.WriteFile(filepath.Join(dir, "optimizer.json"), append(b, '\n'), 0o644)
}

// restore loads a checkpoint's adapter (full weights come in through the
// model folder) and optimizer state, and returns its trainer state.
func (tr *trainer) restore(dir string) (*state, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return nil, fmt.Errorf("--resume %s: not a checkpoint folder: %w", dir, err)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	if st.LoRA != (tr.adapters != nil) {
		return nil, fmt.Errorf("--resume %s: a %s checkpoint cannot continue a %s run", dir, tuning(st.LoRA), tuning(tr.adapters != nil))
	}
	if tr.adapters != nil {
		if err := load(filepath.Join(dir, "adapter_model.safetensors"), tr.adapters); err != nil {
			return nil, err
		}
	}
	moments := map[string]*ts.Tensor{}
	for _, q := range tr.opt.params {
		if q.m == nil {
			continue // another rank's (--zero 1)
		}
		moments[q.name+".exp_avg"], moments[q.name+".exp_avg_sq"] = q.m, q.v
		if q.master != q.p {
			moments[q.name+".master"] = q.master
		}
	}
	if err := load(filepath.Join(dir, "optimizer.safetensors"), moments); err != nil {
		return nil, err
	}
	var opt struct {
		Step int `json:"step"`
	}
	if b, err = os.ReadFile(filepath.Join(dir, "optimizer.json")); err == nil {
		err = json.Unmarshal(b, &opt)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: optimizer.json: %w", dir, err)
	}
	tr.opt.step = opt.Step
	return &st, nil
}

// tuning names what a run trains, for messages.
func tuning(lora bool) string {
	if lora {
		return "LoRA"
	}
	return "full fine-tuning"
}

// load copies every tensor of a safetensors file into the tensor of the same
// name; a missing or misshaped one is an error.
func load(path string, into map[string]*ts.Tensor) error {
	f, err := safetensors.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, n := range sortedNames(into) {
		st, ok := f.Tensors[n]
		if !ok {
			return fmt.Errorf("%s: no tensor %s", path, n)
		}
		dst := into[n]
		if fmt.Sprint(st.Shape) != fmt.Sprint(dst.MustSize()) || st.DType != "F32" {
			return fmt.Errorf("%s: tensor %s is %s%v, want F32%v", path, n, st.DType, st.Shape, dst.MustSize())
		}
		src, err := torch.TensorFromBlob(unsafe.Pointer(unsafe.SliceData(st.Data)), st.Shape, gotch.Float)
		if err != nil {
			return err
		}
		ts.NoGrad(func() { dst.Copy_(src) })
		src.MustDrop()
	}
	return nil
}

// writeMerged writes the base with the adapters folded in as a full model
// folder.
func (tr *trainer) writeMerged(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	merged := tr.merged()
	err := tr.writeModel(dir, tr.m.Params, merged)
	for _, t := range merged {
		t.MustDrop()
	}
	if err != nil {
		return err
	}
	return tr.finishFolder(dir, "merged")
}

// merged returns each LoRA-adapted weight with its update folded in:
// W + (α/r)·B·A.
func (tr *trainer) merged() map[string]*ts.Tensor {
	out := map[string]*ts.Tensor{}
	c := tr.cfg.LoRA
	scale := c.Alpha / float64(c.Rank)
	ts.NoGrad(func() {
		for i := range tr.m.Layers {
			for _, name := range c.Targets {
				key := model.ModulePath(i, name) + ".weight"
				W := tr.m.Params[key]
				A := tr.adapters["base_model.model."+model.ModulePath(i, name)+".lora_A.weight"]
				B := tr.adapters["base_model.model."+model.ModulePath(i, name)+".lora_B.weight"]
				d := B.MustMatmul(A, false).MustMulScalar(ts.FloatScalar(scale), true).MustTotype(W.DType(), true)
				out[key] = W.MustAdd(d, false)
				d.MustDrop()
			}
		}
	})
	return out
}

func copyFiles(from, to string, names []string) error {
	for _, n := range names {
		src, err := os.Open(filepath.Join(from, n))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		dst, err := os.Create(filepath.Join(to, n))
		if err == nil {
			_, err = io.Copy(dst, src)
			if cerr := dst.Close(); err == nil {
				err = cerr
			}
		}
		src.Close()
		if err != nil {
			return err
		}
	}
	return nil
}
