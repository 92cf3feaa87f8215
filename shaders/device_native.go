//go:build !js

package shaders

import (
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

func describe(info gputypes.AdapterInfo) string { return "vulkan: " + info.Name }
