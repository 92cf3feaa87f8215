package app

// Backend names a kind of engine the user can choose. Engines themselves
// are model.Engine: the page shows whatever model.Result comes back.
type Backend string

// The backends of the GPU/CPU toggle.
const (
	BackendGPU Backend = "gpu"
	BackendCPU Backend = "cpu"
)
