package app

import (
	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/weights"
)

// newGPUEngine builds the WebGPU engine for a model. It is set only in the
// browser build (gpuengine_js.go): natively the package serves server-side
// rendering and tests, where the page offers the CPU only. It blocks on
// WebGPU promises: call it from a goroutine, never a JS callback.
var newGPUEngine func(m *weights.Model) (model.Engine, error)

// precompileGPU, set in the browser build, opens the WebGPU device and
// compiles the pipelines of a model's network for one image of
// size×size, from the weight file's header (weights.DecodeHeader) while
// the rest downloads. The next GPU engine starts on that device.
var precompileGPU func(head *weights.Model, size int)

// watchGPU, set in the browser build, makes the GPU engines and
// precompileGPU report their preparation (compiling shaders, uploading
// weights, layer by layer) to report, and wait in hold between layers
// (engineMakers.watch).
var watchGPU func(report func(step string, done, total int), hold func())
