package app

import (
	"time"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/cpu"
	"github.com/residual-webgpu/residual/model/weights"
)

// yieldEvery is how long a CPU run may hold the browser's only thread
// before it lets the page repaint and take input (between ops).
const yieldEvery = 50 * time.Millisecond

// newCPUEngine builds the CPU engine for a loaded model. In the browser
// it yields to the page between ops (see yieldEvery), so the status, the
// progress and the toggle stay alive during a run of seconds.
func newCPUEngine(m *weights.Model) (model.Engine, error) {
	e, err := cpu.New(m)
	if err != nil {
		return nil, err
	}
	if yieldToBrowser != nil {
		e.SetYield(yieldEvery, yieldToBrowser)
	}
	return e, nil
}
