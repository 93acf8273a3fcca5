package model

import (
	"github.com/sugarme/gotch/ts"

	"github.com/ytrain/ytrain/internal/torch"
)

// Open loads dir for a tool's --device and --dtype flags ("cpu", "cuda",
// "cuda:N"; "auto", "f32", "bf16", "f16").
func Open(dir, device, dtype string) (*Model, error) {
	dev, err := torch.ParseDevice(device)
	if err != nil {
		return nil, err
	}
	cfg, err := LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	dt, err := torch.ParseDType(dtype, dev, cfg.DType)
	if err != nil {
		return nil, err
	}
	return load(dir, cfg, dev, dt)
}

// OpenInference is Open for tools that only run the model forward (score,
// generate): threads intra-op threads (0 keeps libtorch's default) and
// autograd off on the calling OS thread, which the caller has locked.
func OpenInference(dir, device, dtype string, threads int) (*Model, error) {
	torch.SetThreads(threads)
	if _, err := ts.GradSetEnabled(false); err != nil {
		return nil, err
	}
	return Open(dir, device, dtype)
}
