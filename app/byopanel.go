package app

import (
	"fmt"
	"strconv"
	"time"

	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/residual-webgpu/residual/internal/byo"
)

// The actions of the converted-models panel.
const (
	// actCheckpoint carries []fileHandle: files that hold a checkpoint
	// (a drop on the page, told apart from images by content).
	actCheckpoint = "residual/checkpoint"
	// actUseModel carries a string: the weight file to switch to ("" for
	// the built-in one).
	actUseModel = "residual/use-model"
)

// modelInputID is the model file input's element id.
const modelInputID = "model-input"

// ModelsPanel converts a visitor's own checkpoint in this tab and lists
// the converted models kept in this browser, to switch between them and
// the built-in one, or remove them. Nothing is uploaded: the conversion
// runs in a Web Worker (cmd/converter).
type ModelsPanel struct {
	goapp.Compo
	// Active is the page's weight file, Phase its loading phase;
	// Forgotten says its cached copy was removed ("Forget the cached
	// copy" of the model panel removes a converted model too).
	Active    string
	Phase     string
	Forgotten bool

	busy    bool
	step    int // the conversion step under way (byo.Steps)
	file    string
	err     string
	report  *byo.Report
	entries []byo.Stored
	listErr string
	// layersOpen: the per-layer table exists only once its disclosure is
	// opened (ResNet-152 has 156 rows, which would be built in the task
	// that switches the page to the new model).
	layersOpen bool
}

// OnMount lists what is kept and takes checkpoints dropped on the page.
func (p *ModelsPanel) OnMount(ctx goapp.Context) {
	ctx.Handle(actCheckpoint, func(ctx goapp.Context, a goapp.Action) {
		if fs, ok := a.Value.([]fileHandle); ok {
			p.take(ctx, fs)
		}
	})
	p.relist(ctx)
}

// OnUpdate lists again when the page's model changed or was forgotten.
func (p *ModelsPanel) OnUpdate(ctx goapp.Context) { p.relist(ctx) }

// relist reads the list of kept models again.
func (p *ModelsPanel) relist(ctx goapp.Context) {
	ctx.Async(func() {
		l, err := listStored()
		ctx.Dispatch(func(goapp.Context) {
			p.entries, p.listErr = l, ""
			if err != nil {
				p.listErr = err.Error()
			}
		})
	})
}

// onPick takes the files chosen in the model input.
func (p *ModelsPanel) onPick(ctx goapp.Context, e goapp.Event) {
	if fs := pickedFiles(modelInputID); len(fs) > 0 {
		p.take(ctx, fs)
	}
}

// take converts the checkpoint among fs (with the labels file beside it,
// if any), keeps it, and switches the page to it.
func (p *ModelsPanel) take(ctx goapp.Context, fs []fileHandle) {
	if p.busy {
		p.err = "A conversion is under way: wait for it to finish."
		return
	}
	p.busy, p.step, p.err, p.report, p.file, p.layersOpen = true, 0, "", nil, "", false
	ctx.Async(func() {
		names := make([]string, len(fs))
		kinds := make([]fileKind, len(fs))
		for i, h := range fs {
			names[i] = h.name
			head, err := readHead(h, sniffLen)
			if err != nil {
				p.fail(ctx, fmt.Errorf("%s: cannot read the file: %w", h.name, err))
				return
			}
			kinds[i] = sniffKind(h.name, head, h.size)
		}
		ci, li, err := modelFiles(names, kinds)
		if err != nil {
			p.fail(ctx, err)
			return
		}
		var labels *fileHandle
		if li >= 0 {
			labels = &fs[li]
		}
		ctx.Dispatch(func(goapp.Context) { p.file = fs[ci].name })
		rep, sm, err := convertInWorker(fs[ci], labels, func(i int) {
			ctx.Dispatch(func(goapp.Context) { p.step = i })
		})
		if err != nil {
			p.fail(ctx, err)
			return
		}
		ctx.Dispatch(func(ctx goapp.Context) {
			p.busy, p.report = false, &rep
			p.relist(ctx)
		})
		// The switch in a task of its own, after the report is drawn:
		// together they would hold the page's thread too long.
		pauseFor(20 * time.Millisecond)
		ctx.NewActionWithValue(actUseModel, modelChoice{File: sm.File, Name: sm.Name})
	})
}

