package app

import (
	"strings"

	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"
)

// Header is the page's banner: name, what it does, and where it runs.
type Header struct {
	goapp.Compo
	Engine string // the engine of the latest answer, or the chosen backend
}

// Render draws the banner.
func (h *Header) Render() goapp.UI {
	return goapp.Header().Class("banner").Body(
		goapp.Img().Class("logo").Src("/web/icon.svg").Aria("hidden", true).Width(48).Height(48),
		goapp.Div().Class("titles").Body(
			goapp.H1().Text("Residual"),
			goapp.P().Class("tagline").Text("ResNet image classification in your browser — Go, WebAssembly and WebGPU. Your images never leave this page."),
		),
		goapp.If(h.Engine != "", func() goapp.UI {
			return goapp.Span().Class("badge").ID("engine-badge").Text(h.Engine)
		}),
	)
}

// engineBadge names the engine in the banner, in one form throughout:
// the answer's engine as it names itself ("webgpu (google swiftshader)",
// "cpu"), or before any answer the chosen backend's engine named the same
// way; empty before the WebGPU probe.
func engineBadge(s *pageState) string {
	switch {
	case s.Shown.Engine != "":
		return s.Shown.Engine
	case s.Backend == BackendGPU && s.GPU.Available:
		// As shaders.Device names itself: vendor and architecture.
		name := strings.TrimSpace(s.GPU.Vendor + " " + s.GPU.Architecture)
		if name == "" {
			name = "browser"
		}
		return "webgpu (" + name + ")"
	case s.Backend != "":
		return BackendCPU.engineName()
	}
	return ""
}
