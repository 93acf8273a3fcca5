package model

import "github.com/ytrain/ytrain/internal/torch"

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
	return Load(dir, dev, dt)
}
