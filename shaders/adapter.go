package shaders

import (
	"strings"

	"github.com/gogpu/gputypes"
)

// adapterClass groups adapters whose best kernel shapes were measured to
// be alike. The engine runs on any WebGPU adapter; the class only picks
// tiles (chooseTile).
type adapterClass int

const (
	// classLavapipe is Mesa's llvmpipe Vulkan driver and other CPU
	// drivers: 8-wide SIMD lanes, storage loads cost far more than math.
	classLavapipe adapterClass = iota
	// classSwiftShader is Chrome's software adapter (also a Vulkan ICD):
	// 4-wide lanes, every runtime-indexed load is a per-lane gather, so
	// the largest register tiles win.
	classSwiftShader
	// classGPU is a real GPU: many threads hide latency, tiles stay small
	// so that enough workgroups are resident.
	classGPU
)

func (c adapterClass) String() string {
	switch c {
	case classLavapipe:
		return "lavapipe"
	case classSwiftShader:
		return "swiftshader"
	}
	return "gpu"
}

// classOf tells the adapter class from a native adapter's report.
func classOf(info gputypes.AdapterInfo) adapterClass {
	name := strings.ToLower(info.Name)
	switch {
	case strings.Contains(name, "swiftshader"):
		return classSwiftShader
	case strings.Contains(name, "llvmpipe"), strings.Contains(name, "lavapipe"), info.DeviceType == gputypes.DeviceTypeCPU:
		return classLavapipe
	}
	return classGPU
}
