package app

import "github.com/residual-webgpu/residual/model/weights"

// newGPUEngine builds the WebGPU engine for a model. It is set only in the
// browser build (gpuengine_js.go): natively the package serves server-side
// rendering and tests, where the page offers the CPU only. It blocks on
// WebGPU promises: call it from a goroutine, never a JS callback.
var newGPUEngine func(m *weights.Model) (Engine, error)
