package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/weights"
)

// The controller's tests run it natively with fakes: a weight store, a
// platform (WebGPU probe, sample fetch, yield, marks), in-memory settings
// and engines that implement model.Engine with set delays and failures.

// fakeStore serves one weight file, counting loads and forgets.
type fakeStore struct {
	mu        sync.Mutex
	answers   []storeAnswer // one per load; the last repeats
	loads     []string
	forgot    []string
	forgetErr error
	delay     time.Duration // before each chunk, as a slow network takes
}

// storeAnswer is what one load returns.
type storeAnswer struct {
	data   []byte
	cached bool
	err    error
}

func (s *fakeStore) load(url string, progress func([]byte, int64, int64, bool)) (modelFile, bool, error) {
	s.mu.Lock()
	a := s.answers[min(len(s.loads), len(s.answers)-1)]
	s.loads = append(s.loads, url)
	s.mu.Unlock()
	if a.err != nil {
		return nil, false, a.err
	}
	// Two chunks, as a download reports them.
	half := len(a.data) / 2
	time.Sleep(s.delay)
	progress(a.data[:half], int64(half), int64(len(a.data)), a.cached)
	time.Sleep(s.delay)
	progress(a.data, int64(len(a.data)), int64(len(a.data)), a.cached)
	return bytes.NewReader(a.data), a.cached, nil
}

func (s *fakeStore) forget(url string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forgot = append(s.forgot, url)
	return s.forgetErr
}

func (s *fakeStore) counts() (loads, forgets int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.loads), len(s.forgot)
}

// fakePlatform is a browser with a given WebGPU adapter and sample photos;
// it keeps the marks set, in order, and counts pauses.
type fakePlatform struct {
	gpu     gpuInfo
	samples map[string][]byte
	mu      sync.Mutex
	marks   []string
	onMark  func(name string) // called as each mark is set, when not nil
	pauses  atomic.Int32
}

func (p *fakePlatform) probeGPU() gpuInfo { return p.gpu }
func (p *fakePlatform) fetch(url string) ([]byte, error) {
	if b, ok := p.samples[url]; ok {
		return b, nil
	}
	return nil, errors.New(url + ": 404")
}
func (p *fakePlatform) yield() {}
func (p *fakePlatform) pause() { p.pauses.Add(1) }

// mark returns 1000 ms plus one per mark set before: marks read back in
// the order they were set.
func (p *fakePlatform) mark(name string) float64 {
	p.mu.Lock()
	p.marks = append(p.marks, name)
	n := len(p.marks)
	f := p.onMark
	p.mu.Unlock()
	if f != nil {
		f(name)
	}
	return float64(1000 + n)
}

// markAt is the time mark name was first set at, or 0.
func (p *fakePlatform) markAt(name string) float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, m := range p.marks {
		if m == name {
			return float64(1000 + i + 1)
		}
	}
	return 0
}

// testFile is an image the user gave.
type testFile struct {
	name string
	data []byte
	err  error
}

func (f testFile) fileName() string      { return f.name }
func (f testFile) read() ([]byte, error) { return f.data, f.err }

// timedEngine is a model.Engine (a model.Preparer and a
// model.LayerTimer) that takes delay per run and answers from the input's
// first pixel, so that every engine agrees; fail makes runs and probes
// fail, prepareErr makes Prepare fail. A canceled run stops (as the CPU
// engine does between layers) and counts in canceled. TimeLayer reports
// probeMs (delay/20 when 0) after a short sleep. report, when set, hears
// Prepare's steps as the GPU engine reports them.
type timedEngine struct {
	name       string
	classes    int
	delay      time.Duration
	probeMs    float64
	fail       error
	prepareErr error
	report     func(step string, done, total int)
	hold       func()        // called between Prepare's steps when set
	stepDelay  time.Duration // each of Prepare's steps takes this long
	steps      atomic.Int32  // Prepare's steps done
	during     func()        // called at the start of each run, when set
	runs       atomic.Int32
	canceled   atomic.Int32
	probes     atomic.Int32
	prepared   atomic.Int32
	closed     atomic.Bool
}

func (e *timedEngine) Run(ctx context.Context, x *model.Tensor, _ model.RunOptions) (*model.Result, error) {
	e.runs.Add(1)
	if e.during != nil {
		e.during()
	}
	select {
	case <-time.After(e.delay):
	case <-ctx.Done():
		e.canceled.Add(1)
		return nil, ctx.Err()
	}
	if e.fail != nil {
		return nil, e.fail
	}
	res := &model.Result{Engine: e.name}
	for i := range x.Shape[0] {
		row := make([]float32, e.classes)
		for j := range row {
			row[j] = float32(j % 7)
		}
		row[i%e.classes] = 10
		res.Logits = append(res.Logits, row)
	}
	return res, nil
}
func (e *timedEngine) Name() string { return e.name }
func (e *timedEngine) Close()       { e.closed.Store(true) }
func (e *timedEngine) Prepare(context.Context, int, int, int) error {
	e.prepared.Add(1)
	for i := range 4 {
		if e.hold != nil {
			e.hold()
		}
		time.Sleep(e.stepDelay)
		e.steps.Add(1)
		if e.report != nil {
			e.report(gpuUploading, i, 3)
		}
	}
	return e.prepareErr
}
func (e *timedEngine) TimeLayer(ctx context.Context, name string, b, h, w int) (float64, error) {
	e.probes.Add(1)
	if e.fail != nil {
		return 0, e.fail
	}
	time.Sleep(time.Millisecond)
	if e.probeMs > 0 {
		return e.probeMs, nil
	}
	return float64(e.delay.Milliseconds()) / 20, nil
}