// fail ends a conversion with a message (from any goroutine).
func (p *ModelsPanel) fail(ctx goapp.Context, err error) {
	ctx.Dispatch(func(goapp.Context) { p.busy, p.err = false, "Not converted: "+err.Error() })
}

// remove deletes a kept model; the page goes back to the built-in one
// when it was in use.
func (p *ModelsPanel) remove(file string) goapp.EventHandler {
	return func(ctx goapp.Context, e goapp.Event) {
		active := file == p.Active
		ctx.Async(func() {
			err := removeStored(file)
			ctx.Dispatch(func(ctx goapp.Context) {
				if err != nil {
					p.err = err.Error()
				}
				if active {
					ctx.NewActionWithValue(actUseModel, "")
				}
				p.relist(ctx)
			})
		})
	}
}

// use switches the page to a model.
func use(file, name string) goapp.EventHandler {
	return func(ctx goapp.Context, e goapp.Event) {
		ctx.NewActionWithValue(actUseModel, modelChoice{File: file, Name: name})
	}
}

// Render draws the panel.
func (p *ModelsPanel) Render() goapp.UI {
	return goapp.Section().Class("panel", "models-panel").ID("my-models").Aria("labelledby", "my-models-h").Body(
		goapp.H2().ID("my-models-h").Text("Your model"),
		goapp.P().ID("model-input-hint").Class("muted").Text(
			"Convert a torchvision ResNet checkpoint (.pth or .safetensors state dict: resnet18…152, ResNeXt or Wide ResNet, v1 or v1.5, any number of classes), "+
				"optionally with a labels file (.txt, one per line, or .json). It is quantized to int8 in this tab and kept in this browser; nothing is uploaded. You can also drop it on the page."),
		goapp.Div().Class("actions").Body(
			goapp.Input().Type("file").Name("model").ID(modelInputID).Class("visually-hidden").
				Multiple(true).Accept(".pth,.pt,.bin,.tar,.safetensors,.txt,.json").
				Aria("describedby", "model-input-hint").Disabled(p.busy).OnChange(p.onPick),
			goapp.Label().For(modelInputID).Class("button").Text("Choose a checkpoint…"),
		),
		goapp.If(p.busy, p.progress),
		goapp.If(p.err != "", func() goapp.UI {
			return goapp.P().Class("error").Role("alert").ID("convert-error").Text(p.err)
		}),
		goapp.If(p.report != nil, p.reportView),
		p.list(),
	)
}

// progress is the conversion's bar: one step of byo.Steps after another.
func (p *ModelsPanel) progress() goapp.UI {
	label := fmt.Sprintf("%s: step %d of %d, %s…", p.file, p.step+1, len(byo.Steps), byo.Steps[min(p.step, len(byo.Steps)-1)])
	if p.file == "" {
		label = "Looking at the files…"
	}
	return goapp.Div().Class("progress").Body(
		goapp.Progress().ID("convert-progress").Aria("labelledby", "convert-progress-label").
			Max(len(byo.Steps)).Value(p.step),
		goapp.P().ID("convert-progress-label").Class("muted").Aria("live", "polite").Text(label),
	)
}

// reportView is what the last conversion found and did.
func (p *ModelsPanel) reportView() goapp.UI {
	r := p.report
	return goapp.Div().ID("convert-report").Body(
		goapp.H3().Text("Converted "+r.File),
		goapp.Dl().Class("facts").Body(
			goapp.Dt().Text("Architecture"), goapp.Dd().ID("report-arch").Text(fmt.Sprintf("%s (%s blocks %v, %s)", r.Arch, r.Block, r.Layers, r.Variant)),
			goapp.Dt().Text("Classes"), goapp.Dd().ID("report-classes").Text(strconv.Itoa(r.Classes)),
			goapp.Dt().Text("Labels"), goapp.Dd().Text(r.LabelsFrom),
			goapp.Dt().Text("Parameters"), goapp.Dd().Text(formatCount(r.Params)),
			goapp.Dt().Text("Size"), goapp.Dd().ID("report-size").Text(fmt.Sprintf("%s checkpoint, %s as float32 → %s %s", formatBytes(r.SourceBytes), formatBytes(r.F32Bytes), formatBytes(r.OutBytes), r.Scheme)),
			goapp.Dt().Text("Weight error"), goapp.Dd().Text(fmt.Sprintf("max %.3g, mean %.3g", r.MaxErr, r.MeanErr)),
			goapp.Dt().Text("Time"), goapp.Dd().ID("report-time").DataSet("ms", strconv.FormatFloat(r.Ms, 'f', 0, 64)).Text(fmt.Sprintf("%.1f s in this tab", r.Ms/1000)),
		),
		goapp.Details().ID("report-layers-details").Open(p.layersOpen).OnToggle(func(ctx goapp.Context, e goapp.Event) {
			p.layersOpen = ctx.JSSrc().Get("open").Bool()
		}).Body(
			goapp.Summary().Text(fmt.Sprintf("Quantization error of each of the %d layers", len(r.PerLayer))),
			goapp.If(p.layersOpen, func() goapp.UI { return p.layerTable(r) }),
		),
	)
}

