package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"path/filepath"
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
}

// storeAnswer is what one load returns.
type storeAnswer struct {
	data   []byte
	cached bool
	err    error
}

func (s *fakeStore) load(url string, progress func([]byte, int64, bool)) ([]byte, bool, error) {
	s.mu.Lock()
	a := s.answers[min(len(s.loads), len(s.answers)-1)]
	s.loads = append(s.loads, url)
	s.mu.Unlock()
	if a.err != nil {
		return nil, false, a.err
	}
	// Two chunks, as a download reports them.
	half := len(a.data) / 2
	progress(a.data[:half], int64(len(a.data)), a.cached)
	progress(a.data, int64(len(a.data)), a.cached)
	return a.data, a.cached, nil
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

// fakePlatform is a browser with a given WebGPU adapter and sample photos.
type fakePlatform struct {
	gpu     gpuInfo
	samples map[string][]byte
}

func (p *fakePlatform) probeGPU() gpuInfo { return p.gpu }
func (p *fakePlatform) fetch(url string) ([]byte, error) {
	if b, ok := p.samples[url]; ok {
		return b, nil
	}
	return nil, errors.New(url + ": 404")
}
func (p *fakePlatform) yield()                   {}
func (p *fakePlatform) mark(name string) float64 { return 1234 }

// testFile is an image the user gave.
type testFile struct {
	name string
	data []byte
	err  error
}

func (f testFile) fileName() string      { return f.name }
func (f testFile) read() ([]byte, error) { return f.data, f.err }

// timedEngine is a model.Engine (and a model.Preparer) that takes delay
// per run and answers from the input's first pixel, so that every engine
// agrees; fail makes runs fail, prepareErr makes Prepare fail.
type timedEngine struct {
	name       string
	classes    int
	delay      time.Duration
	fail       error
	prepareErr error
	runs       atomic.Int32
	prepared   atomic.Int32
	closed     atomic.Bool
}

func (e *timedEngine) Run(ctx context.Context, x *model.Tensor, _ model.RunOptions) (*model.Result, error) {
	e.runs.Add(1)
	time.Sleep(e.delay)
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
	return e.prepareErr
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
		changed: func() { r.changes.Add(1) },
	})
	t.Cleanup(r.wg.Wait)
	return r
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
	if s.Phase != phaseIdle || s.Size != defaultSize || s.ModelFile != defaultModel || s.Status != statusIdle ||
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

