package main

import (
	"context"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/weights"
	"github.com/residual-webgpu/residual/shaders"
)

// gpuEngine runs the WGSL engine natively (Vulkan only: shaders.Open
// refuses wgpu's software fallback).
type gpuEngine struct {
	e    *shaders.Engine
	topk int
}

func newGPU(m *weights.Model, topk int) (engine, error) {
	e, err := shaders.OpenEngine(context.Background(), nil, m)
	if err != nil {
		return nil, err
	}
	return &gpuEngine{e, topk}, nil
}

// run builds the plan first (pipelines compile on their first dispatch,
// which would otherwise land in the stage times), then profiles: each
// stage is submitted alone so that its GPU time is known.
func (g *gpuEngine) run(x *model.Tensor) (*model.Result, error) {
	ctx := context.Background()
	if err := g.e.Prepare(ctx, x.Shape[0], x.Shape[2], x.Shape[3]); err != nil {
		return nil, err
	}
	return g.e.Run(ctx, x, shaders.Options{TopK: g.topk, Profile: true})
}

func (g *gpuEngine) close() { g.e.Close() }