// rig is a controller wired to fakes, with its goroutines counted.
type rig struct {
	t        *testing.T
	c        *controller
	store    *fakeStore
	plat     *fakePlatform
	settings *memorySettings
	cpu, gpu *timedEngine
	wg       sync.WaitGroup
	changes  atomic.Int32
	// precompiles counts calls of the GPU's precompile (with a fake GPU engine).
	precompiles atomic.Int32
	mu          sync.Mutex
	trace       []string // what the page showed of the loading, each change once
}

// rigOptions picks the adapter and engines; nil engines are the real CPU
// engine and no GPU engine.
type rigOptions struct {
	gpu      gpuInfo
	cpu      *timedEngine
	gpuEng   *timedEngine
	gpuErr   error // the GPU engine cannot be built
	settings *memorySettings
	store    *fakeStore
}

var (
	softwareAdapter = gpuInfo{Available: true, Vendor: "google", Architecture: "swiftshader", Fallback: true}
	hardwareAdapter = gpuInfo{Available: true, Vendor: "nvidia", Architecture: "ada"}
	noAdapter       = gpuInfo{Problem: "no WebGPU adapter (the GPU is blocklisted or absent)"}
)

// encodedModel is the tiny test network as a weight file.
func encodedModel(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := tinyModel(t).Encode(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func newRig(t *testing.T, o rigOptions) *rig {
	t.Helper()
	r := &rig{t: t, store: o.store, plat: &fakePlatform{gpu: o.gpu}, settings: o.settings, cpu: o.cpu, gpu: o.gpuEng}
	if r.store == nil {
		r.store = &fakeStore{answers: []storeAnswer{{data: encodedModel(t)}}}
	}
	if r.settings == nil {
		r.settings = &memorySettings{}
	}
	mk := engineMakers{cpu: newCPUEngine}
	if r.gpu != nil {
		gpu := r.gpu
		mk.watch = func(report func(string, int, int), hold func()) { gpu.report, gpu.hold = report, hold }
		mk.precompile = func(*weights.Model, int) {
			r.precompiles.Add(1)
			for i := range 3 {
				gpu.report(gpuCompiling, i, 2)
			}
		}
	}
	if r.cpu != nil {
		mk.cpu = func(*weights.Model) (model.Engine, error) { return r.cpu, nil }
	}
	switch {
	case o.gpuErr != nil:
		mk.gpu = func(*weights.Model) (model.Engine, error) { return nil, o.gpuErr }
	case r.gpu != nil:
		mk.gpu = func(*weights.Model) (model.Engine, error) { return r.gpu, nil }
	}
	r.c = newController(controllerDeps{
		store: r.store, plat: r.plat, settings: r.settings, engines: mk,
		goFn: func(f func()) {
			r.wg.Add(1)
			go func() { defer r.wg.Done(); f() }()
		},
		changed:  func() { r.changes.Add(1); r.look() },
		debounce: 30 * time.Millisecond,
	})
	t.Cleanup(r.wg.Wait)
	return r
}

// look keeps what the page shows of the loading when it changed: the
// model's phase and progress text, the GPU engine's step and the status.
func (r *rig) look() {
	s := r.c.state()
	line := s.Phase + " | " + gpuStepText(s.GPUStep, s.GPUDone, s.GPUTotal) + " | " + s.Status
	switch s.Phase {
	case phaseDownloading:
		line = s.Phase + " " + downloadText(s.Loaded, s.Total, s.Cached) + line[len(s.Phase):]
	case phaseDecoding:
		line = s.Phase + " " + decodeText(s.Decoded, s.Layers) + line[len(s.Phase):]
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if n := len(r.trace); n == 0 || r.trace[n-1] != line {
		r.trace = append(r.trace, line)
	}
}

// seen is the loading trace so far.
func (r *rig) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.trace)
}

// settle waits until the controller's work is over and returns its state.
func (r *rig) settle() pageState {
	r.t.Helper()
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		r.t.Fatalf("the controller's work did not finish: %+v", brief(r.c.state()))
	}
	return r.c.state()
}

// started starts the controller as a page load does, and settles.
func (r *rig) started() pageState {
	r.t.Helper()
	r.c.start("", "", "")
	return r.settle()
}

// brief is what a failure message shows of a state.
func brief(s pageState) string {
	return fmt.Sprintf("phase %q err %q backend %q busy %v status %q fallback %q choice %q (%s) problems %q images %d shown %+v",
		s.Phase, s.ModelErr, s.Backend, s.Busy, s.Status, s.Fallback, s.Choice, s.ChoiceState, s.Problems, len(s.Images), s.Shown)
}

// images makes n small test photos.
func images(t *testing.T, n int) []fileSource {
	png := photo(t, 48, 40, "png")
	out := make([]fileSource, n)
	for i := range out {
		out[i] = testFile{name: "photo-" + strconv.Itoa(i) + ".png", data: png}
	}
	return out
}

// answered checks that a state shows n answers with top-5 each from engine.
func answered(t *testing.T, s pageState, n int, engine string) {
	t.Helper()
	if s.Busy || len(s.Images) != n || s.Shown.Engine != engine || s.Shown.Batch != n || !s.Measured {
		t.Fatalf("want %d answers from %s: %s", n, engine, brief(s))
	}
	for _, im := range s.Images {
		if len(im.Top) != topK || im.Crop == "" {
			t.Fatalf("%s: %d predictions, crop %d bytes", im.Name, len(im.Top), len(im.Crop))
		}
	}
	if want := fmt.Sprintf("Done: %d image%s classified on %s", n, plural(n), engine); !strings.HasPrefix(s.Status, want) {
		t.Errorf("status %q, want %q…", s.Status, want)
	}
}

