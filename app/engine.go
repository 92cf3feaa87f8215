package app

import "github.com/residual-webgpu/residual/model"

// Engine runs a prepared batch ([B,3,H,W], normalised as the weights say)
// through the network. Both the WebGPU and the CPU engine satisfy it
// through small adapters; the UI shows whatever model.Result comes back.
type Engine interface {
	// Run classifies the batch. With inspect set, every stage's result
	// carries a heatmap of its output.
	Run(x *model.Tensor, inspect bool) (*model.Result, error)
	// Name says which engine and device this is, for people ("cpu",
	// "webgpu (google swiftshader)").
	Name() string
}

// preparer is an engine that can get ready for a batch shape ahead of
// its first run (the GPU engine compiles pipelines and uploads weights).
type preparer interface {
	Prepare(b, size int) error
}

// Backend names a kind of engine the user can choose.
type Backend string

// The backends of the GPU/CPU toggle.
const (
	BackendGPU Backend = "gpu"
	BackendCPU Backend = "cpu"
)
