package main

import (
	"context"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/cpu"
	"github.com/residual-webgpu/residual/model/weights"
	"github.com/residual-webgpu/residual/shaders"
)

type cpuRunner struct{ e *cpu.Engine }

func newCPU(m *weights.Model) runner {
	e, err := cpu.New(m)
	check(err)
	return cpuRunner{e}
}

func (c cpuRunner) name() string                               { return "residual-cpu" }
func (c cpuRunner) run(x *model.Tensor) (*model.Result, error) { return c.e.Run(x, cpu.Options{}) }
func (c cpuRunner) close()                                     {}

// gpuRunner times whole inferences (one submit each); per-stage GPU times
// come from a separate profiled run after the timed ones.
type gpuRunner struct{ e *shaders.Engine }

func newGPU(m *weights.Model) (runner, error) {
	e, err := shaders.OpenEngine(context.Background(), nil, m)
	if err != nil {
		return nil, err
	}
	return &gpuRunner{e}, nil
}

func (g *gpuRunner) name() string { return "residual-" + g.e.Name() }
func (g *gpuRunner) run(x *model.Tensor) (*model.Result, error) {
	return g.e.Run(context.Background(), x, shaders.Options{})
}
func (g *gpuRunner) profile(x *model.Tensor) (*model.Result, error) {
	return g.e.Run(context.Background(), x, shaders.Options{Profile: true})
}
func (g *gpuRunner) close() { g.e.Close() }