func TestControllerStartsIdle(t *testing.T) {
	r := newRig(t, rigOptions{gpu: noAdapter})
	s := r.c.state()
	if s.Phase != phaseIdle || s.Size != defaultSize || s.ModelFile != defaultModel || !strings.HasPrefix(s.Status, "Loading (the app is starting).") ||
		s.Params != "–" || s.Batch != 1 || s.Probed {
		t.Errorf("before start: %+v", s)
	}
	if n, _ := r.store.counts(); n != 0 {
		t.Errorf("%d loads before start", n)
	}
}

func TestControllerLoadsModel(t *testing.T) {
	r := newRig(t, rigOptions{gpu: noAdapter})
	r.c.start("", "", "")
	if s := r.c.state(); s.Phase != phaseDownloading && s.Phase != phaseDecoding && s.Phase != phaseReady {
		t.Errorf("just started: phase %q", s.Phase)
	}
	s := r.settle()
	data := r.store.answers[0].data
	if s.Phase != phaseReady || s.ModelErr != "" || s.Cached || s.Total != int64(len(data)) || s.Loaded != s.Total {
		t.Fatalf("loaded: %s, %d of %d bytes", brief(s), s.Loaded, s.Total)
	}
	if !strings.HasPrefix(s.Facts.Arch, "resnet18 (") || s.Facts.Scheme != "float32" || s.Facts.Classes != 10 || s.Params == "–" || s.MACs == "–" {
		t.Errorf("facts %+v, totals %s %s", s.Facts, s.Params, s.MACs)
	}
	if len(s.Rows) == 0 || s.Measured || s.Rows[0].Shape != "[1, 3, 224, 224]" {
		t.Errorf("the plan: %d rows, measured %v", len(s.Rows), s.Measured)
	}
	if r.store.loads[0] != "/web/models/"+defaultModel {
		t.Errorf("loaded %q", r.store.loads[0])
	}
	// No WebGPU: the CPU, no choice to show.
	if !s.Probed || s.Backend != BackendCPU || s.HasGPUEngine || s.Choice != "" || s.ChoiceState != "" || s.GPU.Problem == "" {
		t.Errorf("no WebGPU: %s", brief(s))
	}
	if r.changes.Load() == 0 {
		t.Error("no change announced")
	}

	// ?model= names another file in /web/models/; a bad name is ignored.
	r = newRig(t, rigOptions{gpu: noAdapter, store: &fakeStore{answers: []storeAnswer{{data: data, cached: true}}}})
	r.c.start("resnet18-f32.safetensors", "", "")
	if s := r.settle(); s.ModelFile != "resnet18-f32.safetensors" || !s.Cached || r.store.loads[0] != "/web/models/resnet18-f32.safetensors" {
		t.Errorf("?model=: file %q cached %v loaded %q", s.ModelFile, s.Cached, r.store.loads)
	}
	r = newRig(t, rigOptions{gpu: noAdapter})
	r.c.start("../secret.safetensors", "", "")
	if r.settle(); r.store.loads[0] != "/web/models/"+defaultModel {
		t.Errorf("?model=../secret: loaded %q", r.store.loads)
	}
}

func TestControllerLoadFailures(t *testing.T) {
	data := encodedModel(t)

	// The download fails: the page says so, and images wait in vain
	// without a run.
	r := newRig(t, rigOptions{gpu: noAdapter, store: &fakeStore{answers: []storeAnswer{{err: errors.New("download: HTTP 404")}}}})
	s := r.started()
	if s.Phase != phaseFailed || s.ModelErr != "download: HTTP 404" {
		t.Fatalf("failed download: %s", brief(s))
	}
	r.c.takeFiles(images(t, 1))
	if s := r.settle(); s.Busy || len(s.Images) != 0 || s.Phase != phaseFailed {
		t.Errorf("an image without a model: %s", brief(s))
	}

	// A download that does not decode fails at once (no retry).
	r = newRig(t, rigOptions{gpu: noAdapter, store: &fakeStore{answers: []storeAnswer{{data: data[:len(data)/2]}}}})
	if s := r.started(); s.Phase != phaseFailed || s.ModelErr == "" {
		t.Errorf("a truncated download: %s", brief(s))
	}
	if loads, forgets := r.store.counts(); loads != 1 || forgets != 0 {
		t.Errorf("a truncated download: %d loads, %d forgets", loads, forgets)
	}

	// A cached copy that no longer decodes is forgotten and downloaded
	// again, once.
	r = newRig(t, rigOptions{gpu: noAdapter, store: &fakeStore{answers: []storeAnswer{
		{data: data[:len(data)-100], cached: true}, {data: data}}}})
	if s := r.started(); s.Phase != phaseReady || s.Cached {
		t.Errorf("a broken cached copy: %s", brief(s))
	}
	if loads, forgets := r.store.counts(); loads != 2 || forgets != 1 {
		t.Errorf("a broken cached copy: %d loads, %d forgets", loads, forgets)
	}
}

