package app

import (
	"strconv"

	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"
)

// Phases of the weight file's loading.
const (
	phaseIdle        = ""
	phaseDownloading = "downloading"
	phaseDecoding    = "decoding"
	phaseReady       = "ready"
	phaseFailed      = "failed"
)

// ModelPanel shows the weight file: its download progress, then what it
// holds (architecture, quantization, size, parameters, classes).
type ModelPanel struct {
	goapp.Compo
	File    string
	Name    string // a converted model's checkpoint ("" for the built-in one)
	Phase   string
	Loaded  int64
	Total   int64
	Cached  bool
	Err     string
	Arch    string
	Scheme  string
	Params  string
	Classes int
	Source  string
	// Forgotten says the cached copy was removed during this visit: the
	// weights in memory still run, the next visit downloads them.
	Forgotten bool
	Labels    []string // the class names, for the list
	// Decoded of Layers weight layers are decoded (phaseDecoding).
	Decoded, Layers int
	// GPUStep is the GPU engine's preparation (gpuCompiling, gpuUploading,
	// gpuReady, gpuFailed, or "" when it has not started), GPUDone of
	// GPUTotal layers.
	GPUStep           string
	GPUDone, GPUTotal int
}

// Render draws the panel.
func (m *ModelPanel) Render() goapp.UI {
	return goapp.Section().Class("panel", "model-panel").ID("model").Aria("labelledby", "model-h").Body(
		goapp.H2().ID("model-h").Text("Model"),
		goapp.If(m.Name != "", func() goapp.UI {
			return goapp.P().Class("model-title").ID("model-title").Body(
				goapp.Strong().Text(m.Name),
				goapp.Span().Class("muted").Text(" · your checkpoint, converted in this browser"),
			)
		}),
		goapp.P().Class("model-name").Body(
			goapp.Code().ID("model-file").Text(m.File),
			goapp.If(m.Total > 0, func() goapp.UI {
				return goapp.Span().Class("muted").ID("model-size").Text(" · " + formatBytes(m.Total))
			}),
		),
		m.progress(),
		goapp.If(m.GPUStep != "", m.gpuProgress),
		goapp.If(m.Phase == phaseReady, m.facts),
		goapp.If(m.Err != "", func() goapp.UI {
			return goapp.P().Class("error").Role("alert").ID("model-error").Text(m.Err)
		}),
	)
}

// progress is the download bar and its text.
func (m *ModelPanel) progress() goapp.UI {
	var label string
	switch m.Phase {
	case phaseIdle:
		label = "Waiting for the app to start…"
	case phaseDownloading:
		label = downloadText(m.Loaded, m.Total, m.Cached)
	case phaseDecoding:
		label = decodeText(m.Decoded, m.Layers)
	case phaseReady:
		if m.Forgotten {
			label = "Not cached any more: this visit keeps the weights in memory; the next one downloads them again"
		} else if m.Cached {
			label = "Loaded from this browser's cache (no download)"
		} else {
			label = "Downloaded " + formatBytes(m.Total) + " and cached for next time"
		}
	case phaseFailed:
		label = "Could not load the model"
	}
	bar := goapp.Progress().ID("model-progress").Aria("labelledby", "model-progress-label")
	switch {
	case m.Phase == phaseReady:
		bar = bar.Max(1).Value(1)
	case m.Phase == phaseDecoding && m.Layers > 0:
		bar = bar.Max(m.Layers).Value(m.Decoded)
	case m.Phase == phaseDecoding:
		// Indeterminate until the first layer is counted.
	case m.Total > 0:
		bar = bar.Max(m.Total).Value(m.Loaded)
	}
	return goapp.Div().Class("progress").Body(
		bar,
		goapp.P().ID("model-progress-label").Class("muted").
			DataSet("phase", m.Phase).DataSet("cached", yesNo(m.Cached)).
			Aria("live", "polite").Text(label),
	)
}

// gpuProgress is the GPU engine's preparation, with its own bar.
func (m *ModelPanel) gpuProgress() goapp.UI {
	bar := goapp.Progress().ID("gpu-prep").Aria("labelledby", "gpu-prep-label")
	switch {
	case m.GPUStep == gpuReady:
		bar = bar.Max(1).Value(1)
	case m.GPUTotal > 0:
		bar = bar.Max(m.GPUTotal).Value(m.GPUDone)
	}
	return goapp.Div().Class("progress", "gpu-prep").Body(
		bar,
		goapp.P().ID("gpu-prep-label").Class("muted").DataSet("step", m.GPUStep).
			Aria("live", "polite").Text(gpuStepText(m.GPUStep, m.GPUDone, m.GPUTotal)),
	)
}

// facts lists what the loaded weight file holds.
func (m *ModelPanel) facts() goapp.UI {
	return goapp.Div().Body(
		goapp.Dl().Class("facts").Body(
			goapp.Dt().Text("Network"), goapp.Dd().ID("model-arch").Text(m.Arch),
			goapp.Dt().Text("Weights"), goapp.Dd().ID("model-scheme").Text(m.Scheme),
			goapp.Dt().Text("Parameters"), goapp.Dd().Text(m.Params),
			goapp.Dt().Text("Classes"), goapp.Dd().Text(strconv.Itoa(m.Classes)),
			goapp.If(m.Source != "", func() goapp.UI {
				return goapp.Dt().Text("Source")
			}),
			goapp.If(m.Source != "", func() goapp.UI {
				return goapp.Dd().Class("source").Text(m.Source)
			}),
		),
		&ClassList{Labels: m.Labels},
		goapp.If(!m.Forgotten, func() goapp.UI {
			return goapp.Button().Type("button").Class("link").ID("forget-model").
				Text("Forget the cached copy").
				Title("Remove the weights from this browser's cache; the next visit downloads them again").
				OnClick(func(ctx goapp.Context, e goapp.Event) { ctx.NewAction(actForget) })
		}),
	)
}
