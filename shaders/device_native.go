//go:build !js

package shaders

import (
	"context"
	"fmt"

	"github.com/gogpu/gputypes"
	"github.com/gogpu/wgpu"

	// Registers the Vulkan HAL; without it wgpu has only its Software backend.
	_ "github.com/gogpu/wgpu/hal/vulkan"
)

// instanceDescriptor asks for Vulkan alone: wgpu's Software fallback
// silently computes wrong results for our kernels.
func instanceDescriptor() *wgpu.InstanceDescriptor {
	return &wgpu.InstanceDescriptor{Backends: gputypes.BackendsVulkan}
}

// checkBackend refuses anything but a Vulkan adapter.
func checkBackend(info gputypes.AdapterInfo) error {
	if info.Backend != gputypes.BackendVulkan {
		return fmt.Errorf("adapter %q uses backend %s, need Vulkan (is a Vulkan ICD such as mesa-vulkan-drivers installed?)", info.Name, info.Backend)
	}
	return nil
}

// requiredLimits asks natively for everything the adapter has: wgpu's
// native path takes the descriptor's limits verbatim, so a partial struct
// would zero the rest.
func requiredLimits(adapter gputypes.Limits) gputypes.Limits { return adapter }

// Name describes the device for people: "vulkan: " and the adapter's
// name (e.g. "vulkan: llvmpipe (LLVM 15.0.6, 256 bits)").
func (d *Device) Name() string { return "vulkan: " + d.info.Name }

// webDevice is empty natively: there is no JS object behind the device.
type webDevice struct{}

// watch does nothing natively: wgpu reports device loss as errors
// (wrapping wgpu.ErrDeviceLost) from the calls that meet it.
func (d *Device) watch() {}

// unwatch has nothing to undo natively.
func (d *Device) unwatch() {}

// scoped runs f: native wgpu validates synchronously and returns errors
// from the calls themselves, so no error scope is needed.
func (d *Device) scoped(f func() error) error { return f() }

// settleLost reports whether the device is lost; natively that is known
// as soon as a call has failed.
func (d *Device) settleLost() error { return d.Lost() }

// loseForTest makes the device unusable underneath the engine, as a
// driver reset would: wgpu's device is released, and the loss recorded as
// wgpu's own ErrDeviceLost would have it.
func (d *Device) loseForTest() {
	d.dev.Release()
	d.markLost(fmt.Errorf("simulated: %w", wgpu.ErrDeviceLost))
}

// requiredFeatures asks for no optional feature natively: gogpu/wgpu
// v0.34.5's ComputePassDescriptor has no timestamp writes (its core drops
// them), so timestamp queries would serve nothing.
func requiredFeatures(gputypes.Features) gputypes.Features { return 0 }

// submitTimed is not available natively (see requiredFeatures): the
// caller submits stage by stage instead.
func (d *Device) submitTimed(context.Context, []segment) ([]float64, bool, error) {
	return nil, false, nil
}

// askExtraFeatures asks for nothing natively: the features the engine
// uses there are in the device descriptor.
func askExtraFeatures() (undo func()) { return func() {} }