// On a software adapter with nothing remembered, the first image is
// answered by the engine a one-layer probe predicts faster, after one run;
// the other engine is timed afterwards, in the background; the faster is
// kept and remembered, and the next visit uses it without measuring.
func TestControllerAnswersFirstThenMeasures(t *testing.T) {
	for _, tc := range []struct {
		name               string
		gpuDelay, cpuDelay time.Duration
		gpuProbe, cpuProbe float64 // what one layer takes
		first, want        Backend
	}{
		{"CPU faster", 150 * time.Millisecond, time.Millisecond, 20, 1, BackendCPU, BackendCPU},
		{"GPU faster", time.Millisecond, 150 * time.Millisecond, 1, 20, BackendGPU, BackendGPU},
		// The probe can be wrong: the measurement puts it right for the
		// next runs.
		{"probe wrong", 150 * time.Millisecond, time.Millisecond, 1, 20, BackendGPU, BackendCPU},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cpu := &timedEngine{name: "cpu", classes: 10, delay: tc.cpuDelay, probeMs: tc.cpuProbe}
			gpu := &timedEngine{name: "webgpu (fake)", classes: 10, delay: tc.gpuDelay, probeMs: tc.gpuProbe}
			engineName := map[Backend]string{BackendCPU: "cpu", BackendGPU: "webgpu (fake)"}
			r := newRig(t, rigOptions{gpu: softwareAdapter, cpu: cpu, gpuEng: gpu})
			s := r.started()
			if s.Backend != BackendGPU || s.ChoiceState != "pending" || !strings.Contains(s.Choice, "software adapter (google swiftshader)") {
				t.Fatalf("before the first image: %s", brief(s))
			}
			if gpu.prepared.Load() != 1 || s.Status != statusReady || s.GPUStep != gpuReady {
				t.Errorf("warm-up: %d preparations, status %q, GPU step %q", gpu.prepared.Load(), s.Status, s.GPUStep)
			}
			// When the answer appears, one engine has run once.
			var runsAtFirst atomic.Int32
			r.plat.onMark = func(name string) {
				if name == "residual-first-top5" {
					runsAtFirst.Store(cpu.runs.Load()*10 + gpu.runs.Load())
				}
			}
			r.c.takeFiles(images(t, 1))
			s = r.settle()
			wantAtFirst := int32(1) // the GPU's one run
			if tc.first == BackendCPU {
				wantAtFirst = 10
			}
			if got := runsAtFirst.Load(); got != wantAtFirst {
				t.Errorf("runs when the first answer appeared: CPU %d, GPU %d; want one run of the %s", got/10, got%10, tc.first)
			}
			if cpu.probes.Load() != 1 || gpu.probes.Load() != 1 {
				t.Errorf("probes: CPU %d, GPU %d; want one each", cpu.probes.Load(), gpu.probes.Load())
			}
			// The answer on screen is the first one; the measurement
			// came after it.
			answered(t, s, 1, engineName[tc.first])
			if first, measured := r.plat.markAt("residual-first-top5"), r.plat.markAt("residual-measured"); measured <= first || s.MeasuredMs != measured {
				t.Errorf("first top-5 mark %v, measured mark %v (state %v)", first, measured, s.MeasuredMs)
			}
			if gpu.runs.Load() != 1 || cpu.runs.Load() != 1 {
				t.Errorf("runs: GPU %d, CPU %d; want one each", gpu.runs.Load(), cpu.runs.Load())
			}
			if s.Backend != tc.want || s.ChoiceState != "auto" ||
				!strings.HasPrefix(s.Choice, "Using the "+engineLabel(tc.want)+" engine: on this software adapter (google swiftshader) it took") {
				t.Errorf("after the measurement: %s", brief(s))
			}
			if !strings.Contains(s.Status, "(measured afterwards: WebGPU ") || s.Fallback != "" {
				t.Errorf("status %q fallback %q", s.Status, s.Fallback)
			}
			key := choiceKey(adapterKey(softwareAdapter), defaultModel)
			c, ok := parseChoice(r.settings.get(key))
			if !ok || c.Backend != tc.want || c.Manual || c.Size != defaultSize || c.GPUMs <= 0 || c.CPUMs <= 0 || fasterBackend(c.GPUMs, c.CPUMs) != tc.want {
				t.Fatalf("remembered %+v %v", c, ok)
			}

			// Running again uses the choice, without probing or measuring.
			r.c.rerun()
			s = r.settle()
			answered(t, s, 1, engineName[tc.want])
			if gpu.runs.Load()+cpu.runs.Load() != 3 || s.ChoiceState != "auto" || cpu.probes.Load() != 1 {
				t.Errorf("a second run: GPU %d CPU %d runs, %d probes, choice %s", gpu.runs.Load(), cpu.runs.Load(), cpu.probes.Load(), s.ChoiceState)
			}

			// The next visit starts from the remembered choice.
			r2 := newRig(t, rigOptions{gpu: softwareAdapter, settings: r.settings,
				cpu: &timedEngine{name: "cpu", classes: 10}, gpuEng: &timedEngine{name: "webgpu (fake)", classes: 10}})
			if s := r2.started(); s.Backend != tc.want || s.ChoiceState != "auto" {
				t.Errorf("next visit: %s", brief(s))
			}
		})
	}
}

