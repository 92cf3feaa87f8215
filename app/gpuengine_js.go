//go:build js && wasm

package app

import (
	"context"
	"sync"
	"syscall/js"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/weights"
	"github.com/residual-webgpu/residual/shaders"
)

func init() {
	newGPUEngine = openGPUEngine
	precompileGPU = precompile
	watchGPU = func(r func(step string, done, total int), h func()) { report, hold = r, h }
}

// report is where devices report their plan builds, hold where they wait
// between layers (watchGPU); set once, before any device is opened.
var (
	report func(step string, done, total int)
	hold   func()
)

// hook makes a device report its plan builds and give the page its
// thread back between layers: building a plan packs megabytes of
// weights, which would otherwise be one task of seconds.
func hook(d *shaders.Device) {
	if report != nil {
		d.SetProgress(report)
	}
	d.SetYield(0, func() {
		breatheWith(yieldToBrowser)
		if hold != nil {
			hold()
		}
	})
}

// early is the device precompile opened, until a GPU engine takes it.
var early struct {
	mu   sync.Mutex
	done chan struct{} // closed when the device is open and compiled
	d    *shaders.Device
}

// precompile opens a device and compiles head's pipelines on it, once.
// Errors are left for the engine to meet and report: a device that did
// not open is opened again, a pipeline that did not compile is compiled
// again, and either fails there with the message the page shows.
func precompile(head *weights.Model, size int) {
	early.mu.Lock()
	if early.done != nil {
		early.mu.Unlock()
		return
	}
	done := make(chan struct{})
	early.done = done
	early.mu.Unlock()
	defer close(done)
	ctx := context.Background()
	d, err := shaders.Open(ctx)
	if err != nil {
		return
	}
	hook(d)
	if err := d.Precompile(ctx, head, 1, size, size); err != nil {
		js.Global().Get("console").Call("warn", "residual: precompiling the GPU pipelines:", err.Error())
	}
	early.mu.Lock()
	early.d = d
	early.mu.Unlock()
}

// takeEarly waits for a precompile under way and returns its device
// (nil when there is none): pipelines cached on a device serve any model.
func takeEarly() *shaders.Device {
	early.mu.Lock()
	done := early.done
	early.mu.Unlock()
	if done == nil {
		return nil
	}
	<-done
	early.mu.Lock()
	defer early.mu.Unlock()
	d := early.d
	early.d = nil
	return d
}

// openGPUEngine builds the engine on the precompiled device, or on a
// newly opened one.
func openGPUEngine(m *weights.Model) (model.Engine, error) {
	d := takeEarly()
	if d == nil {
		var err error
		if d, err = shaders.Open(context.Background()); err != nil {
			return nil, err
		}
		hook(d)
	}
	return shaders.OpenEngine(context.Background(), d, m)
}
