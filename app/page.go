package app

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/safetensors"
	"github.com/residual-webgpu/residual/model/weights"
)

// Page is the whole app: it owns the state (model, backend, images,
// answer) and hands each child component what it shows. Work that waits
// (downloads, reading files, inference) runs in ctx.Async goroutines and
// writes back through ctx.Dispatch; Render only reads the struct.
type Page struct {
	goapp.Compo

	// The weight file.
	modelFile  string
	phase      string
	loaded     int64
	total      int64
	cached     bool
	modelErr   string
	mdl        *weights.Model
	facts      modelFacts
	loadedOnce bool

	// The backend.
	gpu      gpuInfo
	probed   bool
	backend  Backend
	fallback string
	engines  *engineSet

	// The engine choice on this adapter (choice.go).
	choice    engineChoice  // the one in force for the current size; no Backend when none applies
	measure   bool          // the next run times both engines (software adapter, nothing remembered)
	measuring bool          // such a run is under way
	settings  settingsStore // where choices are remembered
	linked    Backend       // the engine ?engine= asks for, until the toggle is used

	// The input.
	size     int
	files    []inputFile
	goodN    int // images that made it into the last batch (plans use it)
	problems []string
	dragging bool

	// The answer.
	busy     bool
	again    bool
	status   string
	images   []imageView
	shown    shownRun
	firstMs  float64
	rows     []stageRow
	measured bool
	lat      latencyBook
	warmed   bool // the GPU engine's warm-up has started

	// The weight file's header, decoded while the rest downloads, and
	// whether the GPU pipelines are being compiled from it meanwhile.
	head        *weights.Model
	precompiled bool

	stop func()
}

// modelFacts is what the model panel says about a loaded weight file.
type modelFacts struct {
	Arch, Scheme, Params, Source string
	Classes                      int
}

// shownRun describes the run whose answer is on screen.
type shownRun struct {
	Engine  string
	Size    int
	Batch   int
	Latency latency
	PrepMs  float64
}