// When the image comes before the GPU engine is ready (a ?sample= link),
// the CPU answers at once, alone: the GPU's shaders are compiled and its
// weights uploaded afterwards, then it is timed. The CPU's run had the
// machine to itself, so it is not run again.
func TestControllerAnswersOnCPUWhileGPUWarmsUp(t *testing.T) {
	cpu := &timedEngine{name: "cpu", classes: 10, delay: 100 * time.Millisecond}
	gpu := &timedEngine{name: "webgpu (fake)", classes: 10, delay: 250 * time.Millisecond, stepDelay: 10 * time.Millisecond}
	// The weights take a moment to come, as from a cache: the image is
	// there before their header.
	slow := &fakeStore{answers: []storeAnswer{{data: encodedModel(t), cached: true}}, delay: 50 * time.Millisecond}
	r := newRig(t, rigOptions{gpu: softwareAdapter, cpu: cpu, gpuEng: gpu, store: slow})
	var runsAtFirst, stepsAtFirst, compilesAtFirst atomic.Int32
	stepsAtFirst.Store(-1)
	r.plat.onMark = func(name string) {
		if name == "residual-first-top5" {
			runsAtFirst.Store(cpu.runs.Load()*10 + gpu.runs.Load())
			stepsAtFirst.Store(gpu.steps.Load())
			compilesAtFirst.Store(r.precompiles.Load())
		}
	}
	// The image is given before the model has loaded: the run waits for it
	// and for the probe, and the warm-up does not start (files are there).
	r.c.takeFiles(images(t, 2))
	r.c.start("", "", "")
	s := r.settle()
	answered(t, s, 2, "cpu")
	if got := runsAtFirst.Load(); got != 10 {
		t.Errorf("runs when the first answer appeared: CPU %d, GPU %d; want one of the CPU", got/10, got%10)
	}
	if got := stepsAtFirst.Load(); got != 0 {
		t.Errorf("the GPU engine's preparation went %d steps during the CPU's answer, want it held", got)
	}
	if gpu.steps.Load() != 4 {
		t.Errorf("the GPU engine's preparation did %d of 4 steps after the answer", gpu.steps.Load())
	}
	// The shaders compile after the answer too, not while the image waits.
	if compilesAtFirst.Load() != 0 || r.precompiles.Load() != 1 {
		t.Errorf("precompiled %d times before the first answer, %d in all; want 0, then 1", compilesAtFirst.Load(), r.precompiles.Load())
	}
	if cpu.runs.Load() != 1 || gpu.runs.Load() != 1 || cpu.probes.Load() != 0 {
		t.Errorf("runs: CPU %d, GPU %d; %d probes; want one run each", cpu.runs.Load(), gpu.runs.Load(), cpu.probes.Load())
	}
	if s.Backend != BackendCPU || s.ChoiceState != "auto" || s.Shown.Latency.Runs != 1 {
		t.Errorf("%s", brief(s))
	}
}

// A run asked for during the background measurement cancels it; that
// run predicts again and the measurement follows it.
func TestControllerRunCancelsMeasurement(t *testing.T) {
	cpu := &timedEngine{name: "cpu", classes: 10, delay: 300 * time.Millisecond, probeMs: 20}
	gpu := &timedEngine{name: "webgpu (fake)", classes: 10, delay: time.Millisecond, probeMs: 1}
	r := newRig(t, rigOptions{gpu: softwareAdapter, cpu: cpu, gpuEng: gpu})
	r.started()
	r.c.takeFiles(images(t, 1))
	deadline := time.Now().Add(10 * time.Second)
	for cpu.runs.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if s := r.c.state(); s.Busy || len(s.Images) != 1 || s.ChoiceState != "measuring" ||
		!strings.HasPrefix(s.Choice, "One layer (") || !strings.Contains(s.Status, "Measuring the CPU engine in the background") {
		t.Fatalf("during the measurement: %s", brief(s))
	}
	r.c.takeFiles(images(t, 1))
	s := r.settle()
	answered(t, s, 1, "webgpu (fake)")
	if cpu.canceled.Load() != 1 || cpu.runs.Load() != 2 || gpu.runs.Load() != 2 || gpu.probes.Load() != 2 {
		t.Errorf("CPU %d runs (%d canceled), GPU %d runs, %d probes", cpu.runs.Load(), cpu.canceled.Load(), gpu.runs.Load(), gpu.probes.Load())
	}
	if s.ChoiceState != "auto" || s.Backend != BackendGPU {
		t.Errorf("after: %s", brief(s))
	}
}

// The GPU engine fails to build, to run, or to run while measured: the
// answer comes from the CPU, with a message saying why.
func TestControllerFallsBackToCPU(t *testing.T) {
	t.Run("build", func(t *testing.T) {
		r := newRig(t, rigOptions{gpu: hardwareAdapter, gpuErr: errors.New("device lost")})
		s := r.started()
		if s.Backend != BackendCPU || s.Fallback != "The GPU engine could not start (device lost); images will run on the CPU." {
			t.Fatalf("after a failed warm-up: %s", brief(s))
		}
		r.c.takeFiles(images(t, 1))
		answered(t, r.settle(), 1, "cpu")
		// The toggle still offers the GPU; choosing it falls back again,
		// with the run's own message.
		r.c.setBackend(BackendGPU)
		s = r.settle()
		answered(t, s, 1, "cpu")
		if s.Backend != BackendGPU || s.Fallback != "The GPU engine could not start (device lost); running on the CPU." {
			t.Errorf("the GPU chosen by hand: %s", brief(s))
		}
	})
	t.Run("run", func(t *testing.T) {
		gpu := &timedEngine{name: "webgpu (fake)", classes: 10, fail: errors.New("out of memory")}
		r := newRig(t, rigOptions{gpu: hardwareAdapter, gpuEng: gpu})
		if s := r.started(); s.Backend != BackendGPU || s.Fallback != "" || s.ChoiceState != "" {
			t.Fatalf("hardware adapter: %s", brief(s))
		}
		r.c.takeFiles(images(t, 1))
		s := r.settle()
		answered(t, s, 1, "cpu")
		if s.Fallback != "The GPU engine failed (webgpu (fake) engine: out of memory); this answer comes from the CPU." {
			t.Errorf("fallback %q", s.Fallback)
		}
	})
	t.Run("measured", func(t *testing.T) {
		gpu := &timedEngine{name: "webgpu (fake)", classes: 10, fail: errors.New("lost")}
		r := newRig(t, rigOptions{gpu: softwareAdapter, gpuEng: gpu})
		r.started()
		r.c.takeFiles(images(t, 1))
		s := r.settle()
		answered(t, s, 1, "cpu")
		if s.Backend != BackendCPU || s.Fallback != "The GPU engine failed (webgpu (fake) engine: lost); images run on the CPU." || s.ChoiceState != "" {
			t.Errorf("a failed measurement: %s", brief(s))
		}
		if v := r.settings.get(choiceKey(adapterKey(softwareAdapter), defaultModel)); v != "" {
			t.Errorf("a failed measurement was remembered: %q", v)
		}
	})
}