// On a software adapter with nothing remembered, the first image runs on
// both engines; the faster is kept, shown and remembered, and the next
// visit uses it without measuring.
func TestControllerMeasuresOnSoftwareAdapter(t *testing.T) {
	for _, tc := range []struct {
		name               string
		gpuDelay, cpuDelay time.Duration
		want               Backend
		wantEngine         string
	}{
		{"CPU faster", 150 * time.Millisecond, time.Millisecond, BackendCPU, "cpu"},
		{"GPU faster", time.Millisecond, 150 * time.Millisecond, BackendGPU, "webgpu (fake)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cpu := &timedEngine{name: "cpu", classes: 10, delay: tc.cpuDelay}
			gpu := &timedEngine{name: "webgpu (fake)", classes: 10, delay: tc.gpuDelay}
			r := newRig(t, rigOptions{gpu: softwareAdapter, cpu: cpu, gpuEng: gpu})
			s := r.started()
			if s.Backend != BackendGPU || s.ChoiceState != "pending" || !strings.Contains(s.Choice, "software adapter (google swiftshader)") {
				t.Fatalf("before the first image: %s", brief(s))
			}
			if gpu.prepared.Load() != 1 || s.Status != "Ready: drop, paste or choose an image, or try a sample." {
				t.Errorf("warm-up: %d preparations, status %q", gpu.prepared.Load(), s.Status)
			}
			r.c.takeFiles(images(t, 1))
			s = r.settle()
			answered(t, s, 1, tc.wantEngine)
			if s.Backend != tc.want || s.ChoiceState != "auto" ||
				!strings.HasPrefix(s.Choice, "Using the "+engineLabel(tc.want)+" engine: on this software adapter (google swiftshader) it took") {
				t.Errorf("after the measurement: %s", brief(s))
			}
			if !strings.Contains(s.Status, "(measured: WebGPU ") || s.Fallback != "" {
				t.Errorf("status %q fallback %q", s.Status, s.Fallback)
			}
			if gpu.runs.Load() != 1 || cpu.runs.Load() != 1 {
				t.Errorf("runs: GPU %d, CPU %d; want one warm run each", gpu.runs.Load(), cpu.runs.Load())
			}
			key := choiceKey(adapterKey(softwareAdapter), defaultModel, defaultSize)
			c, ok := parseChoice(r.settings.get(key))
			if !ok || c.Backend != tc.want || c.Manual || c.GPUMs <= 0 || c.CPUMs <= 0 || fasterBackend(c.GPUMs, c.CPUMs) != tc.want {
				t.Fatalf("remembered %+v %v", c, ok)
			}

			// Running again uses the choice, without measuring.
			r.c.rerun()
			s = r.settle()
			answered(t, s, 1, tc.wantEngine)
			if gpu.runs.Load()+cpu.runs.Load() != 3 || s.ChoiceState != "auto" {
				t.Errorf("a second run: GPU %d CPU %d runs, choice %s", gpu.runs.Load(), cpu.runs.Load(), s.ChoiceState)
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

// When the image comes before the GPU engine is ready, the CPU answers
// first, then both are timed.
func TestControllerMeasuresWhileGPUWarmsUp(t *testing.T) {
	cpu := &timedEngine{name: "cpu", classes: 10, delay: time.Millisecond}
	gpu := &timedEngine{name: "webgpu (fake)", classes: 10, delay: 100 * time.Millisecond}
	r := newRig(t, rigOptions{gpu: softwareAdapter, cpu: cpu, gpuEng: gpu})
	// The image is given before the model has loaded: the run waits for it
	// and for the probe, and the warm-up does not start (files are there).
	r.c.takeFiles(images(t, 2))
	r.c.start("", "", "")
	s := r.settle()
	answered(t, s, 2, "cpu")
	if cpu.runs.Load() != 2 || gpu.runs.Load() != 1 {
		t.Errorf("runs: CPU %d (an untimed first answer, then the timed one), GPU %d", cpu.runs.Load(), gpu.runs.Load())
	}
	if s.Backend != BackendCPU || s.ChoiceState != "auto" {
		t.Errorf("%s", brief(s))
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
		if v := r.settings.get(choiceKey(adapterKey(softwareAdapter), defaultModel, defaultSize)); v != "" {
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
	if s.Shown.Latency.Runs != 1 || s.FirstMs != 1234 {
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

	// On a software adapter a choice by hand carries over to a new size;
	// a measured one does not.
	cpu := &timedEngine{name: "cpu", classes: 10}
	gpu := &timedEngine{name: "webgpu (fake)", classes: 10, delay: 20 * time.Millisecond}
	r = newRig(t, rigOptions{gpu: softwareAdapter, cpu: cpu, gpuEng: gpu})
	r.started()
	r.c.takeFiles(images(t, 1))
	r.settle()
	r.c.setSize(320)
	// At 320 the GPU engine is not warm for this shape: the CPU answers
	// first, then both are timed.
	if s := r.settle(); s.ChoiceState != "auto" || s.Shown.Size != 320 || gpu.runs.Load() != 2 || cpu.runs.Load() != 3 {
		t.Errorf("320 after a measurement at 224: %s; GPU %d CPU %d runs", brief(s), gpu.runs.Load(), cpu.runs.Load())
	}
	r.c.setBackend(BackendGPU)
	r.settle()
	r.c.setSize(160)
	if s := r.settle(); s.ChoiceState != "manual" || s.Backend != BackendGPU || s.Shown.Engine != "webgpu (fake)" {
		t.Errorf("160 after a choice by hand: %s", brief(s))
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
	if v := r.settings.get(choiceKey(adapterKey(softwareAdapter), defaultModel, defaultSize)); v != "" {
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
	files = append(files, "measure.go", "choice.go", "engines.go", "platform.go", "pipeline.go", "settings.go")
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
