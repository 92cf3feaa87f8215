package main

import (
	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/cpu"
	"github.com/residual-webgpu/residual/model/weights"
)

// cpuEngine runs the CPU reference.
type cpuEngine struct {
	e    *cpu.Engine
	topk int
}

func newCPU(m *weights.Model, topk int) (engine, error) {
	e, err := cpu.New(m)
	if err != nil {
		return nil, err
	}
	return &cpuEngine{e, topk}, nil
}

func (c *cpuEngine) run(x *model.Tensor) (*model.Result, error) {
	return c.e.Run(x, cpu.Options{TopK: c.topk})
}

func (c *cpuEngine) close() {}
