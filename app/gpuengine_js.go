//go:build js && wasm

package app

import (
	"context"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/weights"
	"github.com/residual-webgpu/residual/shaders"
)

func init() { newGPUEngine = openGPUEngine }

// gpuEngine adapts the WGSL engine (package shaders) to Engine; it owns
// the device it opened.
type gpuEngine struct {
	d    *shaders.Device
	e    *shaders.Engine
	name string
}

// openGPUEngine opens the browser's WebGPU device and builds the engine.
func openGPUEngine(m *weights.Model) (Engine, error) {
	d, err := shaders.Open(context.Background())
	if err != nil {
		return nil, err
	}
	e, err := shaders.NewEngine(d, m)
	if err != nil {
		d.Close()
		return nil, err
	}
	// gogpu/wgpu's browser backend names every adapter alike; the page's
	// own probe reads the vendor and architecture.
	name := "webgpu"
	if g := probeWebGPU(); g.Available {
		name = "webgpu (" + g.Short() + ")"
	}
	return &gpuEngine{d: d, e: e, name: name}, nil
}

// Run classifies on the GPU. When inspecting, each stage is submitted and
// timed alone (the inspector's Time column); that costs some latency.
func (g *gpuEngine) Run(x *model.Tensor, inspect bool) (*model.Result, error) {
	res, err := g.e.Run(context.Background(), x, shaders.Options{TopK: topK, Inspect: inspect, Profile: inspect})
	if err == nil {
		res.Engine = g.name
	}
	return res, err
}

// Name is "webgpu (<adapter>)", as results name the engine.
func (g *gpuEngine) Name() string { return g.name }

// Prepare compiles the pipelines and uploads the weights for batches of b
// images of size×size ahead of the first run.
func (g *gpuEngine) Prepare(b, size int) error {
	return g.e.Prepare(context.Background(), b, size, size)
}

// Close releases the engine's buffers and the device.
func (g *gpuEngine) Close() {
	g.e.Close()
	g.d.Close()
}
