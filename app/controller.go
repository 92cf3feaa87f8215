package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/weights"
)

// The controller is the page's policy without the page: it downloads and
// decodes the weights, probes WebGPU, chooses, measures and falls back
// between engines, reads and runs images, and keeps what the page shows.
// It takes commands (start, takeFiles, takeSample, setSize, setBackend,
// forget, rerun, addProblem, pasteFailed, dismissProblems, emptyDrop) and
// emits a snapshot, pageState, that the page renders.
//
// It does not import go-app: the browser reaches it only through the
// interfaces below (the Page gives it the real ones, browser.go; tests
// give it fakes), so all of its behaviour runs and is tested natively
// (controller_test.go).
//
// The page shows one input at a time: every new input (files, a drop, a
// paste, a sample, even one that fails at once) clears the answer and
// the messages of the one before, and a run's answer or errors are shown
// only while its input is still the current one (input, runInput).
//
// Concurrency: one mutex guards the state. Commands may be called from
// any goroutine (the Page calls them on go-app's UI goroutine); work that
// waits (downloads, reading files, engine builds, runs) goes to goroutines
// started through deps.goFn (ctx.Async in the page) and writes back under
// the mutex. After every change deps.changed is called, outside the
// mutex: the Page then dispatches a read of state() onto its UI
// goroutine. Methods whose comment says "(locked)" expect the mutex held.

// modelStore fetches weight files and keeps them across visits: fetch and
// Cache Storage in the browser.
type modelStore interface {
	// load returns the file at url: from the store when it is there
	// (cached), else downloaded and stored. progress sees, as they come,
	// the file's first bytes as far as they are known (at least its
	// header, once that has come) and the count of bytes so far.
	load(url string, progress func(head []byte, loaded, total int64, cached bool)) (f modelFile, cached bool, err error)
	// forget removes the file at url from the store.
	forget(url string) error
}

// platform is the rest of the browser the controller needs.
type platform interface {
	// probeGPU asks for a WebGPU adapter and describes it (or why there
	// is none). It blocks on the browser.
	probeGPU() gpuInfo
	// fetch downloads a small file whole (a sample photo).
	fetch(url string) ([]byte, error)
	// yield lets the page paint what changed before long work on the
	// page's only thread.
	yield()
	// mark records a named moment and returns it in ms since navigation.
	mark(name string) float64
	// pause returns to the browser's event loop for a moment (ends the
	// current task): long work on the page's only thread calls it often
	// (breathe), so that no task holds the thread for long.
	pause()
}

// fileSource is an image the user gave (drop, picker, paste), not yet read.
type fileSource interface {
	fileName() string
	read() ([]byte, error)
}

// engineMakers builds engines for a loaded model.
type engineMakers struct {
	cpu func(*weights.Model) (model.Engine, error)
	// gpu is nil where this build has no GPU engine. It blocks on WebGPU.
	gpu func(*weights.Model) (model.Engine, error)
	// precompile, when set, compiles a network's GPU pipelines for one
	// image of size×size from the weight file's header, while the rest
	// downloads.
	precompile func(head *weights.Model, size int)
	// watch, when set, makes the GPU engines and precompile report their
	// preparation to report (step gpuCompiling or gpuUploading, done of
	// total layers) and call hold between layers, which returns when the
	// CPU engine is not answering in the foreground. It is called once,
	// before any engine is built.
	watch func(report func(step string, done, total int), hold func())
}

// controllerDeps is everything outside the controller it works with.
type controllerDeps struct {
	store    modelStore
	plat     platform
	settings settingsStore // remembered engine choices (localStorage)
	engines  engineMakers
	goFn     func(func()) // starts work that waits (ctx.Async); `go` when nil
	changed  func()       // the state changed; called from any goroutine, never with the mutex held
	// debounce is how long a new input size waits for another before its
	// run starts (sizeDebounce when 0): arrow keys move through the sizes
	// one press at a time.
	debounce time.Duration
}

// sizeDebounce is how long a new input size waits before its run.
const sizeDebounce = 400 * time.Millisecond

