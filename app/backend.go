package app

import "strings"

// gpuInfo is what the browser says about its WebGPU adapter.
type gpuInfo struct {
	Available    bool
	Vendor       string
	Architecture string
	Device       string
	Description  string
	Fallback     bool   // a software adapter (SwiftShader)
	Problem      string // why WebGPU is unavailable
}

// Short names the adapter in a few words: "google swiftshader".
func (g gpuInfo) Short() string {
	s := strings.TrimSuffix(g.Label(), " (software fallback adapter)")
	return s
}

// Label names the adapter for people: "google swiftshader (fallback)".
func (g gpuInfo) Label() string {
	if !g.Available {
		return "unavailable"
	}
	parts := []string{}
	for _, s := range []string{g.Vendor, g.Architecture, g.Device} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	if len(parts) == 0 && g.Description != "" {
		parts = append(parts, g.Description)
	}
	if len(parts) == 0 {
		parts = append(parts, "unnamed adapter")
	}
	s := strings.Join(parts, " ")
	if g.Fallback {
		s += " (software fallback adapter)"
	}
	return s
}
