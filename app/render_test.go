package app

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/residual-webgpu/residual/model"
)

// render mounts a component in go-app's test engine and returns its HTML.
func render(t *testing.T, c goapp.Composer) string {
	t.Helper()
	e := goapp.NewTestEngine()
	if err := e.Load(c); err != nil {
		t.Fatal(err)
	}
	e.ConsumeAll()
	return goapp.HTMLString(c)
}

func wantAll(t *testing.T, html string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(html, p) {
			t.Errorf("HTML lacks %q", p)
		}
	}
}

func TestRenderInspector(t *testing.T) {
	a, _ := model.ByName("resnet50")
	net, _ := a.Net()
	st, _ := net.Stages(1, 224, 224)
	html := render(t, &Inspector{Rows: planRows(st), Size: 224, Batch: 1, Params: "25.56 M", MACs: "4.09 G"})
	// go-app writes attributes in map order: match the table's id alone.
	if !regexp.MustCompile(`<table[^>]* id="stages"`).MatchString(html) {
		t.Error(`HTML lacks the table id="stages"`)
	}
	wantAll(t, html, `data-stage="layer3"`, `[1, 1024, 14, 14]`, `<details class="blocks">`,
		`layer2: 4 blocks`, `1×1 conv (downsample)`, `Planned for a batch of 1 at 224×224`)
	// Attributes come in map order: find the header, then its scope.
	if th := regexp.MustCompile(`<th[^>]*>Output shape \[B, C, H, W\]</th>`).FindString(html); !strings.Contains(th, ` scope="col"`) {
		t.Errorf("the shape column's header %q lacks scope=\"col\"", th)
	}
	// The cards of the phone layout name each value's column.
	wantAll(t, html, `data-label="Output shape"`, `data-label="MACs"`, `role="table"`, `role="rowheader"`)
	if n := strings.Count(html, `data-stage="`); n != len(st) {
		t.Errorf("%d stage groups, want %d", n, len(st))
	}
}

func TestRenderPredictions(t *testing.T) {
	html := render(t, &Predictions{
		Images: []imageView{{Name: "chelsea.jpg", Top: []predView{{Label: "Egyptian cat", Prob: 0.75, Percent: "75.0%"}, {Label: "tabby", Prob: 0.2, Percent: "20.0%"}}}},
		Engine: "cpu", Size: 224, Latency: latency{FirstMs: 900, WarmMs: 300, Runs: 2}, Status: "Done", FirstMs: 4200,
	})
	wantAll(t, html, `aria-live="polite"`, `Egyptian cat`, `<meter`, `75.0%`, `first run 900 ms`, `warm 300 ms`,
		`page load → first top-5 4.2 s`, `data-first-top5-ms="4200"`)
}

func TestRenderBackendPanel(t *testing.T) {
	html := render(t, &BackendPanel{Probed: true, GPU: gpuInfo{Problem: "no WebGPU adapter"}, Backend: BackendCPU})
	wantAll(t, html, `WebGPU unavailable — running on the CPU, slower.`, `no WebGPU adapter`, `id="cpu-notice"`)
	if in := regexp.MustCompile(`<input[^>]*id="backend-gpu"[^>]*>`).FindString(html); !strings.Contains(in, " disabled") {
		t.Error("GPU choice not disabled without WebGPU")
	}
	html = render(t, &BackendPanel{Probed: true, HasEngine: true, Backend: BackendGPU,
		GPU: gpuInfo{Available: true, Vendor: "google", Architecture: "swiftshader", Fallback: true}})
	wantAll(t, html, `google swiftshader (software fallback adapter)`)
	if strings.Contains(html, "cpu-notice") {
		t.Error("CPU notice shown with a working GPU")
	}
}

