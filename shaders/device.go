package shaders

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gogpu/gputypes"
	"github.com/gogpu/wgpu"
)

// Device is an open GPU device with the adapter facts the engine reports
// and a cache of compiled pipelines shared by every plan built on it.
type Device struct {
	instance *wgpu.Instance
	adapter  *wgpu.Adapter
	dev      *wgpu.Device
	queue    *wgpu.Queue
	info     gputypes.AdapterInfo
	class    adapterClass // picks kernel tiles
	sub4     bool         // subgroup ops in subgroups of exactly 4 invocations (SwiftShader in Chrome)
	limits   gputypes.Limits

	mu        sync.Mutex
	pipelines map[string]*kernel // keyed by WGSL source + entry point
	pending   []string           // keys cached since the outermost do began

	gpuMu sync.Mutex   // held by public entry points for their whole call (locked)
	depth atomic.Int32 // nesting of do: only the outermost opens error scopes

	lostMu sync.Mutex
	lost   error         // why the device is unusable; nil while it works
	lostCh chan struct{} // closed when lost is set
	web    webDevice     // the browser's GPUDevice (empty natively)

	// Hooks for plan builds (SetProgress, SetYield); set before the
	// device is shared.
	progress   func(step string, done, total int)
	yield      func()
	yieldEvery time.Duration
}

// Steps SetProgress reports.
const (
	// StepCompiling is Precompile creating a plan's pipelines.
	StepCompiling = "compiling"
	// StepUploading is a plan build (Prepare, or a Run at a new shape)
	// packing its weights and uploading them.
	StepUploading = "uploading"
)

// SetProgress makes plan builds report their progress to f: StepCompiling
// with done of total layers whose pipelines exist (in the browser: are
// compiled, each waited for), StepUploading with done of total layers
// whose weights are packed, the last step being the upload itself. Call
// it before the device is shared.
func (d *Device) SetProgress(f func(step string, done, total int)) { d.progress = f }

// SetYield makes plan builds call f between layers once at least every
// has passed since the last call, so that a host with a single thread
// (the browser) can paint and take input while a plan of seconds is
// built. Call it before the device is shared.
func (d *Device) SetYield(every time.Duration, f func()) { d.yield, d.yieldEvery = f, every }

// report tells SetProgress's hook, if any.
func (d *Device) report(step string, done, total int) {
	if d.progress != nil {
		d.progress(step, done, total)
	}
}

// pause calls SetYield's hook when every has passed since *last.
func (d *Device) pause(last *time.Time) {
	if d.yield != nil && time.Since(*last) >= d.yieldEvery {
		d.yield()
		*last = time.Now()
	}
}

// Open opens the GPU device the engine runs on: Vulkan natively (it fails
// when only another backend, such as wgpu's Software one, is available,
// because those compute silently wrong results) and the browser's WebGPU
// under js/wasm. In the browser it blocks its goroutine until the adapter
// and device promises settle: never call it from a JS event callback.
//
// A lost device (see ErrDeviceLost) cannot be revived: Close it and its
// engines, Open again and build a new Engine with NewEngine.
func Open(ctx context.Context) (d *Device, err error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("open gpu: %w", err)
	}
	defer func() {
		if r := recover(); r != nil {
			d, err = nil, fmt.Errorf("open gpu: %w", panicError(r))
		}
	}()
	inst, err := wgpu.CreateInstance(instanceDescriptor())
	if err != nil {
		return nil, fmt.Errorf("open gpu: create instance: %w", err)
	}
	ad, err := inst.RequestAdapter(&wgpu.RequestAdapterOptions{PowerPreference: gputypes.PowerPreferenceHighPerformance})
	if err != nil {
		inst.Release()
		return nil, fmt.Errorf("open gpu: request adapter: %w", err)
	}
	info := ad.Info()
	if err := checkBackend(info); err != nil {
		ad.Release()
		inst.Release()
		return nil, fmt.Errorf("open gpu: %w", err)
	}
	al := ad.Limits()
	if err := checkLimits(al); err != nil {
		ad.Release()
		inst.Release()
		return nil, fmt.Errorf("open gpu: adapter %q: %w", info.Name, err)
	}
	dev, err := requestDevice(ad, &wgpu.DeviceDescriptor{Label: "residual", RequiredLimits: requiredLimits(al),
		RequiredFeatures: requiredFeatures(ad.Features())})
	if err != nil {
		ad.Release()
		inst.Release()
		return nil, fmt.Errorf("open gpu: request device on %q: %w", info.Name, err)
	}
	d = &Device{instance: inst, adapter: ad, dev: dev, queue: dev.Queue(), info: info,
		limits: dev.Limits(), pipelines: map[string]*kernel{}, lostCh: make(chan struct{})}
	if d.limits.MaxStorageBufferBindingSize == 0 {
		// Some paths report no device limits; the adapter's are what we asked for.
		d.limits = al
	}
	d.class = classOf(info)
	d.watch() // in the browser: finds the GPUDevice and refines class
	return d, nil
}

