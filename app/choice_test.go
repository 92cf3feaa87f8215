package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/weights"
)

func TestChoiceRoundTrip(t *testing.T) {
	for _, c := range []engineChoice{
		{Backend: BackendCPU, GPUMs: 9800, CPUMs: 4100, Size: 224},
		{Backend: BackendGPU, GPUMs: 1200.5, CPUMs: 3000, Size: 320},
		{Backend: BackendGPU, Manual: true},
		{Backend: BackendCPU, Manual: true, GPUMs: 9800, CPUMs: 4100, Size: 224},
	} {
		got, ok := parseChoice(c.encode())
		if !ok || got != c {
			t.Errorf("%+v → %q → %+v, %v", c, c.encode(), got, ok)
		}
	}
}

func TestParseChoiceRejects(t *testing.T) {
	for _, s := range []string{
		"",
		"cpu",
		`{"backend":"tpu","gpuMs":1,"cpuMs":2}`,
		`{"backend":"cpu"}`,                     // automatic without timings
		`{"backend":"cpu","gpuMs":1}`,           // half measured
		`{"backend":"cpu","gpuMs":1,"cpuMs":2}`, // timings without their size (v1's form)
		`{"backend":"cpu","manual":true,"gpuMs":1,"cpuMs":2}`,
		`{"backend":"cpu","gpuMs":1,"cpuMs":2,"size":-224}`,
		`{"backend":"gpu","gpuMs":-1,"cpuMs":2}`,    // negative
		`{"backend":"gpu","gpuMs":1e400,"cpuMs":2}`, // overflows: not JSON-decodable into float64
		`{"backend":"gpu","gpuMs":"1","cpuMs":2}`,
		`[1,2]`,
	} {
		if c, ok := parseChoice(s); ok {
			t.Errorf("parseChoice(%q) = %+v, want rejected", s, c)
		}
	}
}

func TestFasterBackend(t *testing.T) {
	if b := fasterBackend(9800, 4100); b != BackendCPU {
		t.Errorf("GPU 9.8 s, CPU 4.1 s → %s", b)
	}
	if b := fasterBackend(900, 4100); b != BackendGPU {
		t.Errorf("GPU 0.9 s, CPU 4.1 s → %s", b)
	}
	if b := fasterBackend(1000, 1000); b != BackendGPU {
		t.Errorf("a tie → %s, want the GPU (it leaves the page's thread free)", b)
	}
}

func TestChoiceMessages(t *testing.T) {
	a := "google swiftshader"
	cases := []struct {
		c    engineChoice
		want []string
	}{
		{engineChoice{Backend: BackendCPU, GPUMs: 9800, CPUMs: 4100, Size: 224},
			[]string{"Using the CPU engine: on this software adapter (google swiftshader) it took 4.1 s per image against 9.8 s on WebGPU (measured at 224×224;"}},
		{engineChoice{Backend: BackendGPU, GPUMs: 850, CPUMs: 4100, Size: 224},
			[]string{"Using the GPU engine: on this software adapter (google swiftshader) it took 850 ms per image against 4.1 s on the CPU"}},
		{engineChoice{Backend: BackendGPU, Manual: true, GPUMs: 9800, CPUMs: 4100, Size: 224},
			[]string{"Using the GPU engine, as you chose.", "4.1 s per image on the CPU, 9.8 s on WebGPU (measured at 224×224)"}},
	}
	for _, tc := range cases {
		got := tc.c.message(a, 0)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%+v: message %q lacks %q", tc.c, got, w)
			}
		}
	}
	if got := (engineChoice{Backend: BackendCPU, Manual: true}).message(a, 0); got != "Using the CPU engine, as you chose." {
		t.Errorf("manual without timings: %q", got)
	}
	if got := (engineChoice{}).message(a, 0); got != "" {
		t.Errorf("no choice: %q", got)
	}
	// Timings measured at 224 and scaled to 320 say so.
	c := engineChoice{Backend: BackendCPU, GPUMs: 9800, CPUMs: 4100, Size: 224}.scaled(320, 2)
	if c.GPUMs != 19600 || c.CPUMs != 8200 || c.Size != 320 {
		t.Fatalf("scaled: %+v", c)
	}
	if got := c.message(a, 224); !strings.Contains(got, "it took 8.2 s per image against 19.6 s on WebGPU (measured at 224×224, scaled to 320×320 by the network's MACs;") {
		t.Errorf("scaled message %q", got)
	}
}

func TestChoiceKeySeparates(t *testing.T) {
	sw := gpuInfo{Available: true, Vendor: "google", Architecture: "swiftshader", Fallback: true}
	hw := gpuInfo{Available: true, Vendor: "google", Architecture: "swiftshader"}
	keys := map[string]bool{}
	for _, k := range []string{
		choiceKey(adapterKey(sw), "a.safetensors"),
		choiceKey(adapterKey(sw), "b.safetensors"),
		choiceKey(adapterKey(hw), "a.safetensors"),
	} {
		if keys[k] {
			t.Errorf("key %q repeats", k)
		}
		keys[k] = true
	}
}