// Bad files beside good ones: the good ones run, each bad one is named.
func TestControllerBadFilesMixedIn(t *testing.T) {
	r := newRig(t, rigOptions{gpu: noAdapter})
	r.started()
	r.c.takeFiles([]fileSource{
		testFile{name: "cat.png", data: photo(t, 120, 90, "png")},
		testFile{name: "notes.txt", data: []byte("not an image")},
		testFile{name: "gone.jpg", err: errors.New("gone.jpg: cannot read the file: NotReadableError")},
		testFile{name: "dog.jpg", data: photo(t, 90, 120, "jpeg")},
	})
	s := r.settle()
	answered(t, s, 2, "cpu")
	if s.Images[0].Name != "cat.png" || s.Images[1].Name != "dog.jpg" {
		t.Errorf("images %q %q", s.Images[0].Name, s.Images[1].Name)
	}
	if len(s.Problems) != 2 || !strings.Contains(s.Problems[0], "notes.txt") || !strings.Contains(s.Problems[1], "gone.jpg") {
		t.Errorf("problems %q", s.Problems)
	}
	if s.Rows[0].Shape != "[2, 3, 224, 224]" || s.Batch != 2 || s.Rows[1].Name != "conv1" || s.Rows[1].Time == "–" {
		t.Errorf("inspector: input %s, batch %d, %s time %s", s.Rows[0].Shape, s.Batch, s.Rows[1].Name, s.Rows[1].Time)
	}
	if s.Shown.Latency.Runs != 1 || s.FirstMs == 0 || s.FirstMs != r.plat.markAt("residual-first-top5") {
		t.Errorf("latency %+v, first top-5 mark %v", s.Shown.Latency, s.FirstMs)
	}

	// Nothing usable: the problems are new, and the answer of the images
	// before goes with them (one input at a time).
	r.c.takeFiles([]fileSource{testFile{name: "notes.txt", data: []byte("still not an image")}})
	s = r.settle()
	if s.Busy || s.Status != "Nothing to classify: no file was an image this app can read." || len(s.Problems) != 1 || len(s.Images) != 0 {
		t.Errorf("all bad: %s", brief(s))
	}
	r.c.dismissProblems()
	r.c.emptyDrop()
	r.c.addProblem("Paste: the clipboard holds no image")
	if s := r.c.state(); len(s.Problems) != 2 || !strings.HasPrefix(s.Problems[0], "The drop held no files") {
		t.Errorf("problems %q", s.Problems)
	}
}

// A drop of 40 photos runs as one batch; beyond maxBatch the rest are
// named, not run.
func TestControllerLargeBatch(t *testing.T) {
	r := newRig(t, rigOptions{gpu: noAdapter})
	r.started()
	r.c.takeFiles(images(t, 40))
	s := r.settle()
	answered(t, s, 40, "cpu")
	if len(s.Problems) != 0 || s.Rows[0].Shape != "[40, 3, 224, 224]" {
		t.Errorf("40 images: problems %q, input %s", s.Problems, s.Rows[0].Shape)
	}
	cpu := &timedEngine{name: "cpu", classes: 10}
	r = newRig(t, rigOptions{gpu: noAdapter, cpu: cpu})
	r.started()
	r.c.takeFiles(images(t, maxBatch+3))
	s = r.settle()
	answered(t, s, maxBatch, "cpu")
	if len(s.Problems) != 3 || !strings.Contains(s.Problems[0], fmt.Sprintf("at most %d images", maxBatch)) || cpu.runs.Load() != 1 {
		t.Errorf("%d images: problems %q, %d runs", maxBatch+3, s.Problems, cpu.runs.Load())
	}
}

// A new size re-plans and runs the images again; sizes the control does
// not offer are ignored.
func TestControllerSizeChange(t *testing.T) {
	r := newRig(t, rigOptions{gpu: noAdapter})
	r.started()
	r.c.setSize(160)
	if s := r.settle(); s.Size != 160 || s.Rows[0].Shape != "[1, 3, 160, 160]" || s.Measured {
		t.Errorf("160 without images: size %d, input %s, measured %v", s.Size, s.Rows[0].Shape, s.Measured)
	}
	r.c.takeFiles(images(t, 2))
	answered(t, r.settle(), 2, "cpu")
	r.c.setSize(288)
	s := r.settle()
	answered(t, s, 2, "cpu")
	if s.Size != 288 || s.Shown.Size != 288 || s.Rows[0].Shape != "[2, 3, 288, 288]" || s.Shown.Latency.Runs != 1 {
		t.Errorf("288: %s; input %s", brief(s), s.Rows[0].Shape)
	}
	r.c.setSize(100)
	if s := r.settle(); s.Size != 288 {
		t.Errorf("size 100 accepted: %d", s.Size)
	}

	// On a software adapter one measurement serves every size: at 320
	// the chosen engine runs at once, without probing or measuring.
	cpu := &timedEngine{name: "cpu", classes: 10}
	gpu := &timedEngine{name: "webgpu (fake)", classes: 10, delay: 20 * time.Millisecond}
	r = newRig(t, rigOptions{gpu: softwareAdapter, cpu: cpu, gpuEng: gpu})
	r.started()
	r.c.takeFiles(images(t, 1))
	r.settle()
	r.c.setSize(320)
	if s := r.settle(); s.ChoiceState != "auto" || s.Shown.Size != 320 || gpu.runs.Load() != 1 || cpu.runs.Load() != 2 ||
		!strings.Contains(s.Choice, "(measured at 224×224, scaled to 320×320 by the network's MACs") {
		t.Errorf("320 after a measurement at 224: %s; GPU %d CPU %d runs", brief(s), gpu.runs.Load(), cpu.runs.Load())
	}
	r.c.setBackend(BackendGPU)
	r.settle()
	r.c.setSize(160)
	if s := r.settle(); s.ChoiceState != "manual" || s.Backend != BackendGPU || s.Shown.Engine != "webgpu (fake)" {
		t.Errorf("160 after a choice by hand: %s", brief(s))
	}

	// Quick changes (arrow keys) run once, at the last size; the plan
	// follows each at once.
	runs := cpu.runs.Load() + gpu.runs.Load()
	for _, n := range []int{224, 288, 320} {
		r.c.setSize(n)
		if s := r.c.state(); s.Rows[0].Shape != fmt.Sprintf("[1, 3, %d, %d]", n, n) || !strings.Contains(s.Status, "running again in a moment") {
			t.Errorf("just after choosing %d: input %s, status %q", n, s.Rows[0].Shape, s.Status)
		}
	}
	if s := r.settle(); s.Shown.Size != 320 || cpu.runs.Load()+gpu.runs.Load() != runs+1 {
		t.Errorf("three quick size changes: %d runs, answer at %d", cpu.runs.Load()+gpu.runs.Load()-runs, s.Shown.Size)
	}
}

