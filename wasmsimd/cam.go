package wasmsimd

import (
	"fmt"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/cpu"
)

// camTap is where the class activation maps of the one-image program p
// come from when opt asks for them; Features is -1 otherwise, so that
// image keeps nothing.
func camTap(p *model.Program, opt model.RunOptions) (model.CAMTap, error) {
	if !opt.CAM {
		return model.CAMTap{Features: -1, FC: -1}, nil
	}
	tap, err := p.CAMTap()
	if err != nil {
		return model.CAMTap{}, fmt.Errorf("wasm-simd engine: %w", err)
	}
	return tap, nil
}

// cams computes the maps of every image's top classes from the features
// image read out of module memory (one [C,H,W] block per image), with
// the CPU engine's implementation.
func (e *Engine) cams(one *model.Program, tap model.CAMTap, feats []float32, top [][]model.Prediction) ([][]model.CAM, error) {
	s := one.Tensors[tap.Features].Shape
	f := &model.Tensor{Shape: []int{len(top), s[1], s[2], s[3]}, Data: feats}
	_, b := e.m.Weight(one.Ops[tap.FC].Name)
	w := e.fc
	maps, err := cpu.CAMs(f, w, b, top)
	if err != nil {
		return nil, fmt.Errorf("wasm-simd engine: %w", err)
	}
	return maps, nil
}
