package app

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/residual-webgpu/residual/model"
)

// Explorer is the architecture explorer: without any weights, a person
// picks one of torchvision's nine ResNets and its stride variant, the
// number of classes, the input size and the batch, and sees every stage
// and block with its output shape, parameters and MACs (ExplorerTable,
// from model.Net.Program) and a drawing of its block (BlockDiagram). A
// second architecture can be put beside the first, the rows where they
// differ highlighted. "Run with random weights" builds the architecture
// with generated weights and runs it on the page's kind of engine
// (Backend), showing each stage's time.
//
// It is mounted only when opened (ExplorerSection): nothing here is
// computed during the classifier's first minute.
type Explorer struct {
	goapp.Compo
	// Backend is the page's engine choice: runs use the same kind.
	Backend Backend

	choices [2]exChoice
	compare bool
	shape   exShape
	plans   []exPlan // choices[0], and choices[1] when comparing
	lines   []exLine
	confirm bool // "run it anyway" for a heavy architecture
	run     exRunState
	runner  *exRunner
	cancel  context.CancelFunc
}

// exRunState is what the explorer's random-weight runs have done.
type exRunState struct {
	Busy   bool
	Status string
	Err    string
	Times  map[string]exTimes // by exPlan.key
}

// OnInit starts with ResNet-50 (v1.5, torchvision's) at 224, beside
// ResNet-18 once compared.
func (e *Explorer) OnInit() {
	e.choices = [2]exChoice{{Name: "resnet50", Variant: model.V15}, {Name: "resnet18", Variant: model.V15}}
	e.shape = exShape{Classes: 1000, Batch: exDefaultBS, Size: exDefaultSize}
	e.run.Times = map[string]exTimes{}
	e.replan()
}

// OnDismount stops a run under way and releases the engines.
func (e *Explorer) OnDismount() {
	if e.cancel != nil {
		e.cancel()
	}
	if e.runner != nil {
		e.runner.stop()
	}
}

// replan lays the chosen architectures out again (microseconds: the
// Program of ResNet-152 is a few hundred ops).
func (e *Explorer) replan() {
	e.plans = []exPlan{planArch(e.choices[0], e.shape)}
	if e.compare {
		e.plans = append(e.plans, planArch(e.choices[1], e.shape))
	}
	e.lines = mergeRows(e.plans)
	e.confirm = false
}

// Render draws the controls, the drawings and the table.
func (e *Explorer) Render() goapp.UI {
	var errs []string
	var times []*exTimes
	for _, p := range e.plans {
		if p.Err != "" {
			errs = append(errs, p.Err)
		}
		var t *exTimes
		if tt, ok := e.run.Times[p.key()]; ok {
			t = &tt
		}
		times = append(times, t)
	}
	return goapp.Div().Class("panel", "explorer").ID("explorer").Body(
		goapp.H2().ID("explorer-h").Text("Architecture explorer"),
		goapp.P().Class("muted").Text("Every torchvision ResNet as its stage table — output shapes, parameters and multiply-accumulates, from the same description the engines run — no weights needed."),
		goapp.Div().Class("ex-controls").Body(
			e.archFieldset(0),
			goapp.Div().Class("ex-compare").Body(
				checkedIf(goapp.Input().Type("checkbox").ID("ex-compare"), e.compare).OnChange(e.onCompare),
				goapp.Label().For("ex-compare").Text("Compare with a second architecture"),
			),
			goapp.If(e.compare, func() goapp.UI { return e.archFieldset(1) }),
			goapp.FieldSet().Class("ex-fieldset").Body(
				goapp.Legend().Text("Input and head"),
				numberField("ex-classes", "Classes", e.shape.Classes, 1, exMaxClasses, e.onNumber(&e.shape.Classes)),
				numberField("ex-size", "Input size (pixels)", e.shape.Size, exMinSize, exMaxSize, e.onNumber(&e.shape.Size)),
				numberField("ex-batch", "Batch", e.shape.Batch, 1, exMaxBatch, e.onNumber(&e.shape.Batch)),
			),
		),
		goapp.If(len(errs) > 0, func() goapp.UI {
			return goapp.Div().Class("notice", "ex-error").ID("ex-error").Role("alert").Body(
				goapp.Range(errs).Slice(func(i int) goapp.UI { return goapp.P().Text(errs[i]) }),
			)
		}),
		goapp.If(len(errs) == 0, func() goapp.UI {
			return goapp.Div().Body(
				goapp.Div().Class("ex-diagrams").Body(
					goapp.Range(e.plans).Slice(func(i int) goapp.UI {
						return &BlockDiagram{Prefix: fmt.Sprintf("ex-diagram-%d", i), Title: e.plans[i].Choice.Title(), Net: e.plans[i].Net}
					}),
				),
				e.runPanel(times),
				&ExplorerTable{Plans: e.plans, Lines: e.lines, Times: times},
			)
		}),
	)
}