// ?engine= picks the engine for the visit without measuring or
// remembering; ?sample= runs a sample photo at once.
func TestControllerLinkedEngineAndSample(t *testing.T) {
	cpu := &timedEngine{name: "cpu", classes: 10}
	gpu := &timedEngine{name: "webgpu (fake)", classes: 10}
	r := newRig(t, rigOptions{gpu: softwareAdapter, cpu: cpu, gpuEng: gpu})
	r.plat.samples = map[string][]byte{"/web/samples/chelsea.jpg": photo(t, 64, 48, "jpeg")}
	r.c.start("", "cpu", "chelsea.jpg")
	s := r.settle()
	answered(t, s, 1, "cpu")
	if s.Images[0].Name != "chelsea.jpg" || s.ChoiceState != "link" || gpu.runs.Load() != 0 {
		t.Errorf("?engine=cpu&sample=chelsea.jpg: %s; GPU runs %d", brief(s), gpu.runs.Load())
	}
	if v := r.settings.get(choiceKey(adapterKey(softwareAdapter), defaultModel)); v != "" {
		t.Errorf("?engine= remembered: %q", v)
	}
	r.c.takeSample("not-a-sample.jpg")
	if s := r.settle(); s.Images[0].Name != "chelsea.jpg" || s.Busy {
		t.Errorf("an unknown sample ran: %s", brief(s))
	}
}

// Forgetting removes the cached weights; a failure is shown.
func TestControllerForget(t *testing.T) {
	data := encodedModel(t)
	r := newRig(t, rigOptions{gpu: noAdapter, store: &fakeStore{answers: []storeAnswer{{data: data, cached: true}}}})
	if s := r.started(); !s.Cached {
		t.Fatalf("not cached: %s", brief(s))
	}
	r.c.forget()
	s := r.settle()
	if !s.Forgotten {
		t.Error("forget: the state does not say the copy is forgotten")
	}
	if s.Cached || s.Status != "The cached weights are gone: the next visit downloads them again." || len(r.store.forgot) != 1 ||
		r.store.forgot[0] != "/web/models/"+defaultModel {
		t.Errorf("forget: %s; forgot %q", brief(s), r.store.forgot)
	}
	r.store.forgetErr = errors.New("forget /web/models/x: SecurityError")
	r.c.forget()
	if s := r.settle(); len(s.Problems) != 1 || !strings.Contains(s.Problems[0], "SecurityError") {
		t.Errorf("a failed forget: %s", brief(s))
	}
}

// Images given while a run is under way run afterwards: the latest win.
func TestControllerRunsTheLatest(t *testing.T) {
	cpu := &timedEngine{name: "cpu", classes: 10, delay: 50 * time.Millisecond}
	r := newRig(t, rigOptions{gpu: noAdapter, cpu: cpu})
	r.started()
	r.c.takeFiles(images(t, 1))
	deadline := time.Now().Add(10 * time.Second)
	for !r.c.state().Busy && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	r.c.takeFiles(images(t, 3))
	s := r.settle()
	answered(t, s, 3, "cpu")
	if n := cpu.runs.Load(); n != 2 {
		t.Errorf("%d runs, want 2", n)
	}
}

// The controller's files do not import go-app: the policy stays testable
// without a page.
func TestControllerHasNoGoApp(t *testing.T) {
	files, _ := filepath.Glob("controller*.go")
	files = append(files, "measure.go", "choice.go", "engines.go", "platform.go", "pipeline.go", "settings.go", "loading.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		ast, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, im := range ast.Imports {
			if strings.Contains(im.Path.Value, "maxence-charriere/go-app") {
				t.Errorf("%s imports %s", f, im.Path.Value)
			}
		}
	}
}