// pageState is a snapshot of what the page shows. Its slices are never
// changed after they are handed out.
type pageState struct {
	// The weight file.
	ModelFile       string
	ModelName       string // a converted model's checkpoint, "" for the built-in one
	Phase           string // phaseDownloading, phaseDecoding, phaseReady, phaseFailed
	Loaded, Total   int64
	Cached          bool
	Decoded, Layers int // weight layers decoded, of Layers
	ModelErr        string
	Facts           modelFacts
	Forgotten       bool     // the cached copy was removed during this visit
	Labels          []string // the model's class names, in class order (nil before it loads)

	// The GPU engine's preparation: GPUStep is gpuCompiling, gpuUploading,
	// gpuReady, gpuFailed or "" (not started), with GPUDone of GPUTotal.
	GPUStep           string
	GPUDone, GPUTotal int

	// The backend and the engine choice.
	GPU          gpuInfo
	Probed       bool
	HasGPUEngine bool
	CPUEngine    string // which CPU engine runs, once built ("" before)
	CPUFallback  string // why it is not the wasm SIMD one, when that failed
	Backend      Backend
	Fallback     string  // why runs fell back to the CPU
	Choice       string  // the choice note (choiceNote)
	ChoiceState  string  // "pending", "measuring", "auto", "manual", "link" or ""
	MeasuredMs   float64 // when the background measurement ended, ms since navigation (0 before)

	// The input and the answer.
	Input        int // the current input's number: 0 before any, then one more per input
	Size         int
	Batch        int    // images in the plan: the last batch, at least 1
	Params, MACs string // the network's totals at Batch and Size ("–" before the model)
	Problems     []string
	Busy         bool
	Status       string
	Images       []imageView
	CAMs         []camImage // where the answer's top classes were seen, per image (nil before an answer)
	Shown        shownRun
	FirstMs      float64 // page load → first top-5, ms since navigation (0 before)
	Rows         []stageRow
	Measured     bool // Rows come from a run, not the plan
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

// controller holds the page's state and policy; see the top of this file.
type controller struct {
	d controllerDeps

	mu sync.Mutex

	// The weight file.
	modelFile string
	modelName string // the checkpoint a converted model came from, for people
	phase     string
	loaded    int64
	total     int64
	cached    bool
	forgotten bool
	modelErr  string
	mdl       *weights.Model
	// weightFile is mdl's file, where its int8 weights stay (engines read
	// them when they pack them); settled once an engine is built.
	weightFile modelFile
	facts      modelFacts
	params     string
	macs       string

	// The backend.
	gpu      gpuInfo
	probed   bool
	backend  Backend
	fallback string
	engines  *engineSet

	// The engine choice on this adapter (choice.go, measure.go).
	choice        engineChoice       // the one in force, timings as measured; no Backend when none applies
	measure       bool               // nothing measured on this software adapter yet: runs answer on the engine predicted faster, then the other is timed
	why           string             // what the last answer's engine was predicted from, until measured
	pending       *measureJob        // a background measurement waiting for the page to be idle
	measuring     bool               // a background measurement is under way
	cancelMeasure context.CancelFunc // stops it, for a run asked for meanwhile
	measuredMs    float64            // when the last measurement ended, ms since navigation
	settings      settingsStore      // where choices are remembered
	linked        Backend            // the engine ?engine= asks for, until the toggle is used
	macsAt        map[int]int64      // the network's MACs per image by input side (scaling timings)

	// Loading, step by step (loading.go).
	decoded, layers int       // weight layers decoded so far, of layers
	gpuStep         string    // the GPU engine's preparation: gpuCompiling, gpuUploading, gpuReady, gpuFailed or ""
	gpuDone         int       // its progress, of gpuTotal (layers)
	gpuTotal        int       // layers of the step under way
	gpuReadyMs      float64   // when the GPU engine was first ready, ms since navigation
	gpuShown        time.Time // when the page was last told of gpuDone
	sizeGen         int       // counts size changes: only the last one's debounced run starts

	// While the CPU engine answers in the foreground the GPU engine's
	// preparation waits (holdGPU): on a machine of few cores, compiling
	// shaders beside a CPU run slows the answer several times over.
	holding  bool
	released *sync.Cond // on mu: holding became false

	// The input.
	input    int // numbers each input; runs and their answers carry it
	runInput int // the input of the run under way (or the last one)
	size     int
	files    []inputFile
	incoming int // images being read or fetched, not yet in files
	goodN    int // images that made it into the last batch (plans use it)
	problems []string

	// The answer.
	busy     bool
	again    bool
	status   string
	images   []imageView
	cams     []camImage
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
}

// Status lines before any image: statusIdle until the model is ready
// (statusLine then says what the page is waiting for), statusReady once
// it and the chosen engine are; statusWaiting while an image given early
// waits for the model. No "drop" or "Ctrl+V": phones have neither.
const (
	statusIdle    = "No image yet: choose one or try a sample."
	statusReady   = "Ready: choose an image or try a sample."
	statusWaiting = "Waiting for the model to load…"
)

// newController returns a controller in the page's starting state; it
// does nothing until start.
func newController(d controllerDeps) *controller {
	if d.settings == nil {
		d.settings = &memorySettings{}
	}
	if d.goFn == nil {
		d.goFn = func(f func()) { go f() }
	}
	if d.changed == nil {
		d.changed = func() {}
	}
	if d.debounce == 0 {
		d.debounce = sizeDebounce
	}
	c := &controller{
		d:         d,
		modelFile: defaultModel,
		size:      defaultSize,
		lat:       latencyBook{},
		engines:   &engineSet{engines: map[Backend]model.Engine{}, newGPU: d.engines.gpu, newCPU: d.engines.cpu},
		settings:  d.settings,
		status:    statusIdle,
		params:    "–",
		macs:      "–",
		macsAt:    map[int]int64{},
	}
	c.released = sync.NewCond(&c.mu)
	if d.engines.watch != nil {
		d.engines.watch(c.gpuProgress, c.holdGPU)
	}
	return c
}

// attach sets how work starts and how changes are announced, before start
// (the Page has them only once it is mounted).
func (c *controller) attach(goFn func(func()), changed func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if goFn != nil {
		c.d.goFn = goFn
	}
	if changed != nil {
		c.d.changed = changed
	}
}

// update changes the state under the mutex and announces it.
func (c *controller) update(f func()) {
	c.mu.Lock()
	f()
	c.mu.Unlock()
	c.d.changed()
}

// state is the snapshot the page renders.
func (c *controller) state() pageState {
	c.mu.Lock()
	defer c.mu.Unlock()
	choice, choiceState := c.choiceNote()
	var labels []string
	if c.mdl != nil {
		labels = c.mdl.Meta.Labels
	}
	var cpuEng cpuDescription
	if d := c.engines.cpuDesc.Load(); d != nil {
		cpuEng = *d
	}
	return pageState{
		CPUEngine: cpuEng.desc, CPUFallback: cpuEng.fallback,
		ModelFile: c.modelFile, ModelName: c.modelName, Phase: c.phase, Loaded: c.loaded, Total: c.total, Cached: c.cached,
		Decoded: c.decoded, Layers: c.layers, ModelErr: c.modelErr, Facts: c.facts, Forgotten: c.forgotten, Labels: labels,
		GPUStep: c.gpuStep, GPUDone: c.gpuDone, GPUTotal: c.gpuTotal,
		GPU: c.gpu, Probed: c.probed, HasGPUEngine: c.d.engines.gpu != nil, Backend: c.backend,
		Fallback: c.fallback, Choice: choice, ChoiceState: choiceState, MeasuredMs: c.measuredMs,
		Input: c.input, Size: c.size, Batch: max(1, c.goodN), Params: c.params, MACs: c.macs,
		Problems: slices.Clone(c.problems), Busy: c.busy, Status: c.statusLine(), Images: c.images, CAMs: c.cams,
		Shown: c.shown, FirstMs: c.firstMs, Rows: c.rows, Measured: c.measured,
	}
}

// modelURL is where the weight file is fetched (locked).
func (c *controller) modelURL() string { return "/web/models/" + c.modelFile }

// start begins the visit: the page's address may name a weight file
// (?model=), an engine (?engine=) and a sample to run at once (?sample=).
// It probes WebGPU and loads the model in the background.
func (c *controller) start(modelQuery, engineQuery, sample string) {
	var url, file string
	c.update(func() {
		c.modelFile = chooseModel(modelQuery)
		if b := Backend(engineQuery); b == BackendGPU || b == BackendCPU {
			c.linked = b
		}
		c.phase = phaseDownloading
		url, file = c.modelURL(), c.modelFile
		c.d.goFn(c.probe)
		c.d.goFn(func() { c.loadModel(url, file) })
	})
	// ?sample=chelsea.jpg runs a sample photo as soon as the page can: a
	// link that shows an answer, and a clean page load → first top-5
	// measurement (no waiting for a person to pick an image).
	if sample != "" {
		c.takeSample(sample)
	}
}

// takeFiles reads the files the user gave, then runs them.
func (c *controller) takeFiles(hs []fileSource) {
	if len(hs) == 0 {
		return
	}
	c.update(func() {
		in := c.newInput(fmt.Sprintf("Reading %d file%s…", len(hs), plural(len(hs))))
		c.incoming++
		c.d.goFn(func() {
			files := make([]inputFile, len(hs))
			for i, h := range hs {
				data, err := h.read()
				files[i] = inputFile{Name: h.fileName(), Data: data, Err: err}
			}
			c.update(func() { c.incoming--; c.setFiles(in, files) })
		})
	})
}

// takeSample fetches one of the sample photos, then runs it.
func (c *controller) takeSample(name string) {
	if !slices.ContainsFunc(samplePhotos, func(s struct{ File, Alt string }) bool { return s.File == name }) {
		return
	}
	c.update(func() {
		in := c.newInput("Fetching the sample " + name + "…")
		c.incoming++
		c.d.goFn(func() {
			data, err := c.d.plat.fetch("/web/samples/" + name)
			f := inputFile{Name: name, Data: data, Err: err}
			c.update(func() { c.incoming--; c.setFiles(in, []inputFile{f}) })
		})
	})
}

// newInput starts input number c.input+1 and returns its number: the
// answer, the inspector's measurements and the messages of the one before
// go at once, so nothing on screen belongs to another input (locked).
func (c *controller) newInput(status string) int {
	c.input++
	c.files, c.goodN = nil, 0
	c.problems, c.images, c.shown = nil, nil, shownRun{}
	c.cams = nil
	c.replan()
	c.status = status
	return c.input
}

// current reports whether the run under way is of the current input: only
// then may it show its answer or its errors (locked).
func (c *controller) current() bool { return c.runInput == c.input }

// setFiles makes files the current input and runs them, unless another
// input came while they were read (locked).
func (c *controller) setFiles(in int, files []inputFile) {
	if in != c.input {
		return
	}
	c.files = files
	c.schedule()
}

// setSize re-plans at a new input size and re-runs the current images.
func (c *controller) setSize(n int) {
	c.update(func() {
		if !slices.Contains(inputSizes, n) || n == c.size {
			return
		}
		c.size = n
		c.applyChoice()
		c.replan()
		if len(c.files) == 0 {
			return
		}
		// The plan changes at once; the run waits for the last of a few
		// quick changes (arrow keys move one size per press).
		c.sizeGen++
		gen, wait := c.sizeGen, c.d.debounce
		c.status = fmt.Sprintf("Input size %d×%d: running again in a moment…", n, n)
		c.d.goFn(func() {
			time.Sleep(wait)
			c.update(func() {
				if gen == c.sizeGen {
					c.schedule()
				}
			})
		})
	})
}

// setBackend switches between the GPU and the CPU engine and runs the
// current images on it.
func (c *controller) setBackend(b Backend) {
	c.update(func() {
		if c.chooseBackend(b) {
			c.schedule()
		}
	})
}

// rerun runs the current images again.
func (c *controller) rerun() { c.update(c.schedule) }

// forget removes the cached weights.
func (c *controller) forget() {
	c.mu.Lock()
	url := c.modelURL()
	c.mu.Unlock()
	c.d.goFn(func() {
		err := c.d.store.forget(url)
		c.update(func() {
			if err != nil {
				c.problems = append(c.problems, err.Error())
				return
			}
			c.cached, c.forgotten = false, true
			c.status = "The cached weights are gone: the next visit downloads them again."
		})
	})
}

// addProblem shows one more message (a failed paste).
func (c *controller) addProblem(s string) {
	if s == "" {
		return
	}
	c.update(func() { c.problems = append(c.problems, s) })
}

// pasteFailed reports why the Paste button brought no image: a new input
// that failed at once.
func (c *controller) pasteFailed(err error) {
	msg := pasteMessage(err)
	c.update(func() {
		c.newInput(c.idleStatus())
		c.problems = []string{msg}
	})
}

// pasteProblem is a reason the clipboard gave no image.
type pasteProblem int

// The reasons, as the browser side (clipboardImages) tells them apart.
const (
	clipboardRefused     pasteProblem = iota + 1 // the browser or the person said no (NotAllowedError, no focus…)
	clipboardUnsupported                         // no navigator.clipboard.read (Firefox, insecure origins)
	clipboardEmpty                               // read, but no image in it
)

// pasteError is a failed read of the clipboard: the reason, and the
// browser's own words for the console.
type pasteError struct {
	problem pasteProblem
	cause   error
}

func (e *pasteError) Error() string {
	if e.cause == nil {
		return pasteMessage(e)
	}
	return pasteMessage(e) + " (" + e.cause.Error() + ")"
}

func (e *pasteError) Unwrap() error { return e.cause }

// pasteMessage is what the page says for a failed paste: what to do, not
// the browser's exception text.
func pasteMessage(err error) string {
	var pe *pasteError
	if !errors.As(err, &pe) {
		return "Paste: " + err.Error()
	}
	switch pe.problem {
	case clipboardUnsupported:
		return "This browser does not let pages read images from the clipboard: press Ctrl+V (⌘V) instead."
	case clipboardEmpty:
		return "The clipboard holds no image: copy one first, or choose a file."
	default:
		return "The browser did not let this page read the clipboard: press Ctrl+V (⌘V) instead."
	}
}

// idleStatus is the status line when nothing runs (locked).
func (c *controller) idleStatus() string {
	if c.busy {
		return c.status
	}
	return statusIdle
}

// dismissProblems clears the messages.
func (c *controller) dismissProblems() { c.update(func() { c.problems = nil }) }

// emptyDrop reports a drop that held no files.
func (c *controller) emptyDrop() {
	c.update(func() {
		c.newInput(c.idleStatus())
		c.problems = []string{"The drop held no files: drop image files (JPEG, PNG, GIF, BMP or WebP)."}
	})
}
