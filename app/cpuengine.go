package app

import (
	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/cpu"
	"github.com/residual-webgpu/residual/model/weights"
)

// newCPUEngine builds the CPU engine for a model. In the browser it gives
// the page its thread back between ops once breatheEvery has passed (the
// clock every goroutine of the page shares, breatheWith), so the status,
// the progress and the toggle stay alive during a run of seconds.
func newCPUEngine(m *weights.Model) (model.Engine, error) {
	e, err := cpu.New(m)
	if err != nil {
		return nil, err
	}
	if yieldToBrowser != nil {
		e.SetYield(0, func() { breatheWith(yieldToBrowser) })
	}
	return e, nil
}
