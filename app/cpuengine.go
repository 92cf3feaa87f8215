package app

import (
	"time"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/cpu"
	"github.com/residual-webgpu/residual/model/weights"
)

// yieldEvery is how long a CPU run may hold the browser's only thread
// before it lets the page repaint and take input (between stages and
// blocks, the finest steps the engine reports).
const yieldEvery = 50 * time.Millisecond

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

// Run classifies a batch on the CPU (one thread in the browser). In the
// browser it yields to the page between stages (see yieldEvery), so the
// status, the progress and the toggle stay alive during a run of seconds.
func (c cpuEngine) Run(x *model.Tensor, inspect bool) (*model.Result, error) {
	opt := cpu.Options{TopK: topK, Inspect: inspect}
	if yieldToBrowser != nil {
		last := time.Now()
		opt.Trace = func(string, *model.Tensor) {
			if time.Since(last) >= yieldEvery {
				yieldToBrowser()
				last = time.Now()
			}
		}
	}
	return c.e.Run(x, opt)
}

// Name is the engine's name in results, "cpu".
func (c cpuEngine) Name() string { return cpu.EngineName }
