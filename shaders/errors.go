package shaders

import (
	"errors"
	"fmt"

	"github.com/gogpu/wgpu"
)

// ErrDeviceLost is wrapped by every error caused by losing the GPU device:
// a driver reset, the browser reclaiming it (tab in the background, GPU
// process crash), a timeout, or Close. A lost device stays lost; to go on,
// Close the Device and its Engines, Open a new Device and build a new
// Engine on it with NewEngine (weights are uploaded again on first use).
var ErrDeviceLost = errors.New("gpu device lost")

// ErrOutOfMemory is wrapped by errors caused by the GPU running out of
// memory while a plan's buffers were made or a run was recorded. A smaller
// batch or input size needs less (see Engine.Memory).
var ErrOutOfMemory = errors.New("gpu out of memory")

// Lost returns why the device can no longer be used, wrapping
// ErrDeviceLost, or nil while it works.
func (d *Device) Lost() error {
	d.lostMu.Lock()
	defer d.lostMu.Unlock()
	return d.lost
}

// markLost records the first reason the device was lost.
func (d *Device) markLost(reason error) {
	d.lostMu.Lock()
	defer d.lostMu.Unlock()
	if d.lost == nil {
		d.lost = fmt.Errorf("%w: %w", ErrDeviceLost, reason)
		close(d.lostCh)
	}
}

// panicError turns a recovered panic into an error.
func panicError(r any) error {
	if err, ok := r.(error); ok {
		return fmt.Errorf("gpu call panicked: %w", err)
	}
	return fmt.Errorf("gpu call panicked: %v", r)
}

// locked is do for the public entry points (an Engine's runs, the single
// ops): it holds the device for the whole call, so that work from another
// goroutine (a second Engine on the same Device) neither interleaves with
// it nor lands in its error scopes.
func (d *Device) locked(what string, f func() error) error {
	if d == nil {
		return fmt.Errorf("%s: no device", what)
	}
	d.gpuMu.Lock()
	defer d.gpuMu.Unlock()
	return d.do(what, f)
}

// do runs f, a group of GPU calls, for what (which names the operation in
// errors). It fails at once on a lost device; it turns a panic inside wgpu
// into an error; in the browser it catches the validation, out-of-memory
// and internal errors WebGPU reports asynchronously (error scopes), which
// wgpu's browser backend would otherwise leave as console warnings and
// silently wrong results; and it marks errors caused by device loss or
// exhausted memory with ErrDeviceLost or ErrOutOfMemory.
func (d *Device) do(what string, f func() error) (err error) {
	if d == nil || d.dev == nil {
		return fmt.Errorf("%s: device is closed", what)
	}
	if err := d.Lost(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	outer := d.depth.Add(1) == 1
	defer func() {
		d.depth.Add(-1)
		if r := recover(); r != nil {
			err = panicError(r)
		}
		if outer {
			d.settlePipelines(err == nil)
		}
		if err != nil {
			err = fmt.Errorf("%s: %w", what, d.classify(err))
		}
	}()
	if !outer {
		// The outermost call's error scopes cover this one: waiting on
		// scopes of its own would serialize the browser's pipeline
		// compiles with our Go work.
		return f()
	}
	return d.scoped(f)
}

// settlePipelines ends the outermost do: pipelines made under it are
// kept if it succeeded, or dropped from the cache when it failed, since
// in the browser an invalid one is known only when the scopes close.
func (d *Device) settlePipelines(ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !ok {
		for _, key := range d.pending {
			if k := d.pipelines[key]; k != nil {
				k.release()
				delete(d.pipelines, key)
			}
		}
	}
	d.pending = d.pending[:0]
}

// classify wraps err with ErrDeviceLost when the device is (or turns out
// to be) lost, or with ErrOutOfMemory when the driver ran out of memory.
func (d *Device) classify(err error) error {
	if errors.Is(err, ErrDeviceLost) || errors.Is(err, ErrOutOfMemory) {
		return err
	}
	if errors.Is(err, wgpu.ErrDeviceLost) {
		d.markLost(err)
	}
	if lost := d.settleLost(); lost != nil {
		return fmt.Errorf("%w (%w)", err, lost)
	}
	if errors.Is(err, wgpu.ErrOutOfMemory) {
		return fmt.Errorf("%w: %w", ErrOutOfMemory, err)
	}
	return err
}
