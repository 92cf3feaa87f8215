package app

import (
	"regexp"

	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"
)

// Page is the whole app on screen. What it shows comes from its
// controller (controller.go), which owns the policy: download, probing,
// engine choice, measurement, fallback and runs. The page turns events and
// its children's actions into the controller's commands, and applies the
// controller's snapshot on go-app's UI goroutine (ctx.Dispatch) whenever
// the controller says it changed; Render only reads the snapshot.
type Page struct {
	goapp.Compo

	ctl      *controller
	st       pageState // the controller's state, as last applied
	dragging bool      // a drag of files is over the window
	revealed int       // the last input whose outcome was scrolled into view
	stop     func()
}

// NewPage returns the page in its starting state; nothing starts before
// it is mounted.
func NewPage() *Page {
	ctl := newController(browserDeps())
	return &Page{ctl: ctl, st: ctl.state()}
}

// modelNamePattern is what ?model= may name: a file in /web/models/.
var modelNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*\.safetensors$`)

// chooseModel returns the weight file a ?model= value names, or the
// default for an empty or unacceptable one.
func chooseModel(q string) string {
	if modelNamePattern.MatchString(q) && len(q) <= 128 {
		return q
	}
	return defaultModel
}

// OnMount starts the app: listeners for drops and pastes, the action
// handlers of the child components, then the controller (the WebGPU
// probe, the model load, a ?sample= run).
func (p *Page) OnMount(ctx goapp.Context) {
	p.ctl.attach(ctx.Async, func() {
		ctx.Dispatch(func(ctx goapp.Context) {
			p.st = p.ctl.state()
			p.reveal(ctx)
		})
	})
	p.stop = listenForFiles(
		func(fs []fileHandle) { ctx.Dispatch(func(ctx goapp.Context) { p.routeFiles(ctx, fs) }) },
		func(on bool) { ctx.Dispatch(func(goapp.Context) { p.dragging = on }) },
		func() { ctx.Dispatch(func(goapp.Context) { p.ctl.emptyDrop() }) },
	)
	ctx.Handle(actFiles, func(ctx goapp.Context, a goapp.Action) {
		if fs, ok := a.Value.([]fileHandle); ok {
			p.routeFiles(ctx, fs)
		}
	})
	ctx.Handle(actUseModel, func(ctx goapp.Context, a goapp.Action) {
		switch v := a.Value.(type) {
		case modelChoice:
			p.ctl.useModel(v.File, v.Name)
		case string:
			p.ctl.useModel(v, "")
		}
	})
	ctx.Handle(actSample, func(ctx goapp.Context, a goapp.Action) {
		if name, ok := a.Value.(string); ok {
			p.ctl.takeSample(name)
		}
	})
	ctx.Handle(actSize, func(ctx goapp.Context, a goapp.Action) {
		if n, ok := a.Value.(int); ok {
			p.ctl.setSize(n)
		}
	})
	ctx.Handle(actBackend, func(ctx goapp.Context, a goapp.Action) {
		if b, ok := a.Value.(Backend); ok {
			p.ctl.setBackend(b)
		}
	})
	ctx.Handle(actForget, func(ctx goapp.Context, a goapp.Action) { p.ctl.forget() })
	ctx.Handle(actRerun, func(ctx goapp.Context, a goapp.Action) { p.ctl.rerun() })
	ctx.Handle(actPasteFailed, func(ctx goapp.Context, a goapp.Action) {
		if err, ok := a.Value.(error); ok {
			p.ctl.pasteFailed(err)
		}
	})
	ctx.Handle(actProblem, func(ctx goapp.Context, a goapp.Action) {
		if s, ok := a.Value.(string); ok && s != "" {
			p.ctl.addProblem(s)
		} else {
			p.ctl.dismissProblems()
		}
	})
	p.ctl.start(queryParam("model"), queryParam("engine"), queryParam("sample"))
}

// reveal scrolls to the current input's outcome, once per input, after
// the render that shows it: its answer, or its messages when it brought
// none. On a phone both land below the fold of the input panel.
func (p *Page) reveal(ctx goapp.Context) {
	s := &p.st
	if s.Input == 0 || s.Input == p.revealed || s.Busy {
		return
	}
	switch {
	case len(s.Images) > 0 && len(s.Images[0].Top) > 0:
		p.revealed = s.Input
		ctx.Defer(func(goapp.Context) { revealAnswer() })
	case len(s.Images) == 0 && len(s.Problems) > 0:
		p.revealed = s.Input
		ctx.Defer(func(goapp.Context) { revealElement("messages") })
	}
}

// OnDismount removes the page-wide listeners.
func (p *Page) OnDismount() {
	if p.stop != nil {
		p.stop()
	}
}

// Render lays the page out from the state.
func (p *Page) Render() goapp.UI {
	cls := []string{"page"}
	if p.dragging {
		cls = append(cls, "dragging")
	}
	s := &p.st
	badge := engineBadge(s)
	return goapp.Div().Class(cls...).Body(
		goapp.A().Class("skip-link").Href("#results").Text("Skip to the predictions"),
		&Header{Engine: badge},
		&ExplorerSection{Backend: s.Backend},
		goapp.Main().Class("layout").Body(
			goapp.Div().Class("col-main").Body(
				goapp.Section().Class("panel", "input-panel").ID("input").Aria("labelledby", "input-h").Body(
					goapp.H2().ID("input-h").Text("Images"),
					&DropZone{Dragging: p.dragging, Busy: s.Busy},
					&Samples{},
					&SizeControl{Size: s.Size},
				),
				&Messages{Problems: s.Problems},
				&Predictions{
					Images: s.Images, Engine: s.Shown.Engine, Size: s.Shown.Size,
					Latency: s.Shown.Latency, PrepMs: s.Shown.PrepMs, FirstMs: s.FirstMs,
					Status: s.Status, Busy: s.Busy, Classes: s.Facts.Classes, HasList: len(s.Labels) > 0,
				},
				&CAMView{Images: s.CAMs, Size: s.Shown.Size},
			),
			goapp.Div().Class("col-side").Body(
				&ModelPanel{
					File: s.ModelFile, Name: s.ModelName, Phase: s.Phase, Loaded: s.Loaded, Total: s.Total,
					Cached: s.Cached, Err: s.ModelErr, Arch: s.Facts.Arch, Scheme: s.Facts.Scheme,
					Params: s.Facts.Params, Classes: s.Facts.Classes, Source: s.Facts.Source,
					Forgotten: s.Forgotten, Labels: s.Labels,
					Decoded: s.Decoded, Layers: s.Layers, GPUStep: s.GPUStep, GPUDone: s.GPUDone, GPUTotal: s.GPUTotal,
				},
				&ModelsPanel{Active: s.ModelFile, Phase: s.Phase, Forgotten: s.Forgotten},
				&BackendPanel{
					GPU: s.GPU, Probed: s.Probed, HasEngine: s.HasGPUEngine, CPUEngine: s.CPUEngine, CPUFallback: s.CPUFallback,
					Backend: s.Backend, Fallback: s.Fallback, Choice: s.Choice, ChoiceState: s.ChoiceState,
				},
			),
			goapp.Div().Class("col-wide").Body(
				&Inspector{
					Rows: s.Rows, Measured: s.Measured, Engine: s.Shown.Engine,
					Size: s.Size, Batch: s.Batch, Params: s.Params, MACs: s.MACs, Images: imageNames(s.Images),
				},
			),
		),
		goapp.Footer().Class("footer").Body(
			goapp.P().Text("Residual runs the network in this tab: images are never uploaded. Weights are cached in this browser after the first visit."),
		),
		goapp.Div().Class("drop-overlay").Aria("hidden", true).Body(
			goapp.P().Text("Drop images to classify them, or a checkpoint to convert it"),
		),
	)
}

// imageNames are the names of the shown images, in order.
func imageNames(vs []imageView) []string {
	names := make([]string, len(vs))
	for i, v := range vs {
		names[i] = v.Name
	}
	return names
}