// choicePage is a controller whose adapter has been probed, with a GPU
// engine constructor stub so that the GPU counts as usable.
func choicePage(t *testing.T, g gpuInfo) *controller {
	t.Helper()
	p := newController(controllerDeps{engines: engineMakers{
		cpu: newCPUEngine,
		gpu: func(*weights.Model) (model.Engine, error) { return nil, errors.New("stub") },
	}})
	p.gpu, p.probed, p.backend = g, true, BackendGPU
	return p
}

func TestApplyChoice(t *testing.T) {
	sw := gpuInfo{Available: true, Vendor: "google", Architecture: "swiftshader", Fallback: true}

	// A software adapter with nothing remembered measures.
	p := choicePage(t, sw)
	p.applyChoice()
	if !p.measure || p.backend != BackendGPU {
		t.Fatalf("fresh software adapter: measure %v backend %s", p.measure, p.backend)
	}
	if text, state := p.choiceNote(); state != "pending" || !strings.Contains(text, "google swiftshader") ||
		!strings.Contains(text, "the first image runs on the engine predicted faster, and the other is measured afterwards") {
		t.Errorf("pending note %q (%s)", text, state)
	}

	// A remembered automatic choice is used without measuring.
	p.settings.set(p.choiceKey(), engineChoice{Backend: BackendCPU, GPUMs: 9800, CPUMs: 4100, Size: 224}.encode())
	p.applyChoice()
	if p.measure || p.backend != BackendCPU {
		t.Fatalf("remembered CPU: measure %v backend %s", p.measure, p.backend)
	}
	if text, state := p.choiceNote(); state != "auto" || !strings.HasPrefix(text, "Using the CPU engine: on this software adapter (google swiftshader) it took 4.1 s") {
		t.Errorf("auto note %q (%s)", text, state)
	}

	// It serves every input size, its timings scaled by the network's
	// MACs: no new measurement at 320.
	p.mdl = tinyModel(t)
	p.size = 320
	p.applyChoice()
	if p.measure || p.backend != BackendCPU {
		t.Fatalf("320 after a measurement at 224: measure %v backend %s", p.measure, p.backend)
	}
	ratio := float64(p.macsPerImage(320)) / float64(p.macsPerImage(224))
	if ratio < 1.9 || ratio > 2.2 {
		t.Fatalf("MACs at 320 / at 224 = %v, want about (320/224)² ≈ 2", ratio)
	}
	want := fmt.Sprintf("it took %s per image against %s on WebGPU (measured at 224×224, scaled to 320×320 by the network's MACs",
		formatSeconds(4100*ratio), formatSeconds(9800*ratio))
	if text, state := p.choiceNote(); state != "auto" || !strings.Contains(text, want) {
		t.Errorf("note at 320 %q (%s), want …%s…", text, state, want)
	}

	// The toggle overrides it, keeps the timings and is remembered for
	// every size.
	p.chooseBackend(BackendGPU)
	stored, ok := parseChoice(p.settings.get(p.choiceKey()))
	if !ok || stored != (engineChoice{Backend: BackendGPU, Manual: true, GPUMs: 9800, CPUMs: 4100, Size: 224}) {
		t.Fatalf("stored after the toggle: %+v %v", stored, ok)
	}
	if _, state := p.choiceNote(); state != "manual" {
		t.Errorf("note state after the toggle: %s", state)
	}
	p.size = 160
	p.applyChoice()
	if p.measure || p.backend != BackendGPU || !p.choice.Manual {
		t.Fatalf("160 after a manual choice: measure %v backend %s choice %+v", p.measure, p.backend, p.choice)
	}

	// A new visit (same store) starts from what was remembered.
	q := choicePage(t, sw)
	q.settings = p.settings
	q.applyChoice()
	if q.backend != BackendGPU || !q.choice.Manual || q.measure {
		t.Errorf("new visit: backend %s choice %+v measure %v", q.backend, q.choice, q.measure)
	}
}

func TestHardwareAdapterDoesNotMeasure(t *testing.T) {
	p := choicePage(t, gpuInfo{Available: true, Vendor: "nvidia", Architecture: "ada"})
	p.applyChoice()
	if p.measure || p.backend != BackendGPU {
		t.Fatalf("hardware adapter: measure %v backend %s", p.measure, p.backend)
	}
	if text, _ := p.choiceNote(); text != "" {
		t.Errorf("hardware adapter note %q, want none", text)
	}
	p.chooseBackend(BackendCPU)
	if text, state := p.choiceNote(); state != "manual" || text != "Using the CPU engine, as you chose." {
		t.Errorf("after the toggle: %q (%s)", text, state)
	}
}