// archFieldset is the choice of architecture i (0: the first, 1: the one
// compared).
func (e *Explorer) archFieldset(i int) goapp.UI {
	c := e.choices[i]
	legend := "Architecture"
	if i == 1 {
		legend = "Compared with"
	}
	id := fmt.Sprintf("ex-arch-%d", i)
	vid := fmt.Sprintf("ex-variant-%d", i)
	names := model.TorchvisionNames()
	variants := []model.Variant{model.V15, model.V1}
	return goapp.FieldSet().Class("ex-fieldset").ID(fmt.Sprintf("ex-choice-%d", i)).Body(
		goapp.Legend().Text(legend),
		goapp.Div().Class("ex-field").Body(
			goapp.Label().For(id).Text("Network"),
			goapp.Select().ID(id).OnChange(e.onArch(i)).Body(
				goapp.Range(names).Slice(func(j int) goapp.UI {
					return selectedIf(goapp.Option().Value(names[j]).Text(names[j]), names[j] == c.Name)
				}),
			),
		),
		goapp.Div().Class("ex-field").Body(
			goapp.Label().For(vid).Text("Stride variant"),
			goapp.Select().ID(vid).OnChange(e.onVariant(i)).Body(
				goapp.Range(variants).Slice(func(j int) goapp.UI {
					v := variants[j]
					text := "v1.5 (torchvision: stride on the 3×3)"
					if v == model.V1 {
						text = "v1 (the paper: stride on the first 1×1)"
					}
					return selectedIf(goapp.Option().Value(string(v)).Text(text), v == c.Variant)
				}),
			),
		),
	)
}

// runPanel is the "run with random weights" button, what a run would
// cost when that is much, and what the runs did.
func (e *Explorer) runPanel(times []*exTimes) goapp.UI {
	var heavy, refuse []string
	for _, p := range e.plans {
		if s := p.tooBig(); s != "" {
			refuse = append(refuse, s)
		} else if s := p.heavy(); s != "" {
			heavy = append(heavy, s)
		}
	}
	blocked := e.run.Busy || len(refuse) > 0 || (len(heavy) > 0 && !e.confirm)
	engine := "the CPU engine"
	if e.Backend == BackendGPU {
		engine = "the WebGPU engine"
	}
	var notes []string
	for _, t := range times {
		if t != nil && t.Note != "" {
			notes = append(notes, t.Note)
		}
	}
	return goapp.Div().Class("ex-run").ID("ex-run").Body(
		goapp.P().Class("ex-run-hint").Text(fmt.Sprintf("Runs on %s, as the classifier does, with generated weights (He-uniform, seed %d, int8): the times are real, the predictions meaningless.", engine, exSeed)),
		goapp.Range(refuse).Slice(func(i int) goapp.UI { return goapp.P().Class("notice").Text(refuse[i]) }),
		goapp.If(len(heavy) > 0 && len(refuse) == 0, func() goapp.UI {
			return goapp.Div().Class("notice", "ex-heavy").ID("ex-heavy").Body(
				goapp.Range(heavy).Slice(func(i int) goapp.UI { return goapp.P().Text(heavy[i]) }),
				goapp.Div().Class("ex-compare").Body(
					checkedIf(goapp.Input().Type("checkbox").ID("ex-confirm"), e.confirm).OnChange(e.onConfirm),
					goapp.Label().For("ex-confirm").Text("Run it anyway: it may take minutes and hundreds of MB"),
				),
			)
		}),
		buttonDisabledIf(goapp.Button().Type("button").Class("button", "primary").ID("ex-run-button").Text("Run with random weights"), blocked).
			OnClick(e.onRun),
		goapp.P().Class("status").ID("ex-status").Aria("live", "polite").DataSet("busy", yesNo(e.run.Busy)).Body(
			goapp.If(e.run.Busy, func() goapp.UI { return goapp.Span().Class("spinner").Aria("hidden", true) }),
			goapp.Text(e.run.Status),
		),
		goapp.If(e.run.Err != "", func() goapp.UI { return goapp.P().Class("error").ID("ex-run-error").Role("alert").Text(e.run.Err) }),
		goapp.Range(notes).Slice(func(i int) goapp.UI { return goapp.P().Class("notice").Text(notes[i]) }),
	)
}

