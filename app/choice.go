package app

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
)

// A software WebGPU adapter (isFallbackAdapter: SwiftShader, WARP) runs
// shaders on the CPU and can be far slower than the CPU engine. On such an
// adapter the first image is answered by the engine predicted faster (a
// remembered measurement, or a one-layer probe of each), and the other
// engine is timed afterwards in the background; the faster one is kept
// and remembered in localStorage per adapter and model. One measurement
// serves every input size: both engines' times scale with the network's
// MACs, so the faster one stays the faster one. The GPU/CPU toggle
// overrides the choice, and the override is remembered the same way. On a
// hardware adapter the GPU is used without measuring.

// engineChoice is which engine runs images for one adapter and model, and
// what it is based on.
type engineChoice struct {
	Backend Backend `json:"backend"`
	GPUMs   float64 `json:"gpuMs,omitempty"` // one warm run on WebGPU, per image, at Size
	CPUMs   float64 `json:"cpuMs,omitempty"` // one warm run on the CPU engine, per image, at Size
	Size    int     `json:"size,omitempty"`  // the input side the timings were measured at
	Manual  bool    `json:"manual,omitempty"`
	Linked  bool    `json:"-"` // asked for by the page's address (?engine=), never remembered
}

// choiceKeyPrefix starts every localStorage key of a remembered choice; the
// version changes if the stored form does (v1 was per input size).
const choiceKeyPrefix = "residual/engine-choice/v2"

// choiceKey is the localStorage key of the choice for an adapter (as
// adapterKey names it) and a weight file.
func choiceKey(adapter, modelFile string) string {
	return choiceKeyPrefix + "|" + adapter + "|" + modelFile
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
func (c engineChoice) measured() bool { return c.GPUMs > 0 && c.CPUMs > 0 && c.Size > 0 }

// scaled is the choice with its timings scaled to another input size by
// the ratio of the network's MACs there and at the measured size (ratio
// gives MACs(size)/MACs(c.Size)); Size becomes size.
func (c engineChoice) scaled(size int, ratio float64) engineChoice {
	if !c.measured() || size == c.Size || ratio <= 0 {
		return c
	}
	c.GPUMs *= ratio
	c.CPUMs *= ratio
	c.Size = size
	return c
}

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
	if c.Size < 0 || (c.GPUMs > 0 || c.CPUMs > 0) && !c.measured() {
		return engineChoice{}, false // timings without the size they are for
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
// took 4.1 s per image against 9.8 s on WebGPU (measured at 224×224; …)".
// adapter is the adapter's short name; measuredAt the size the timings
// were taken at when they have been scaled to c.Size, else 0.
func (c engineChoice) message(adapter string, measuredAt int) string {
	if c.Backend == "" {
		return ""
	}
	mine, other := c.GPUMs, c.CPUMs
	if c.Backend == BackendCPU {
		mine, other = c.CPUMs, c.GPUMs
	}
	at := fmt.Sprintf("measured at %d×%d", c.Size, c.Size)
	if measuredAt > 0 && measuredAt != c.Size {
		at = fmt.Sprintf("measured at %d×%d, scaled to %d×%d by the network's MACs", measuredAt, measuredAt, c.Size, c.Size)
	}
	if c.Linked {
		return fmt.Sprintf("Using the %s engine, as the page's address asks (?engine=%s).", engineLabel(c.Backend), c.Backend)
	}
	if c.Manual {
		s := fmt.Sprintf("Using the %s engine, as you chose.", engineLabel(c.Backend))
		if c.measured() {
			s += fmt.Sprintf(" On this software adapter (%s): %s per image on the CPU, %s on WebGPU (%s).",
				adapter, formatSeconds(c.CPUMs), formatSeconds(c.GPUMs), at)
		}
		return s
	}
	return fmt.Sprintf("Using the %s engine: on this software adapter (%s) it took %s per image against %s on %s (%s; the toggle below overrides this).",
		engineLabel(c.Backend), adapter, formatSeconds(mine), formatSeconds(other), otherPlace(c.Backend), at)
}

// formatSeconds writes a duration for a sentence: "4.1 s", "850 ms".
func formatSeconds(ms float64) string {
	if ms < 1000 {
		return fmt.Sprintf("%.0f ms", ms)
	}
	return fmt.Sprintf("%.1f s", ms/1000)
}
