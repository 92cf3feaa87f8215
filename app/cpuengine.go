package app

import (
	"context"

	"github.com/residual-webgpu/residual/internal/cpuchoice"
	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/weights"
)

// cpuKernels fetches the wasm SIMD kernel module in the browser
// (cpuengine_js.go); nil elsewhere, where the Go engine runs.
var cpuKernels func(context.Context) ([]byte, error)

// cpuGoOnly asks for the Go engine even where the kernels load (?cpu=go).
var cpuGoOnly bool

// newCPUEngine builds the CPU engine for a model: the wasm SIMD kernels
// where they load, else the Go engine (package cpuchoice decides, as for
// the benchmarks). In the browser it gives the page its thread back
// between ops once breatheEvery has passed (the clock every goroutine of
// the page shares, breatheWith), so the status, the progress and the
// toggle stay alive during a run.
func newCPUEngine(m *weights.Model) (model.Engine, error) {
	opt := cpuchoice.Options{Kernels: cpuKernels, Go: cpuGoOnly}
	if yieldToBrowser != nil {
		opt.Yield = func() { breatheWith(yieldToBrowser) }
	}
	return cpuchoice.New(context.Background(), m, opt)
}