// requestMu serializes device requests: in the browser askExtraFeatures
// swaps a method of GPUAdapter.prototype while one is made.
var requestMu sync.Mutex

// requestDevice requests ad's device, with the extra features the
// browser backend cannot name (askExtraFeatures).
func requestDevice(ad *wgpu.Adapter, desc *wgpu.DeviceDescriptor) (*wgpu.Device, error) {
	requestMu.Lock()
	defer requestMu.Unlock()
	undo := askExtraFeatures()
	defer undo()
	return ad.RequestDevice(desc)
}

// minLimits are what the engine's kernels and buffers need at least: the
// WebGPU defaults for workgroups and 8 storage buffers per stage.
var minLimits = gputypes.Limits{
	MaxStorageBuffersPerShaderStage:   5,
	MaxComputeInvocationsPerWorkgroup: 256,
	MaxComputeWorkgroupSizeX:          256,
	MaxComputeWorkgroupStorageSize:    16384,
	MaxStorageBufferBindingSize:       16 << 20,
	MaxBufferSize:                     16 << 20,
}

func checkLimits(l gputypes.Limits) error {
	for _, c := range []struct {
		name       string
		have, want uint64
	}{
		{"max storage buffers per stage", uint64(l.MaxStorageBuffersPerShaderStage), uint64(minLimits.MaxStorageBuffersPerShaderStage)},
		{"max invocations per workgroup", uint64(l.MaxComputeInvocationsPerWorkgroup), uint64(minLimits.MaxComputeInvocationsPerWorkgroup)},
		{"max workgroup size x", uint64(l.MaxComputeWorkgroupSizeX), uint64(minLimits.MaxComputeWorkgroupSizeX)},
		{"max workgroup storage", uint64(l.MaxComputeWorkgroupStorageSize), uint64(minLimits.MaxComputeWorkgroupStorageSize)},
		{"max storage binding size", l.MaxStorageBufferBindingSize, minLimits.MaxStorageBufferBindingSize},
		{"max buffer size", l.MaxBufferSize, minLimits.MaxBufferSize},
	} {
		if c.have < c.want {
			return fmt.Errorf("%s %d < %d", c.name, c.have, c.want)
		}
	}
	return nil
}

// Info is the adapter's report (backend, name, driver, device type).
func (d *Device) Info() gputypes.AdapterInfo { return d.info }

// Limits are the limits the device was opened with.
func (d *Device) Limits() gputypes.Limits { return d.limits }

// Close releases every pipeline, the device, the adapter and the instance.
// Plans built on the device must be closed first.
// Closing a lost device is allowed (and needed to free what is left).
func (d *Device) Close() {
	if d == nil || d.dev == nil {
		return
	}
	// Releasing objects of a lost device must not take the program down.
	defer func() { _ = recover() }()
	d.unwatch()
	d.markLost(errors.New("device closed"))
	d.mu.Lock()
	for _, k := range d.pipelines {
		k.release()
	}
	d.pipelines = nil
	d.mu.Unlock()
	d.dev.Release()
	d.adapter.Release()
	d.instance.Release()
	d.dev = nil
}
