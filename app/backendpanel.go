package app

import goapp "github.com/maxence-charriere/go-app/v10/pkg/app"

// BackendPanel shows the WebGPU adapter (or why there is none) and lets
// people choose between the GPU and the CPU engine.
type BackendPanel struct {
	goapp.Compo
	GPU       gpuInfo
	Probed    bool
	HasEngine bool // this build includes a GPU engine
	// CPUEngine names the CPU engine once built; CPUFallback says why it
	// is not the wasm SIMD one when that could not start.
	CPUEngine, CPUFallback string
	Backend                Backend // the chosen one
	Fallback               string  // why the last run fell back to the CPU, if it did
	// Choice says which engine runs and why (a software adapter's
	// measurement, or a choice by hand); ChoiceState is "pending",
	// "measuring", "auto" or "manual".
	Choice      string
	ChoiceState string
}

// Render draws the panel.
func (b *BackendPanel) Render() goapp.UI {
	gpuOK := b.GPU.Available && b.HasEngine
	return goapp.Section().Class("panel", "backend-panel").ID("backend").Aria("labelledby", "backend-h").Body(
		goapp.H2().ID("backend-h").Text("Backend"),
		goapp.Dl().Class("facts").Body(
			goapp.Dt().Text("WebGPU adapter"),
			goapp.Dd().ID("gpu-adapter").DataSet("available", yesNo(b.GPU.Available)).Text(b.adapterText()),
			goapp.Dt().Text("CPU engine"),
			goapp.Dd().ID("cpu-engine").Text(b.cpuText()),
		),
		goapp.If(b.CPUFallback != "", func() goapp.UI {
			return goapp.P().Class("notice").ID("cpu-fallback").Role("status").Text(b.CPUFallback)
		}),
		goapp.If(b.Probed && !b.GPU.Available, func() goapp.UI {
			return goapp.P().Class("notice").ID("cpu-notice").Role("status").Body(
				goapp.Strong().Text("WebGPU unavailable — running on the CPU, slower. "),
				goapp.Span().Class("muted").Text(b.GPU.Problem),
			)
		}),
		goapp.If(b.Probed && b.GPU.Available && !b.HasEngine, func() goapp.UI {
			return goapp.P().Class("notice").ID("cpu-notice").Role("status").Text(
				"This build has no GPU engine yet — running on the CPU, slower.")
		}),
		goapp.If(b.Choice != "", func() goapp.UI {
			return goapp.P().Class("choice-note").ID("engine-choice").Role("status").
				DataSet("state", b.ChoiceState).DataSet("backend", string(b.Backend)).Text(b.Choice)
		}),
		goapp.If(b.Fallback != "", func() goapp.UI {
			return goapp.P().Class("notice").ID("fallback-notice").Role("status").Text(b.Fallback)
		}),
		goapp.FieldSet().Class("toggle").Body(
			goapp.Legend().Text("Run on"),
			b.option(BackendGPU, "GPU (WebGPU)", !gpuOK),
			b.option(BackendCPU, "CPU (WebAssembly)", false),
		),
	)
}

// adapterText describes the adapter or the probe's state.
func (b *BackendPanel) adapterText() string {
	switch {
	case !b.Probed:
		return "checking…"
	case b.GPU.Available:
		return b.GPU.Label()
	}
	return "none"
}

// cpuText names the CPU engine, or says it is not built yet.
func (b *BackendPanel) cpuText() string {
	if b.CPUEngine == "" {
		return "starts with its first run"
	}
	return b.CPUEngine
}

// option is one radio button of the toggle.
func (b *BackendPanel) option(v Backend, label string, disabled bool) goapp.UI {
	id := "backend-" + string(v)
	return goapp.Label().For(id).Class("choice").Body(
		disabledIf(checkedIf(goapp.Input().Type("radio").Name("backend").ID(id).Value(string(v)), b.Backend == v), disabled).
			OnChange(func(ctx goapp.Context, e goapp.Event) { ctx.NewActionWithValue(actBackend, v) }),
		goapp.Span().Text(label),
	)
}