func TestNoWebGPUHasNoChoice(t *testing.T) {
	p := newController(controllerDeps{engines: engineMakers{cpu: newCPUEngine}})
	p.gpu, p.probed, p.backend = gpuInfo{Problem: "none"}, true, BackendCPU
	p.applyChoice()
	p.chooseBackend(BackendGPU) // the page disables it; an action could still arrive
	if p.measure || p.settings.get(p.choiceKey()) != "" {
		t.Errorf("without WebGPU: measure %v, stored %q", p.measure, p.settings.get(p.choiceKey()))
	}
	if text, _ := p.choiceNote(); text != "" {
		t.Errorf("note %q", text)
	}
}

// slowPreparer is an engine whose Prepare takes a while and is counted.
type slowPreparer struct{ prepared atomic.Int32 }

func (s *slowPreparer) Run(context.Context, *model.Tensor, model.RunOptions) (*model.Result, error) {
	return nil, nil
}
func (s *slowPreparer) Name() string { return "slow" }
func (s *slowPreparer) Close()       {}
func (s *slowPreparer) Prepare(_ context.Context, b, h, w int) error {
	s.prepared.Add(1)
	time.Sleep(20 * time.Millisecond)
	return nil
}

func TestEngineSetReadyPreparesOncePerShape(t *testing.T) {
	eng := &slowPreparer{}
	s := &engineSet{engines: map[Backend]model.Engine{},
		newGPU: func(*weights.Model) (model.Engine, error) { return eng, nil },
		newCPU: newCPUEngine}
	m := tinyModel(t)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.ready(BackendGPU, m, 1, 224); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := eng.prepared.Load(); n != 1 {
		t.Errorf("4 concurrent callers prepared %d times, want 1", n)
	}
	if _, err := s.ready(BackendGPU, m, 2, 224); err != nil {
		t.Fatal(err)
	}
	if n := eng.prepared.Load(); n != 2 {
		t.Errorf("a new batch shape: %d preparations, want 2", n)
	}
	// The CPU engine has nothing to prepare.
	if e, err := s.ready(BackendCPU, m, 1, 224); err != nil || e.Name() != "cpu" {
		t.Errorf("cpu: %v %v", e, err)
	}
}

func TestRenderChoiceNote(t *testing.T) {
	c := engineChoice{Backend: BackendCPU, GPUMs: 9800, CPUMs: 4100, Size: 224}
	html := render(t, &BackendPanel{Probed: true, HasEngine: true, Backend: BackendCPU,
		GPU:    gpuInfo{Available: true, Vendor: "google", Architecture: "swiftshader", Fallback: true},
		Choice: c.message("google swiftshader", 0), ChoiceState: "auto"})
	wantAll(t, html, `id="engine-choice"`, `data-state="auto"`, `data-backend="cpu"`,
		`Using the CPU engine: on this software adapter (google swiftshader) it took 4.1 s per image against 9.8 s on WebGPU`)
	html = render(t, &BackendPanel{Probed: true, HasEngine: true, Backend: BackendGPU,
		GPU: gpuInfo{Available: true, Vendor: "nvidia"}})
	if strings.Contains(html, "engine-choice") {
		t.Error("a choice note without a choice")
	}
}

func TestLinkedEngine(t *testing.T) {
	sw := gpuInfo{Available: true, Vendor: "google", Architecture: "swiftshader", Fallback: true}
	p := choicePage(t, sw)
	p.settings.set(p.choiceKey(), engineChoice{Backend: BackendGPU, GPUMs: 900, CPUMs: 4100, Size: 224}.encode())
	p.linked = BackendCPU
	p.applyChoice()
	if p.backend != BackendCPU || p.measure {
		t.Fatalf("?engine=cpu: backend %s measure %v", p.backend, p.measure)
	}
	if text, state := p.choiceNote(); state != "link" || text != "Using the CPU engine, as the page's address asks (?engine=cpu)." {
		t.Errorf("note %q (%s)", text, state)
	}
	if c, _ := parseChoice(p.settings.get(p.choiceKey())); c.Backend != BackendGPU || c.Manual {
		t.Errorf("?engine= changed the remembered choice: %+v", c)
	}
	// The toggle takes over from the address, and is remembered.
	p.chooseBackend(BackendGPU)
	if p.linked != "" || p.choice.Linked {
		t.Error("?engine= still in force after the toggle")
	}
	if c, _ := parseChoice(p.settings.get(p.choiceKey())); c.Backend != BackendGPU || !c.Manual {
		t.Errorf("toggle after ?engine=: remembered %+v", c)
	}
}