func TestRenderModelPanel(t *testing.T) {
	html := render(t, &ModelPanel{File: defaultModel, Phase: phaseDownloading, Loaded: 12_300_000, Total: 25_600_000})
	wantAll(t, html, `Downloading the weights: 12.3 MB of 25.6 MB`, `<progress`, `max="25600000"`, `value="12300000"`)
	if strings.Contains(html, "gpu-prep") {
		t.Error("a GPU step before the GPU engine started")
	}
	// Decoding and the GPU engine's steps each have their own bar.
	html = render(t, &ModelPanel{File: defaultModel, Phase: phaseDecoding, Total: 25_600_000, Decoded: 20, Layers: 54,
		GPUStep: gpuCompiling, GPUDone: 7, GPUTotal: 170})
	wantAll(t, html, `data-phase="decoding"`, `Decoding the weights: layer 20 of 54`, `max="54"`, `value="20"`,
		`id="gpu-prep-label"`, `data-step="compiling"`, `GPU engine: compiling shaders, layer 7 of 170`, `max="170"`, `value="7"`)
	html = render(t, &ModelPanel{File: defaultModel, Phase: phaseReady, GPUStep: gpuUploading, GPUDone: 100, GPUTotal: 171})
	wantAll(t, html, `data-step="uploading"`, `GPU engine: uploading weights, layer 100 of 171`)
	html = render(t, &ModelPanel{File: defaultModel, Phase: phaseReady, Total: 25_600_000, Cached: true, Arch: "resnet50", Scheme: "int8"})
	wantAll(t, html, `Loaded from this browser&#39;s cache (no download)`, `data-cached="yes"`, `id="model-scheme">int8`, `25.6 MB`)
}

func TestRenderPage(t *testing.T) {
	html := render(t, NewPage())
	wantAll(t, html, `id="dropzone"`, `type="file"`, `accept="image/*"`, `multiple`, `id="paste-button"`,
		`/web/samples/chelsea.jpg`, `id="results"`, `role="alert"`, `id="inspector"`)
	for _, n := range inputSizes {
		in := regexp.MustCompile(fmt.Sprintf(`<input[^>]*id="size-%d"[^>]*>`, n)).FindString(html)
		if checked := strings.Contains(in, " checked"); checked != (n == defaultSize) {
			t.Errorf("size %d: checked=%v in %q", n, checked, in)
		}
	}
	if strings.Contains(html, "style=") {
		t.Error("inline styles: the CSP blocks them")
	}
}

// The page renders the controller's snapshot and nothing else.
func TestRenderPageFromState(t *testing.T) {
	p := NewPage()
	p.st = pageState{
		ModelFile: defaultModel, Phase: phaseReady, Total: 25_600_000, Cached: true,
		Facts:  modelFacts{Arch: "resnet50 (bottleneck blocks [3 4 6 3], stride variant v1)", Scheme: "int8, one scale per output channel"},
		GPU:    gpuInfo{Available: true, Vendor: "google", Architecture: "swiftshader", Fallback: true},
		Probed: true, HasGPUEngine: true, Backend: BackendCPU,
		Choice: "Using the CPU engine, as you chose.", ChoiceState: "manual",
		Fallback: "The GPU engine failed (lost); this answer comes from the CPU.",
		Size:     288, Batch: 1, Params: "25.56 M", MACs: "6.76 G",
		Problems: []string{"notes.txt: not an image"},
		Status:   "Done: 1 image classified on cpu.",
		Images:   []imageView{{Name: "chelsea.jpg", Top: []predView{{Label: "Egyptian cat", Prob: 0.75, Percent: "75.0%"}}}},
		Shown:    shownRun{Engine: "cpu", Size: 288, Batch: 1},
		Rows:     []stageRow{{Name: "input", Kind: "input", Shape: "[1, 3, 288, 288]", Time: "–"}},
		Measured: true,
	}
	html := render(t, p)
	wantAll(t, html, `data-phase="ready"`, `data-cached="yes"`, `google swiftshader (software fallback adapter)`,
		`data-state="manual"`, `Using the CPU engine, as you chose.`, `id="fallback-notice"`, `notes.txt: not an image`,
		`Done: 1 image classified on cpu.`, `Egyptian cat`, `id="engine-badge"`,
		`Measured on cpu, batch of 1 at 288×288: 25.56 M parameters, 6.76 G MACs.`, `[1, 3, 288, 288]`)
	in := regexp.MustCompile(`<input[^>]*id="size-288"[^>]*>`).FindString(html)
	if !strings.Contains(in, " checked") {
		t.Errorf("size 288 not checked: %q", in)
	}
}