// NewPage returns the page in its starting state.
func NewPage() *Page {
	return &Page{
		modelFile: defaultModel,
		size:      defaultSize,
		lat:       latencyBook{},
		engines:   newEngineSet(),
		settings:  newSettings(),
		status:    "Drop, paste or choose an image, or try a sample.",
	}
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

// modelURL is where the page fetches the weight file.
func (p *Page) modelURL() string { return "/web/models/" + p.modelFile }

// OnMount starts the app: listeners for drops and pastes, the action
// handlers of the child components, the WebGPU probe and the model load.
func (p *Page) OnMount(ctx goapp.Context) {
	p.modelFile = chooseModel(queryParam("model"))
	if b := Backend(queryParam("engine")); b == BackendGPU || b == BackendCPU {
		p.linked = b
	}
	p.stop = listenForFiles(
		func(fs []fileHandle) { ctx.Dispatch(func(ctx goapp.Context) { p.takeFiles(ctx, fs) }) },
		func(on bool) { ctx.Dispatch(func(goapp.Context) { p.dragging = on }) },
		func() {
			ctx.Dispatch(func(goapp.Context) {
				p.problems = []string{"The drop held no files: drop image files (JPEG, PNG, GIF, BMP or WebP)."}
			})
		},
	)
	ctx.Handle(actFiles, func(ctx goapp.Context, a goapp.Action) {
		if fs, ok := a.Value.([]fileHandle); ok {
			p.takeFiles(ctx, fs)
		}
	})
	ctx.Handle(actSample, func(ctx goapp.Context, a goapp.Action) {
		if name, ok := a.Value.(string); ok {
			p.takeSample(ctx, name)
		}
	})
	ctx.Handle(actSize, func(ctx goapp.Context, a goapp.Action) {
		if n, ok := a.Value.(int); ok {
			p.setSize(ctx, n)
		}
	})
	ctx.Handle(actBackend, func(ctx goapp.Context, a goapp.Action) {
		if b, ok := a.Value.(Backend); ok {
			p.setBackend(ctx, b)
		}
	})
	ctx.Handle(actForget, func(ctx goapp.Context, a goapp.Action) { p.forget(ctx) })
	ctx.Handle(actRerun, func(ctx goapp.Context, a goapp.Action) { p.schedule(ctx) })
	ctx.Handle(actProblem, func(ctx goapp.Context, a goapp.Action) {
		if s, ok := a.Value.(string); ok && s != "" {
			p.problems = append(p.problems, s)
		} else {
			p.problems = nil
		}
	})
	p.phase = phaseDownloading
	ctx.Async(func() { p.probe(ctx) })
	url, file := p.modelURL(), p.modelFile
	ctx.Async(func() { p.loadModel(ctx, url, file) })
	// ?sample=chelsea.jpg runs a sample photo as soon as the page can: a
	// link that shows an answer, and a clean page load → first top-5
	// measurement (no waiting for a person to pick an image).
	if name := queryParam("sample"); name != "" {
		p.takeSample(ctx, name)
	}
}

// OnDismount removes the page-wide listeners.
func (p *Page) OnDismount() {
	if p.stop != nil {
		p.stop()
	}
}

// probe asks for a WebGPU adapter and picks the starting backend.
func (p *Page) probe(ctx goapp.Context) {
	g := probeWebGPU()
	ctx.Dispatch(func(ctx goapp.Context) {
		p.gpu, p.probed = g, true
		if p.backend == "" {
			p.backend = BackendCPU
			if p.gpuUsable() {
				p.backend = BackendGPU
				p.applyChoice()
			}
		}
		p.precompile(ctx)
		p.warmUp(ctx)
		p.schedule(ctx)
	})
}

// gpuUsable reports whether the GPU engine can be chosen: the browser has
// a WebGPU adapter and this build has the engine.
func (p *Page) gpuUsable() bool { return p.gpu.Available && newGPUEngine != nil }

// choiceKey is where the engine choice for the current adapter, model and
// size is remembered.
func (p *Page) choiceKey(size int) string { return choiceKey(adapterKey(p.gpu), p.modelFile, size) }

// applyChoice sets the backend for the current size: the one the page's
// address asks for (?engine=), else what is remembered for this adapter
// and model. With nothing remembered: a choice made by hand at another
// size carries over; on a software adapter the next run measures both
// engines; on a hardware adapter the GPU runs.
func (p *Page) applyChoice() {
	p.measure = false
	if !p.gpuUsable() {
		return
	}
	if p.linked != "" {
		p.choice, p.backend = engineChoice{Backend: p.linked, Manual: true, Linked: true}, p.linked
		return
	}
	key := p.choiceKey(p.size)
	if c, ok := parseChoice(p.settings.get(key)); ok {
		p.choice, p.backend = c, c.Backend
		return
	}
	switch {
	case p.choice.Manual:
		p.choice = engineChoice{Backend: p.backend, Manual: true}
		p.settings.set(key, p.choice.encode())
	case p.gpu.Fallback:
		// The backend stays as it is (the GPU at start) until measured.
		p.choice, p.measure = engineChoice{}, true
	default:
		p.choice, p.backend = engineChoice{}, BackendGPU
	}
}

// choiceNote is what the backend panel says about the engine choice, and
// its state for tests and styles ("pending", "measuring", "auto",
// "manual"); empty where no choice applies (no WebGPU).
func (p *Page) choiceNote() (text, state string) {
	switch {
	case !p.probed || !p.gpuUsable():
		return "", ""
	case p.measuring:
		return fmt.Sprintf("Measuring GPU vs CPU on this software adapter (%s)…", p.gpu.Short()), "measuring"
	case p.measure:
		return fmt.Sprintf("This is a software adapter (%s), which can be slower than the CPU: the first image runs once on each engine to pick the faster one.", p.gpu.Short()), "pending"
	case p.choice.Backend == "":
		return "", ""
	case p.choice.Linked:
		return p.choice.message(p.gpu.Short(), p.size), "link"
	case p.choice.Manual:
		return p.choice.message(p.gpu.Short(), p.size), "manual"
	}
	return p.choice.message(p.gpu.Short(), p.size), "auto"
}

// loadModel fetches (or reads from Cache Storage) and decodes the weight
// file. A cached copy that no longer decodes is dropped and downloaded
// again, once.
func (p *Page) loadModel(ctx goapp.Context, url, file string) {
	var last time.Time
	headRead := false
	progress := func(data []byte, total int64, cached bool) {
		if !headRead {
			// The header is in: the GPU can compile while the rest downloads.
			head, err := weights.DecodeHeader(file, data)
			if headRead = !errors.Is(err, safetensors.ErrShortPrefix); err == nil {
				ctx.Dispatch(func(ctx goapp.Context) { p.head = head; p.precompile(ctx) })
			}
		}
		loaded := int64(len(data))
		// One update per 100 ms: each is a render.
		if now := time.Now(); now.Sub(last) >= 100*time.Millisecond || loaded == total {
			last = now
			ctx.Dispatch(func(goapp.Context) { p.loaded, p.total, p.cached = loaded, total, cached })
		}
	}
	var m *weights.Model
	var cached bool
	for attempt := 0; ; attempt++ {
		data, c, err := loadModelBytes(url, progress)
		if err != nil {
			ctx.Dispatch(func(goapp.Context) { p.phase, p.modelErr = phaseFailed, err.Error() })
			return
		}
		n := int64(len(data))
		ctx.Dispatch(func(goapp.Context) { p.phase, p.loaded, p.total, p.cached = phaseDecoding, n, n, c })
		time.Sleep(20 * time.Millisecond) // let the page paint before decoding
		m, err = weights.Decode(file, data)
		if err == nil {
			cached = c
			break
		}
		if !c || attempt > 0 {
			ctx.Dispatch(func(goapp.Context) { p.phase, p.modelErr = phaseFailed, err.Error() })
			return
		}
		forgetModel(url)
	}
	facts := factsOf(m)
	ctx.Dispatch(func(ctx goapp.Context) {
		p.mdl, p.facts, p.cached, p.phase = m, facts, cached, phaseReady
		p.replan()
		p.warmUp(ctx)
		p.schedule(ctx)
	})
}

// precompile compiles the GPU pipelines for the current size from the
// weight file's header while the weights download, once the header and
// the adapter are known and the GPU is the backend; the model's GPU
// engine then starts on that device. On a software adapter compiling takes
// seconds, so this is most of what a first run would otherwise wait for.
func (p *Page) precompile(ctx goapp.Context) {
	if p.precompiled || p.head == nil || !p.probed || p.backend != BackendGPU || precompileGPU == nil {
		return
	}
	p.precompiled = true
	head, size := p.head, p.size
	ctx.Async(func() { precompileGPU(head, size) })
}

// warmUp builds the GPU engine for the current size in the background
// once the model and the adapter are known, so that the first image does
// not wait for shader compilation and weight upload. A run started
// meanwhile waits for it inside the engine set.
func (p *Page) warmUp(ctx goapp.Context) {
	if p.warmed || p.mdl == nil || !p.probed || p.backend != BackendGPU || len(p.files) > 0 {
		return
	}
	p.warmed = true
	m, size := p.mdl, p.size
	p.status = "Preparing the GPU engine (compiling shaders, uploading weights)…"
	ctx.Async(func() {
		_, err := p.engines.ready(BackendGPU, m, 1, size)
		ctx.Dispatch(func(goapp.Context) {
			switch {
			case err != nil:
				p.fallback = fmt.Sprintf("The GPU engine could not start (%v); images will run on the CPU.", err)
				p.measure = false // nothing to compare
				if p.backend == BackendGPU {
					p.backend = BackendCPU
				}
			case len(p.files) == 0 && !p.busy:
				p.status = "Ready: drop, paste or choose an image, or try a sample."
			}
		})
	})
}

// factsOf describes a loaded model for the model panel.
func factsOf(m *weights.Model) modelFacts {
	a := m.Meta.Arch
	f := modelFacts{
		Arch:    fmt.Sprintf("%s (%s blocks %v, stride variant %s)", a.Name, a.Block, a.Layers, a.Variant),
		Scheme:  string(m.Meta.Scheme),
		Source:  m.Meta.Source,
		Classes: a.NumClasses,
	}
	switch m.Meta.Scheme {
	case weights.Int8:
		f.Scheme = "int8, one scale per output channel"
	case weights.F32:
		f.Scheme = "float32"
	}
	if st, err := m.Net.Stages(1, defaultSize, defaultSize); err == nil {
		params, _ := model.Totals(st)
		f.Params = formatCount(params)
	}
	return f
}

// replan recomputes the stage table for the current size and batch from
// the model's own layout; it shows the plan until a run measures it.
func (p *Page) replan() {
	if p.mdl == nil {
		return
	}
	st, err := p.mdl.Net.Stages(max(1, p.goodN), p.size, p.size)
	if err != nil {
		p.rows, p.measured = nil, false
		p.problems = append(p.problems, "Cannot plan the network: "+err.Error())
		return
	}
	p.rows, p.measured = planRows(st), false
}

// takeFiles reads the files the user gave, then runs them.
func (p *Page) takeFiles(ctx goapp.Context, hs []fileHandle) {
	if len(hs) == 0 {
		return
	}
	p.problems = nil
	p.status = fmt.Sprintf("Reading %d file%s…", len(hs), plural(len(hs)))
	ctx.Async(func() {
		files := make([]inputFile, len(hs))
		for i, h := range hs {
			data, err := readFile(h)
			files[i] = inputFile{Name: h.name, Data: data, Err: err}
		}
		ctx.Dispatch(func(ctx goapp.Context) { p.setFiles(ctx, files) })
	})
}

// takeSample fetches one of the sample photos, then runs it.
func (p *Page) takeSample(ctx goapp.Context, name string) {
	if !slices.ContainsFunc(samplePhotos, func(s struct{ File, Alt string }) bool { return s.File == name }) {
		return
	}
	p.problems = nil
	p.status = "Fetching the sample " + name + "…"
	ctx.Async(func() {
		data, err := fetchBytes("/web/samples/" + name)
		f := inputFile{Name: name, Data: data, Err: err}
		ctx.Dispatch(func(ctx goapp.Context) { p.setFiles(ctx, []inputFile{f}) })
	})
}

// setFiles makes files the current input and runs them.
func (p *Page) setFiles(ctx goapp.Context, files []inputFile) {
	p.files = files
	p.schedule(ctx)
}

// setSize re-plans at a new input size and re-runs the current images.
func (p *Page) setSize(ctx goapp.Context, n int) {
	if !slices.Contains(inputSizes, n) || n == p.size {
		return
	}
	p.size = n
	p.applyChoice()
	p.replan()
	p.schedule(ctx)
}

// setBackend switches between the GPU and the CPU engine and runs the
// current images on it.
func (p *Page) setBackend(ctx goapp.Context, b Backend) {
	if p.chooseBackend(b) {
		p.schedule(ctx)
	}
}

// chooseBackend records a choice made with the toggle and reports whether
// it changed anything.
func (p *Page) chooseBackend(b Backend) bool {
	if b != BackendGPU && b != BackendCPU || b == p.backend {
		return false
	}
	p.backend, p.fallback, p.measure, p.linked = b, "", false, ""
	if p.gpuUsable() {
		// Remembered like an automatic choice; a measurement under way
		// keeps it (measureEngines).
		c := p.choice
		c.Backend, c.Manual, c.Linked = b, true, false
		p.choice = c
		p.settings.set(p.choiceKey(p.size), c.encode())
	}
	return true
}

// forget removes the cached weights.
func (p *Page) forget(ctx goapp.Context) {
	url := p.modelURL()
	ctx.Async(func() {
		err := forgetModel(url)
		ctx.Dispatch(func(goapp.Context) {
			if err != nil {
				p.problems = append(p.problems, err.Error())
				return
			}
			p.cached = false
			p.status = "The cached weights are gone: the next visit downloads them again."
		})
	})
}

// runJob is what one run needs, copied off the UI goroutine's state.
type runJob struct {
	files   []inputFile
	size    int
	backend Backend
	model   *weights.Model
	measure bool // time both engines and choose (software adapter)
}

// schedule starts a run of the current images when everything is ready;
// while one runs, it asks for another afterwards (the latest state wins).
func (p *Page) schedule(ctx goapp.Context) {
	if len(p.files) == 0 {
		return
	}
	if p.mdl == nil || !p.probed {
		if p.phase != phaseFailed {
			p.status = "Waiting for the model to load…"
		}
		return
	}
	if p.busy {
		p.again = true
		return
	}
	p.busy = true
	job := runJob{files: p.files, size: p.size, backend: p.backend, model: p.mdl, measure: p.measure && p.gpuUsable()}
	p.measuring = job.measure
	ctx.Async(func() { p.execute(ctx, job) })
}

// execute prepares and runs one batch (in a goroutine).
func (p *Page) execute(ctx goapp.Context, job runJob) {
	say := func(s string) {
		ctx.Dispatch(func(goapp.Context) { p.status = s })
		// Yield so the browser paints the status before a long run
		// (wasm has one thread; the CPU engine holds it while it runs).
		time.Sleep(20 * time.Millisecond)
	}
	say(fmt.Sprintf("Preparing %d image%s at %d×%d…", len(job.files), plural(len(job.files)), job.size, job.size))
	b := prepareBatch(job.files, job.model.Meta.Preprocess, job.size)
	if b.X == nil {
		ctx.Dispatch(func(ctx goapp.Context) {
			p.problems, p.status = b.Errs, "Nothing to classify: no file was an image this app can read."
			p.finish(ctx)
		})
		return
	}
	pending := imageViews(b.Names, b.Crops, nil)
	n := len(b.Names)
	ctx.Dispatch(func(goapp.Context) {
		p.problems, p.images, p.goodN = b.Errs, pending, n
		p.replan()
	})
	var gpuFailed string
	if job.measure {
		if gpuFailed = p.measureEngines(ctx, job, b, say); gpuFailed == "" {
			return
		}
		job.backend = BackendCPU
	}
	eng, fallback, err := p.engineFor(job, say)
	if gpuFailed != "" {
		fallback = gpuFailed
	}
	if err != nil {
		p.failRun(ctx, err)
		return
	}
	say(fmt.Sprintf("Running %d image%s at %d×%d on %s…", n, plural(n), job.size, job.size, eng.Name()))
	res, ms, err := runEngine(eng, b.X, job.model.Meta.Labels)
	if err != nil && job.backend == BackendGPU && eng.Name() != BackendCPU.engineName() {
		fallback = fmt.Sprintf("The GPU engine failed (%v); this answer comes from the CPU.", err)
		if eng, err = p.engines.get(BackendCPU, job.model); err == nil {
			say(fmt.Sprintf("Running %d image%s on the CPU…", n, plural(n)))
			res, ms, err = runEngine(eng, b.X, job.model.Meta.Labels)
		}
	}
	if err != nil {
		p.failRun(ctx, err)
		return
	}
	a := newAnswer(b, res, ms)
	ctx.Dispatch(func(ctx goapp.Context) {
		p.record(job, a)
		p.show(job, a)
		p.fallback = fallback
		p.status = fmt.Sprintf("Done: %d image%s classified on %s.", n, plural(n), res.Engine)
		p.finish(ctx)
	})
}

// answer is a finished run, formatted for the page off the UI goroutine
// (crops and heatmaps become data URLs here, so Render does no work).
type answer struct {
	res   *model.Result
	ms    float64
	views []imageView
	rows  []stageRow
	batch batch
}

// newAnswer formats a run's result.
func newAnswer(b batch, res *model.Result, ms float64) answer {
	return answer{res: res, ms: ms, views: imageViews(b.Names, b.Crops, res.Top), rows: resultRows(res.Stages), batch: b}
}

// record books a finished run's latency (on the UI goroutine).
func (p *Page) record(job runJob, a answer) {
	p.lat.add(a.res.Engine, job.size, len(a.batch.Names), a.ms)
}

// show puts an answer on screen with its engine's latency so far (on the
// UI goroutine).
func (p *Page) show(job runJob, a answer) {
	n := len(a.batch.Names)
	p.images, p.rows, p.measured = a.views, a.rows, true
	p.shown = shownRun{Engine: a.res.Engine, Size: job.size, Batch: n, Latency: p.lat.get(a.res.Engine, job.size, n), PrepMs: a.batch.Ms}
	if p.firstMs == 0 {
		p.firstMs = markTiming("residual-first-top5")
	}
}

// engineName is the Engine.Name a backend's engine reports ("cpu").
func (b Backend) engineName() string { return string(b) }

// engineFor returns the engine of the job's backend, or the CPU engine
// with a message when the GPU one cannot be built.
func (p *Page) engineFor(job runJob, say func(string)) (model.Engine, string, error) {
	if job.backend == BackendGPU {
		say("Preparing the GPU engine (compiling shaders, uploading weights)…")
		e, err := p.engines.get(BackendGPU, job.model)
		if err == nil {
			return e, "", nil
		}
		fallback := fmt.Sprintf("The GPU engine could not start (%v); running on the CPU.", err)
		e, err = p.engines.get(BackendCPU, job.model)
		return e, fallback, err
	}
	e, err := p.engines.get(BackendCPU, job.model)
	return e, "", err
}

// failRun reports a run that failed; the page stays usable.
func (p *Page) failRun(ctx goapp.Context, err error) {
	ctx.Dispatch(func(ctx goapp.Context) {
		p.problems = append(p.problems, err.Error())
		p.status = "The run failed."
		p.finish(ctx)
	})
}

// finish ends a run and starts the one asked for meanwhile, if any.
func (p *Page) finish(ctx goapp.Context) {
	p.busy = false
	if p.again {
		p.again = false
		p.schedule(ctx)
	}
}

// Render lays the page out from the state.
func (p *Page) Render() goapp.UI {
	cls := []string{"page"}
	if p.dragging {
		cls = append(cls, "dragging")
	}
	badge := ""
	switch {
	case p.shown.Engine != "":
		badge = p.shown.Engine
	case p.backend != "":
		badge = string(p.backend)
	}
	params, macs := "–", "–"
	if p.mdl != nil {
		if st, err := p.mdl.Net.Stages(max(1, p.goodN), p.size, p.size); err == nil {
			pa, ma := model.Totals(st)
			params, macs = formatCount(pa), formatCount(ma)
		}
	}
	choice, choiceState := p.choiceNote()
	return goapp.Div().Class(cls...).Body(
		goapp.A().Class("skip-link").Href("#results").Text("Skip to the predictions"),
		&Header{Engine: badge},
		goapp.Main().Class("layout").Body(
			goapp.Div().Class("col-main").Body(
				goapp.Section().Class("panel", "input-panel").ID("input").Aria("labelledby", "input-h").Body(
					goapp.H2().ID("input-h").Text("Images"),
					&DropZone{Dragging: p.dragging, Busy: p.busy},
					&Samples{},
					&SizeControl{Size: p.size},
				),
				&Messages{Problems: p.problems},
				&Predictions{
					Images: p.images, Engine: p.shown.Engine, Size: p.shown.Size,
					Latency: p.shown.Latency, PrepMs: p.shown.PrepMs, FirstMs: p.firstMs,
					Status: p.status, Busy: p.busy,
				},
			),
			goapp.Div().Class("col-side").Body(
				&ModelPanel{
					File: p.modelFile, Phase: p.phase, Loaded: p.loaded, Total: p.total,
					Cached: p.cached, Err: p.modelErr, Arch: p.facts.Arch, Scheme: p.facts.Scheme,
					Params: p.facts.Params, Classes: p.facts.Classes, Source: p.facts.Source,
				},
				&BackendPanel{
					GPU: p.gpu, Probed: p.probed, HasEngine: newGPUEngine != nil,
					Backend: p.backend, Fallback: p.fallback, Choice: choice, ChoiceState: choiceState,
				},
			),
			goapp.Div().Class("col-wide").Body(
				&Inspector{
					Rows: p.rows, Measured: p.measured, Engine: p.shown.Engine,
					Size: p.size, Batch: max(1, p.goodN), Params: params, MACs: macs,
				},
			),
		),
		goapp.Footer().Class("footer").Body(
			goapp.P().Text("Residual runs the network in this tab: images are never uploaded. Weights are cached in this browser after the first visit."),
		),
		goapp.Div().Class("drop-overlay").Aria("hidden", true).Body(
			goapp.P().Text("Drop images to classify them"),
		),
	)
}