// layerTable is the report's per-layer table.
func (p *ModelsPanel) layerTable(r *byo.Report) goapp.UI {
	return goapp.Div().Class("table-scroll").Role("region").Aria("label", "Quantization error by layer").TabIndex(0).Body(
		goapp.Table().Class("block-table").ID("report-layers").Body(
			goapp.THead().Body(goapp.Tr().Body(
				goapp.Th().Scope("col").Text("Layer"), goapp.Th().Scope("col").Text("Parameters"),
				goapp.Th().Scope("col").Text("|error| max / mean"),
			)),
			goapp.TBody().Body(goapp.Range(r.PerLayer).Slice(func(i int) goapp.UI {
				l := r.PerLayer[i]
				return goapp.Tr().Body(
					goapp.Th().Scope("row").Text(l.Name),
					goapp.Td().Class("num").Title(formatBytes(int64(l.Bytes))+" stored").Text(formatCount(int64(l.Params))),
					goapp.Td().Class("num").Text(fmt.Sprintf("%.1e / %.1e", l.MaxErr, l.MeanErr)),
				)
			})),
		),
	)
}

// list shows the built-in model and the kept ones, each with a button to
// use it (and to remove a kept one).
func (p *ModelsPanel) list() goapp.UI {
	builtIn := !byo.IsStored(p.Active)
	loading := p.Phase == phaseDownloading || p.Phase == phaseDecoding
	return goapp.Div().Body(
		goapp.H3().ID("kept-h").Text("Models in this browser"),
		goapp.Ul().Class("kept-models").ID("kept-models").Aria("labelledby", "kept-h").Body(
			goapp.Li().DataSet("file", defaultModel).Body(
				goapp.Span().Text("Built-in ResNet-50 (ImageNet)"),
				modelButtons(defaultModel, "the built-in model", builtIn, loading, nil),
			),
			goapp.Range(p.entries).Slice(func(i int) goapp.UI {
				e := p.entries[i]
				label := fmt.Sprintf("%s: %s %s, %d classes, %s", e.Name, e.Arch, e.Variant, e.Classes, formatBytes(e.Bytes))
				return goapp.Li().DataSet("file", e.File).Body(
					goapp.Span().Text(label),
					modelButtons(e.File, e.Name, e.File == p.Active, loading, p.remove(e.File)),
				)
			}),
		),
		goapp.If(p.listErr != "", func() goapp.UI { return goapp.P().Class("error").Text(p.listErr) }),
	)
}

// modelButtons are a list entry's "Use" (or "in use") and "Remove".
func modelButtons(file, name string, active, loading bool, remove goapp.EventHandler) goapp.UI {
	return goapp.Span().Class("kept-actions").Body(
		goapp.If(active, func() goapp.UI {
			return goapp.Span().Class("muted", "in-use").Aria("current", "true").Text(" (in use)")
		}).Else(func() goapp.UI {
			return goapp.Button().Type("button").Class("link", "use-model").Aria("label", "Use "+name).
				Disabled(loading).OnClick(use(file, name)).Text("Use")
		}),
		goapp.If(remove != nil, func() goapp.UI {
			return goapp.Button().Type("button").Class("link", "remove-model").Aria("label", "Remove "+name).
				OnClick(remove).Text("Remove")
		}),
	)
}