// Loading names each step while it runs, with its progress: the
// download, the decoding, the GPU engine's shaders and weights; the
// status line says what an image would wait for.
func TestControllerNamesEachLoadingStep(t *testing.T) {
	gpu := &timedEngine{name: "webgpu (fake)", classes: 10}
	// A slow download: the adapter is known and the GPU compiles while
	// the weights come.
	slow := &fakeStore{answers: []storeAnswer{{data: encodedModel(t)}}, delay: 150 * time.Millisecond}
	r := newRig(t, rigOptions{gpu: softwareAdapter, gpuEng: gpu, store: slow})
	s := r.started()
	if s.Phase != phaseReady || s.GPUStep != gpuReady || s.Status != statusReady {
		t.Fatalf("loaded: %s, GPU step %q", brief(s), s.GPUStep)
	}
	trace := r.seen()
	first := func(part string) int {
		for i, l := range trace {
			if strings.Contains(l, part) {
				return i
			}
		}
		t.Fatalf("the page never showed %q:\n  %s", part, strings.Join(trace, "\n  "))
		return -1
	}
	down := first("downloading Downloading the weights: ")
	dec := first("decoding Decoding the weights")
	ready := first("ready |")
	comp := first("GPU engine: compiling shaders, layer ")
	up := first("GPU engine: uploading weights, layer ")
	gpuOK := first("GPU engine: ready")
	if !(down < dec && dec < ready && comp < up && up < gpuOK) {
		t.Errorf("steps out of order:\n  %s", strings.Join(trace, "\n  "))
	}
	if !strings.HasPrefix(trace[down][strings.LastIndex(trace[down], " | ")+3:], "Loading (downloading the weights: ") {
		t.Errorf("status while downloading: %q", trace[down])
	}
	if r.plat.markAt("residual-model-ready") == 0 || r.plat.markAt("residual-gpu-ready") == 0 {
		t.Errorf("marks %q", r.plat.marks)
	}

	// An image given while loading says what it waits for, then runs.
	slow = &fakeStore{answers: []storeAnswer{{data: encodedModel(t)}}, delay: 200 * time.Millisecond}
	r = newRig(t, rigOptions{gpu: noAdapter, store: slow})
	r.c.start("", "", "")
	r.c.takeFiles(images(t, 1))
	const want = "Your image runs when the model is ready (downloading the weights: "
	deadline := time.Now().Add(10 * time.Second)
	for !strings.HasPrefix(r.c.state().Status, want) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if s := r.c.state(); !strings.HasPrefix(s.Status, want) {
		t.Errorf("an image during the download: status %q", s.Status)
	}
	answered(t, r.settle(), 1, "cpu")
}

// breathe gives the browser its thread back once breatheEvery has passed
// since any of the page's goroutines did, not more often.
func TestBreathe(t *testing.T) {
	r := newRig(t, rigOptions{gpu: noAdapter})
	lastBreath.Store(time.Now().Add(-time.Second).UnixNano())
	r.c.breathe()
	r.c.breathe()
	if n := r.plat.pauses.Load(); n != 1 {
		t.Errorf("%d pauses, want 1", n)
	}
	// The clock is the page's, not the caller's: another goroutine (an
	// engine) is not due either, until breatheEvery has passed.
	if breatheWith(func() {}) {
		t.Error("an engine paused at once after the controller did")
	}
	lastBreath.Store(time.Now().Add(-breatheEvery).UnixNano())
	if !breatheWith(func() {}) {
		t.Error("no pause when one was due")
	}
}

// An image that comes while the GPU engine is still getting ready (its
// warm-up started when the model loaded) is answered by the CPU, the
// warm-up held meanwhile; as the machine was shared, the CPU runs again
// after the GPU for a fair time.
func TestControllerRetimesSharedAnswer(t *testing.T) {
	cpu := &timedEngine{name: "cpu", classes: 10, delay: 50 * time.Millisecond}
	gpu := &timedEngine{name: "webgpu (fake)", classes: 10, delay: 200 * time.Millisecond, stepDelay: 50 * time.Millisecond}
	r := newRig(t, rigOptions{gpu: softwareAdapter, cpu: cpu, gpuEng: gpu})
	r.c.start("", "", "")
	deadline := time.Now().Add(10 * time.Second)
	for s := r.c.state(); (s.Phase != phaseReady || gpu.prepared.Load() == 0) && time.Now().Before(deadline); s = r.c.state() {
		time.Sleep(time.Millisecond)
	}
	r.c.takeFiles(images(t, 1))
	s := r.settle()
	answered(t, s, 1, "cpu")
	if cpu.runs.Load() != 2 || gpu.runs.Load() != 1 || s.Shown.Latency.Runs != 2 || s.ChoiceState != "auto" {
		t.Errorf("CPU %d runs, GPU %d; %s", cpu.runs.Load(), gpu.runs.Load(), brief(s))
	}
	if !strings.HasPrefix(s.Choice, "Using the CPU engine") {
		t.Errorf("choice %q", s.Choice)
	}
}

// On a hardware adapter an image waits for the GPU engine, and the status
// line says so while it compiles.
func TestControllerStatusWhileGPUPrepares(t *testing.T) {
	gpu := &timedEngine{name: "webgpu (fake)", classes: 10}
	r := newRig(t, rigOptions{gpu: hardwareAdapter, gpuEng: gpu})
	r.started()
	r.c.update(func() { r.c.gpuStep, r.c.gpuDone, r.c.gpuTotal = gpuCompiling, 3, 58 })
	if s := r.c.state(); s.Status != "Loading (preparing the GPU engine: compiling shaders, layer 3 of 58). You can choose an image now: it runs as soon as the model is ready." {
		t.Errorf("status %q", s.Status)
	}
	// On a software adapter with nothing measured the CPU answers first:
	// nothing to wait for.
	r = newRig(t, rigOptions{gpu: softwareAdapter, gpuEng: &timedEngine{name: "webgpu (fake)", classes: 10}})
	r.started()
	r.c.update(func() { r.c.gpuStep, r.c.gpuDone, r.c.gpuTotal = gpuCompiling, 3, 58 })
	if s := r.c.state(); s.Status != statusReady {
		t.Errorf("software adapter: status %q", s.Status)
	}
}