// Under the top-5: what the model knows (linked to the class list) and
// what a low score means; a tiny picture's note and an unsure answer's.
func TestRenderPredictionsExplain(t *testing.T) {
	html := render(t, &Predictions{
		Images: []imageView{{Name: "dot.png", Unsure: true, Note: "This picture is only 1×1 pixels: the model sees it stretched to 224×224, so its answer says little.",
			Top: []predView{{Label: "ram", Prob: 0.13, Percent: "13.0%"}}}},
		Engine: "cpu", Size: 224, Classes: 1000, HasList: true,
	})
	wantAll(t, html, `id="model-knows"`, `The model knows `, `href="#class-list"`, `the 1000 classes of ImageNet`,
		`A top score under 30% means it is unsure`, `Unsure: no class reaches 30%.`, `only 1×1 pixels`)
	html = render(t, &Predictions{Images: []imageView{{Name: "a.png"}}, Classes: 10})
	wantAll(t, html, `The model knows`, `10 classes`)
	if strings.Contains(html, "#class-list") || strings.Contains(html, "Unsure") {
		t.Error("a link to a list that is not there, or an unsure note without cause")
	}
}

// Phones get a camera button and their own wording; both variants are in
// the markup, CSS shows one by the pointer.
func TestRenderDropZone(t *testing.T) {
	html := render(t, &DropZone{})
	cam := regexp.MustCompile(`<input[^>]*id="camera-input"[^>]*>`).FindString(html)
	if !strings.Contains(cam, `capture="environment"`) || !strings.Contains(cam, `accept="image/*"`) {
		t.Errorf("camera input %q", cam)
	}
	wantAll(t, html, `for="camera-input"`, `Take a photo`, `class="pointer-coarse"`, `class="pointer-fine"`, `Ctrl+V (⌘V)`)
}

// After Forget the panel says the copy is gone and offers no second
// Forget; the class list is there once the model is.
func TestRenderModelPanelForgotten(t *testing.T) {
	html := render(t, &ModelPanel{File: defaultModel, Phase: phaseReady, Total: 25_600_000, Classes: 3,
		Labels: []string{"tench", "goldfish", "great white shark"}})
	wantAll(t, html, `id="forget-model"`, `id="class-list"`, `The 3 classes it knows`)
	if strings.Contains(html, "<li>") {
		t.Error("the class list's items are drawn before it is opened")
	}
	html = render(t, &ClassList{Labels: []string{"tench", "goldfish", "great white shark"}, open: true})
	wantAll(t, html, `<li>great white shark</li>`)
	html = render(t, &ModelPanel{File: defaultModel, Phase: phaseReady, Total: 25_600_000, Forgotten: true})
	wantAll(t, html, `Not cached any more`)
	if strings.Contains(html, `id="forget-model"`) || strings.Contains(html, "Downloaded") || strings.Contains(html, `id="class-list"`) {
		t.Error("forgotten: still offers Forget, claims a download, or lists classes it does not have")
	}
}

// The banner names the engine in one form, before and after an answer.
func TestEngineBadge(t *testing.T) {
	sw := gpuInfo{Available: true, Vendor: "google", Architecture: "swiftshader", Fallback: true}
	for _, tc := range []struct {
		s    pageState
		want string
	}{
		{pageState{}, ""},
		{pageState{Backend: BackendGPU, GPU: sw}, "webgpu (google swiftshader)"},
		{pageState{Backend: BackendCPU, GPU: sw}, "cpu"},
		{pageState{Backend: BackendCPU, GPU: noAdapter}, "cpu"},
		{pageState{Backend: BackendGPU, GPU: sw, Shown: shownRun{Engine: "cpu"}}, "cpu"},
		{pageState{Backend: BackendCPU, GPU: sw, Shown: shownRun{Engine: "webgpu (google swiftshader)"}}, "webgpu (google swiftshader)"},
	} {
		if got := engineBadge(&tc.s); got != tc.want {
			t.Errorf("backend %q shown %q: badge %q, want %q", tc.s.Backend, tc.s.Shown.Engine, got, tc.want)
		}
	}
	// Before a first answer the latency line is not drawn ("0×0 on :").
	html := render(t, &Predictions{Images: []imageView{{Name: "cat.jpg"}}, Busy: true, Status: "Running…"})
	if strings.Contains(html, `id="latency"`) {
		t.Error("a latency line before any answer")
	}
}