// numberField is a labelled number input.
func numberField(id, label string, v, lo, hi int, h goapp.EventHandler) goapp.UI {
	return goapp.Div().Class("ex-field").Body(
		goapp.Label().For(id).Text(label),
		goapp.Input().Type("number").ID(id).Min(lo).Max(hi).Step(1).Value(strconv.Itoa(v)).OnChange(h),
	)
}

// selectedIf marks an option selected when on (see attrs.go for why not
// Selected(false)).
func selectedIf(o goapp.HTMLOption, on bool) goapp.HTMLOption {
	if on {
		return o.Selected(true)
	}
	return o
}

// buttonDisabledIf disables a button when on.
func buttonDisabledIf(b goapp.HTMLButton, on bool) goapp.HTMLButton {
	if on {
		return b.Disabled(true)
	}
	return b
}

func (e *Explorer) onArch(i int) goapp.EventHandler {
	return func(ctx goapp.Context, ev goapp.Event) {
		e.choices[i].Name = ctx.JSSrc().Get("value").String()
		e.replan()
	}
}

func (e *Explorer) onVariant(i int) goapp.EventHandler {
	return func(ctx goapp.Context, ev goapp.Event) {
		e.choices[i].Variant = model.Variant(ctx.JSSrc().Get("value").String())
		e.replan()
	}
}

func (e *Explorer) onCompare(ctx goapp.Context, ev goapp.Event) {
	e.compare = ctx.JSSrc().Get("checked").Bool()
	e.replan()
}

func (e *Explorer) onConfirm(ctx goapp.Context, ev goapp.Event) {
	e.confirm = ctx.JSSrc().Get("checked").Bool()
}

// onNumber sets *field from a number input; a value that is not a number
// becomes 0, which planArch reports as out of range.
func (e *Explorer) onNumber(field *int) goapp.EventHandler {
	return func(ctx goapp.Context, ev goapp.Event) {
		n, err := strconv.Atoi(strings.TrimSpace(ctx.JSSrc().Get("value").String()))
		if err != nil {
			n = 0
		}
		*field = n
		e.replan()
	}
}

// onRun runs every architecture shown, one after the other, in the
// background; the tables keep each run's times under its plan.
func (e *Explorer) onRun(ctx goapp.Context, ev goapp.Event) {
	if e.run.Busy || len(e.plans) == 0 {
		return
	}
	if e.runner == nil {
		e.runner = newExRunner()
	}
	plans := append([]exPlan(nil), e.plans...)
	backend := e.Backend
	if backend == "" {
		backend = BackendCPU
	}
	runner := e.runner
	runCtx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	e.run.Busy, e.run.Err, e.run.Status = true, "", "Starting…"
	ctx.Async(func() {
		defer cancel()
		say := func(s string) { ctx.Dispatch(func(goapp.Context) { e.run.Status = s }) }
		var done []string
		for _, p := range plans {
			t, err := runner.run(runCtx, backend, p, say)
			if err != nil {
				ctx.Dispatch(func(goapp.Context) {
					e.run.Busy, e.run.Status, e.run.Err = false, "The run failed.", err.Error()
				})
				return
			}
			done = append(done, fmt.Sprintf("%s in %s (its weights and engine took %.1f s)", p.Choice.Title(), formatMs(t.RunMs), t.BuildMs/1000))
			ctx.Dispatch(func(goapp.Context) { e.run.Times[t.Key] = t })
		}
		ctx.Dispatch(func(goapp.Context) {
			e.run.Busy = false
			e.run.Status = "Ran " + strings.Join(done, ", ") + " (batch of " + strconv.Itoa(plans[0].Shape.Batch) + " at " +
				strconv.Itoa(plans[0].Shape.Size) + "×" + strconv.Itoa(plans[0].Shape.Size) + "). Each stage's time is in the table."
		})
	})
}
