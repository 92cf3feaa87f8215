package app

import (
	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/cpu"
	"github.com/residual-webgpu/residual/model/weights"
)

// cpuEngine adapts the pure-Go reference engine to Engine.
type cpuEngine struct{ e *cpu.Engine }

// newCPUEngine builds the CPU engine for a loaded model.
func newCPUEngine(m *weights.Model) (Engine, error) {
	e, err := cpu.New(m)
	if err != nil {
		return nil, err
	}
	return cpuEngine{e}, nil
}

// Run classifies a batch on the CPU (one thread in the browser).
func (c cpuEngine) Run(x *model.Tensor, inspect bool) (*model.Result, error) {
	return c.e.Run(x, cpu.Options{TopK: topK, Inspect: inspect})
}

// Name is the engine's name in results, "cpu".
func (c cpuEngine) Name() string { return cpu.EngineName }
