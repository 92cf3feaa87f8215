package app

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// A software WebGPU adapter (isFallbackAdapter: SwiftShader, WARP) runs
// shaders on the CPU and can be far slower than the CPU engine. On such an
// adapter the page times one warm run of each engine on the first image,
// keeps the faster one and remembers that in localStorage, per adapter,
// model and input size (the ratio changes with the size). The GPU/CPU
// toggle overrides the choice, and the override is remembered the same
// way. On a hardware adapter the GPU is used without measuring.

// engineChoice is which engine runs images for one adapter, model and input
// size, and what it is based on.
type engineChoice struct {
	Backend Backend `json:"backend"`
	GPUMs   float64 `json:"gpuMs,omitempty"` // one warm run on WebGPU, per image
	CPUMs   float64 `json:"cpuMs,omitempty"` // one warm run on the CPU engine, per image
	Manual  bool    `json:"manual,omitempty"`
	Linked  bool    `json:"-"` // asked for by the page's address (?engine=), never remembered
}

// choiceKeyPrefix starts every localStorage key of a remembered choice; the
// version changes if the stored form does.
const choiceKeyPrefix = "residual/engine-choice/v1"

// choiceKey is the localStorage key of the choice for an adapter (as
// adapterKey names it), a weight file and an input size.
func choiceKey(adapter, modelFile string, size int) string {
	return choiceKeyPrefix + "|" + adapter + "|" + modelFile + "|" + strconv.Itoa(size)
}

// adapterKey names an adapter for choiceKey: everything the browser says
// about it, so that another GPU (or a driver that reports differently)
// gets its own entry.
func adapterKey(g gpuInfo) string {
	parts := []string{g.Vendor, g.Architecture, g.Device, g.Description}
	if g.Fallback {
		parts = append(parts, "fallback")
	}
	return strings.Join(parts, "/")
}

// fasterBackend is the engine with the shorter time; the GPU on a tie,
// since it leaves the page's single thread free while it runs.
func fasterBackend(gpuMs, cpuMs float64) Backend {
	if cpuMs < gpuMs {
		return BackendCPU
	}
	return BackendGPU
}

// measured reports whether both engines were timed.
func (c engineChoice) measured() bool { return c.GPUMs > 0 && c.CPUMs > 0 }

// encode is the stored form.
func (c engineChoice) encode() string {
	b, _ := json.Marshal(c)
	return string(b)
}

// parseChoice reads a stored choice; anything malformed (an older format,
// a hand-edited value) reads as no choice, so the page measures again.
func parseChoice(s string) (engineChoice, bool) {
	var c engineChoice
	if s == "" || json.Unmarshal([]byte(s), &c) != nil {
		return engineChoice{}, false
	}
	if c.Backend != BackendGPU && c.Backend != BackendCPU {
		return engineChoice{}, false
	}
	for _, ms := range []float64{c.GPUMs, c.CPUMs} {
		if ms < 0 || math.IsNaN(ms) || math.IsInf(ms, 0) {
			return engineChoice{}, false
		}
	}
	if !c.Manual && !c.measured() {
		return engineChoice{}, false // an automatic choice always rests on timings
	}
	return c, true
}

// engineLabel names a backend's engine in a sentence.
func engineLabel(b Backend) string {
	if b == BackendCPU {
		return "CPU"
	}
	return "GPU"
}

// otherPlace says where the other engine runs, for "against 9.8 s on …".
func otherPlace(b Backend) string {
	if b == BackendCPU {
		return "WebGPU"
	}
	return "the CPU"
}

// message says which engine is used and why, for the backend panel:
// "Using the CPU engine: on this software adapter (google swiftshader) it
// took 4.1 s per image against 9.8 s on WebGPU." adapter is the adapter's
// short name; size the input side the timings are for.
func (c engineChoice) message(adapter string, size int) string {
	if c.Backend == "" {
		return ""
	}
	mine, other := c.GPUMs, c.CPUMs
	if c.Backend == BackendCPU {
		mine, other = c.CPUMs, c.GPUMs
	}
	if c.Linked {
		return fmt.Sprintf("Using the %s engine, as the page's address asks (?engine=%s).", engineLabel(c.Backend), c.Backend)
	}
	if c.Manual {
		s := fmt.Sprintf("Using the %s engine, as you chose.", engineLabel(c.Backend))
		if c.measured() {
			s += fmt.Sprintf(" Measured on this software adapter (%s) at %d×%d: %s per image on the CPU, %s on WebGPU.",
				adapter, size, size, formatSeconds(c.CPUMs), formatSeconds(c.GPUMs))
		}
		return s
	}
	return fmt.Sprintf("Using the %s engine: on this software adapter (%s) it took %s per image against %s on %s (measured at %d×%d; the toggle below overrides this).",
		engineLabel(c.Backend), adapter, formatSeconds(mine), formatSeconds(other), otherPlace(c.Backend), size, size)
}

// formatSeconds writes a duration for a sentence: "4.1 s", "850 ms".
func formatSeconds(ms float64) string {
	if ms < 1000 {
		return fmt.Sprintf("%.0f ms", ms)
	}
	return fmt.Sprintf("%.1f s", ms/1000)
}
