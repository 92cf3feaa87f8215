//go:build js

package shaders

import (
	"github.com/gogpu/gputypes"
	"github.com/gogpu/wgpu"
)

// instanceDescriptor is ignored by the browser backend (it has one).
func instanceDescriptor() *wgpu.InstanceDescriptor { return nil }

// checkBackend accepts the browser's adapter: WebGPU is the only path there.
func checkBackend(gputypes.AdapterInfo) error { return nil }

// requiredLimits raises only the limits the engine benefits from to what
// the adapter offers; the browser backend sends only non-zero fields, and
// leaving the rest at the defaults keeps the request valid everywhere.
func requiredLimits(a gputypes.Limits) gputypes.Limits {
	return gputypes.Limits{
		MaxStorageBufferBindingSize:       a.MaxStorageBufferBindingSize,
		MaxBufferSize:                     a.MaxBufferSize,
		MaxComputeWorkgroupStorageSize:    a.MaxComputeWorkgroupStorageSize,
		MaxComputeInvocationsPerWorkgroup: a.MaxComputeInvocationsPerWorkgroup,
		MaxComputeWorkgroupSizeX:          a.MaxComputeWorkgroupSizeX,
		MaxStorageBuffersPerShaderStage:   a.MaxStorageBuffersPerShaderStage,
	}
}

// describe names the browser adapter. wgpu's browser backend reports a
// fixed name, so this says only that the page's WebGPU runs the engine.
func describe(gputypes.AdapterInfo) string { return "webgpu: browser" }
