//go:build !js

package e2e

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/residual-webgpu/residual/internal/cpuchoice"
)

// Time limits: the first visit downloads 25.6 MB and decodes it in wasm;
// a ResNet-50 run on SwiftShader or single-threaded wasm takes seconds to
// tens of seconds on these 2-core machines.
const (
	loadTimeout = 3 * time.Minute
	runTimeout  = 5 * time.Minute
)

// referenceTable is ResNet-50's stage table at [1,3,224,224], as the
// tutorial gives it (plus our bn1+relu row, same shape as conv1).
var referenceTable = [][2]string{
	{"input", "[1, 3, 224, 224]"},
	{"conv1", "[1, 64, 112, 112]"},
	{"bn1+relu", "[1, 64, 112, 112]"},
	{"maxpool", "[1, 64, 56, 56]"},
	{"layer1", "[1, 256, 56, 56]"},
	{"layer2", "[1, 512, 28, 28]"},
	{"layer3", "[1, 1024, 14, 14]"},
	{"layer4", "[1, 2048, 7, 7]"},
	{"avgpool", "[1, 2048, 1, 1]"},
	{"flatten", "[1, 2048]"},
	{"fc", "[1, 1000]"},
}

// modelRequests matches the server's log lines for a model download, and
// modelAsked those for any request of it (a 304 revalidation too). The
// server's log, not the page's network events: the page downloads the
// weights in a Web Worker, whose requests are not the page target's.
var (
	modelRequests = regexp.MustCompile(`GET "/web/models/` + regexp.QuoteMeta(modelFile) + `" 200 `)
	modelAsked    = regexp.MustCompile(`GET "/web/models/` + regexp.QuoteMeta(modelFile) + `" \d{3} `)
)

// cspViolation matches console messages about blocked content.
var cspViolation = regexp.MustCompile(`(?i)content security policy|refused to`)

// weightsReleased and weightsReadAgain match the page's console lines
// when the weight file leaves the page once the engines are built, and
// when a new plan brings it back from Cache Storage (app/keptfile.go).
var (
	weightsReleased  = regexp.MustCompile(`residual: weights: .* released`)
	weightsReadAgain = regexp.MustCompile(`residual: weights: .* read again`)
)

// choiceMessage matches the backend panel's sentence after a measurement
// on a software adapter.
var choiceMessage = regexp.MustCompile(`^Using the (CPU|GPU) engine: on this software adapter \(google swiftshader\) it took ([0-9.]+ m?s) per image against ([0-9.]+ m?s) on (WebGPU|the CPU) \(measured at 224×224`)

// storedChoice is one engine choice the page keeps in localStorage.
type storedChoice struct {
	Key     string  `json:"key"`
	Backend string  `json:"backend"`
	GPUMs   float64 `json:"gpuMs"`
	CPUMs   float64 `json:"cpuMs"`
	Size    int     `json:"size"`
	Manual  bool    `json:"manual"`
}

// storedChoices reads the page's remembered engine choices.
func (b *browser) storedChoices() []storedChoice {
	return eval[[]storedChoice](b, `Object.keys(localStorage).filter(k => k.startsWith('residual/engine-choice/v2|')).sort()
		.map(k => Object.assign({key: k}, JSON.parse(localStorage.getItem(k))))`)
}

// choiceNote is the backend panel's engine-choice sentence and its state.
func (b *browser) choiceNote() (text, state string) {
	v := eval[[]string](b, `(() => { const e = document.querySelector('#engine-choice');
		return e ? [e.textContent, e.dataset.state] : ['', '']; })()`)
	return v[0], v[1]
}

// multiWorker is the backend panel's CPU engine on more than one worker.
var multiWorker = regexp.MustCompile(`^wasm SIMD, ([2-9]|\d\d+) workers`)

// engineOf maps the engine badge to a backend name.
func engineOf(badge string) string {
	switch {
	case strings.HasPrefix(badge, "webgpu"):
		return "gpu"
	case cpuchoice.IsCPU(badge):
		return "cpu"
	}
	return badge
}

// With WebGPU on SwiftShader (a software adapter): the first image is
// answered by the engine predicted faster, the other is measured
// afterwards in the background, and the faster one kept and remembered
// for the adapter; the toggle overrides it (remembered too); the GPU
// engine classifies the cat; inspect, re-plan at 320, then reload
// without downloading the model again or measuring again.
func TestWebGPUBrowser(t *testing.T) {
	b := newBrowser(t, true, 15*time.Minute)
	before, askedBefore := env.log.count(modelRequests), env.log.count(modelAsked)
	start := time.Now()
	b.open(loadTimeout)
	t.Logf("first visit: model ready %.1f s after navigation", time.Since(start).Seconds())
	if got := env.log.count(modelAsked) - askedBefore; got != 1 {
		t.Errorf("first visit: the server was asked for the model %d times, want 1", got)
	}
	if cached := eval[string](b, `document.querySelector('#model-progress-label').dataset.cached`); cached != "no" {
		t.Errorf("first visit: model marked cached=%q", cached)
	}
	b.waitFor("the WebGPU probe", `document.querySelector('#gpu-adapter')?.textContent !== 'checking…'`, time.Minute)
	adapter := eval[string](b, `document.querySelector('#gpu-adapter').textContent`)
	if !strings.Contains(strings.ToLower(adapter), "swiftshader") || !strings.Contains(adapter, "software fallback adapter") {
		t.Errorf("adapter %q: want SwiftShader's WebGPU adapter, flagged as a fallback adapter, with --enable-unsafe-webgpu", adapter)
	}
	backend := eval[string](b, `document.querySelector('input[name=backend]:checked')?.value || ''`)
	if backend != "gpu" {
		t.Errorf("with a WebGPU adapter and nothing measured yet the app chose the %q backend, want gpu", backend)
	}
	if text, state := b.choiceNote(); state != "pending" || !strings.Contains(text, "software adapter (google swiftshader)") {
		t.Errorf("before the first image the choice note is %q (%s), want the pending measurement", text, state)
	}
	t.Logf("adapter: %s", adapter)
	b.shot("webgpu-1-ready")

	// The first image: answered by one engine, then the other measured
	// in the background and the faster one kept.
	if !b.drop(fileFrom(t, "web/samples/chelsea.jpg", "chelsea.jpg", "image/jpeg")) {
		t.Error("the page did not cancel the drop's default action (the browser would open the file)")
	}
	b.waitForAnswer("chelsea.jpg", runTimeout)
	if text, state := b.choiceNote(); state == "measuring" && !strings.Contains(text, "Measuring the other engine in the background on this software adapter") {
		t.Errorf("measuring note %q", text)
	}
	b.waitFor("the background measurement", `document.querySelector('#engine-choice')?.dataset.state === 'auto'`, runTimeout)
	text, state := b.choiceNote()
	m := choiceMessage.FindStringSubmatch(text)
	if state != "auto" || m == nil {
		t.Fatalf("after the measurement the choice note is %q (%s); fallback notice %q; problems %q", text, state,
			eval[string](b, `document.querySelector('#fallback-notice')?.textContent || ''`),
			eval[string](b, `[...document.querySelectorAll('#messages li')].map(li => li.textContent).join(' | ')`))
	}
	chosen := strings.ToLower(m[1])
	stored := b.storedChoices()
	if len(stored) != 1 || stored[0].Backend != chosen || stored[0].Manual || stored[0].GPUMs <= 0 || stored[0].CPUMs <= 0 ||
		!strings.Contains(stored[0].Key, "swiftshader") || !strings.HasSuffix(stored[0].Key, "|"+modelFile) || stored[0].Size != 224 {
		t.Fatalf("remembered choices %+v, want one automatic %s choice for SwiftShader and %s, measured at 224", stored, chosen, modelFile)
	}
	faster := "gpu"
	if stored[0].CPUMs < stored[0].GPUMs {
		faster = "cpu"
	}
	if chosen != faster {
		t.Errorf("chose %s with GPU %.0f ms and CPU %.0f ms per image", chosen, stored[0].GPUMs, stored[0].CPUMs)
	}
	// The answer on screen is the first one, from the engine predicted
	// faster (a one-layer probe: the GPU was ready when the image came).
	badge := eval[string](b, `document.querySelector('#engine-badge')?.textContent || ''`)
	if e := engineOf(badge); e != "gpu" && e != "cpu" {
		t.Errorf("answer shown from %q", badge)
	}
	if !strings.Contains(eval[string](b, `document.querySelector('#status')?.textContent || ''`), "(measured afterwards: WebGPU ") {
		t.Errorf("status after the measurement: %q", eval[string](b, `document.querySelector('#status')?.textContent || ''`))
	}
	if got := eval[string](b, `document.querySelector('input[name=backend]:checked')?.value || ''`); got != chosen {
		t.Errorf("toggle shows %q after choosing %s", got, chosen)
	}
	if got := b.top1(); got != "Egyptian cat" {
		t.Errorf("chelsea top-1 on %s %q, want Egyptian cat", badge, got)
	}
	t.Logf("choice: %s (GPU %.0f ms, CPU %.0f ms per image); page load → first top-5 (dropped when ready): %.0f ms; load average %s",
		text, stored[0].GPUMs, stored[0].CPUMs, b.firstTop5(), loadAvg())
	first := engineOf(badge)
	tops := map[string][]pred{first: b.topN()}
	b.shot("webgpu-2-chelsea-" + first)
	if first != chosen {
		// The probe picked the engine the measurement found slower: the
		// next run is on the one chosen.
		before := eval[string](b, `document.querySelector('#status')?.textContent || ''`)
		b.do("run again", chromedp.Click(chromedp.ID("run-again")))
		b.waitForRunOn(chosen, before)
		tops[chosen] = b.topN()
	}

	// The toggle overrides the choice and is remembered; the other engine
	// gives the same answer. Both engines have now run once, so this run
	// is the other engine's second: a warm run.
	other := map[string]string{"gpu": "cpu", "cpu": "gpu"}[chosen]
	status := eval[string](b, `document.querySelector('#status')?.textContent || ''`)
	b.do("choose "+other+" by hand", chromedp.Click(chromedp.ID("backend-"+other)))
	b.waitForRunOn(other, status)
	if got := b.top1(); got != "Egyptian cat" {
		t.Errorf("chelsea top-1 on %s %q, want Egyptian cat", other, got)
	}
	tops[other] = b.topN()
	if text, state := b.choiceNote(); state != "manual" || !strings.HasPrefix(text, "Using the "+strings.ToUpper(other)+" engine, as you chose.") {
		t.Errorf("after the toggle the choice note is %q (%s)", text, state)
	}
	if s := b.storedChoices(); len(s) != 1 || s[0].Backend != other || !s[0].Manual || s[0].GPUMs != stored[0].GPUMs {
		t.Errorf("remembered after the toggle: %+v", s)
	}
	cpuTop, gpuTop := tops["cpu"], tops["gpu"]
	if len(cpuTop) != 5 || len(gpuTop) != 5 || cpuTop[0].Label != gpuTop[0].Label || math.Abs(cpuTop[0].P-gpuTop[0].P) > 0.05 {
		t.Errorf("CPU and GPU disagree:\n cpu %v\n gpu %v", cpuTop, gpuTop)
	}
	if len(gpuTop) == 0 || gpuTop[0].Label != "Egyptian cat" {
		t.Errorf("the GPU engine's answer for chelsea: %v", gpuTop)
	}
	t.Logf("cpu %v\ngpu %v", cpuTop, gpuTop)
	b.waitFor("the warm latency", `/^warm \d/.test(document.querySelector('#latency-warm')?.textContent || '')`, 10*time.Second)
	t.Logf("%s latency: %s", other, eval[string](b, `document.querySelector('#latency').textContent`))
	b.shot("webgpu-3-chelsea-" + other)

	rows := b.stageShapes()
	if fmt.Sprint(rows) != fmt.Sprint(referenceTable) {
		t.Errorf("inspector rows at 224:\n got  %v\n want %v", rows, referenceTable)
	}
	if m := eval[string](b, `document.querySelector('#stages').dataset.measured`); m != "yes" {
		t.Errorf("inspector not measured after a run (%q)", m)
	}
	if n := eval[int](b, `document.querySelectorAll('#stages img.heat').length`); n < 8 {
		t.Errorf("%d heatmaps in the inspector, want one per stage with an image", n)
	}
	// A layer expands to its blocks.
	b.do("expand layer2", chromedp.Click(chromedp.CSS(`tbody[data-stage="layer2"] details summary`)))
	blocks := eval[[]string](b, `[...document.querySelectorAll('tbody[data-stage="layer2"] tr[data-block]')].map(r =>
		r.dataset.block + ' ' + r.querySelector('td.shape').textContent + ' s' + r.querySelectorAll('td')[1].textContent + ' ' + r.querySelectorAll('td')[2].textContent)`)
	if len(blocks) != 4 || !strings.HasPrefix(blocks[0], "layer2.0 [1, 512, 28, 28] s2 1×1 conv") || !strings.Contains(blocks[1], "identity") {
		t.Errorf("layer2 blocks: %q", blocks)
	}
	b.shot("webgpu-4-inspector")

	// Both engines are built: the page lets the weight file go (its
	// worker ends; Cache Storage keeps the file).
	deadline := time.Now().Add(30 * time.Second)
	for len(b.consoleMatching(weightsReleased)) == 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	if len(b.consoleMatching(weightsReleased)) == 0 {
		t.Errorf("the page kept the weight file after both engines were built (no %q in the console)", weightsReleased)
	}

	// Re-plan at 320: the table changes at once, and the image runs again
	// on the engine chosen by hand (carried over: no new measurement). On
	// the GPU the new plan packs the weights again: they come back from
	// Cache Storage (the server is not asked: see the count below).
	b.do("choose 320", chromedp.Click(chromedp.ID("size-320")))
	b.waitFor("the 320 plan", `document.querySelector('tbody[data-stage="layer4"] td.shape')?.textContent === '[1, 2048, 10, 10]'`, 30*time.Second)
	b.waitFor("the 320 run", `document.querySelector('#stages')?.dataset.measured === 'yes' &&
		document.querySelector('tbody[data-stage="input"] td.shape')?.textContent === '[1, 3, 320, 320]' &&
		document.querySelector('#results').getAttribute('aria-busy') === 'false'`, runTimeout)
	if _, state := b.choiceNote(); state != "manual" {
		t.Errorf("at 320 after a choice by hand the note state is %q, want manual (no measurement)", state)
	}
	t.Logf("at 320 (%s): top-1 %s; %s", other, b.top1(), eval[string](b, `document.querySelector('#latency')?.textContent || ''`))
	if got := b.top1(); !strings.Contains(got, "cat") {
		t.Errorf("at 320 on %s: top-1 %q, want a cat", other, got)
	}
	if again := b.consoleMatching(weightsReadAgain); other == "gpu" && len(again) == 0 {
		t.Errorf("the 320 plan on the GPU did not read the released weights again (no %q in the console)", weightsReadAgain)
	}
	b.shot("webgpu-5-size320")

	// Reload: the model comes from Cache Storage, not the network, and the
	// choice by hand is remembered (no measurement).
	served := env.log.count(modelRequests) - before
	if served != 1 {
		t.Errorf("the server sent the model %d times during the first visit, want 1", served)
	}
	askedBefore = env.log.count(modelAsked)
	b.do("reload", chromedp.Reload())
	b.waitForModel(loadTimeout)
	if got := env.log.count(modelAsked) - askedBefore; got != 0 {
		t.Errorf("reload: the model was asked of the server %d times, want 0 (Cache Storage has it)", got)
	}
	if got := env.log.count(modelRequests) - before; got != served {
		t.Errorf("reload: the server sent the model again (%d downloads in all)", got)
	}
	if cached := eval[string](b, `document.querySelector('#model-progress-label').dataset.cached`); cached != "yes" {
		t.Errorf("reload: model not marked as cached (%q)", cached)
	}
	b.waitFor("the WebGPU probe after reload", `!!document.querySelector('#engine-choice')`, time.Minute)
	if text, state := b.choiceNote(); state != "manual" || !strings.Contains(text, "as you chose") {
		t.Errorf("reload: choice note %q (%s), want the remembered choice by hand", text, state)
	}
	if got := eval[string](b, `document.querySelector('input[name=backend]:checked')?.value || ''`); got != other {
		t.Errorf("reload: toggle on %q, want the remembered %s", got, other)
	}
	b.shot("webgpu-6-reloaded")
	if v := b.consoleMatching(cspViolation); len(v) > 0 {
		t.Errorf("content blocked by the CSP: %q", v)
	}
}

// waitForRunOn waits for a run on engine ("gpu" or "cpu") to end: the
// status line has changed from before to a "Done:" one and the badge
// names the engine.
func (b *browser) waitForRunOn(engine, before string) {
	b.t.Helper()
	b.waitFor("the run on "+engine, `(() => { const badge = document.querySelector('#engine-badge')?.textContent || '';
		const status = document.querySelector('#status')?.textContent || '';
		return ((badge === 'cpu' || badge.startsWith('cpu ')) ? 'cpu' : badge.startsWith('webgpu') ? 'gpu' : '') === `+jsString(engine)+` &&
			status !== `+jsString(before)+` && status.startsWith('Done:') &&
			document.querySelector('#results').getAttribute('aria-busy') === 'false'; })()`, runTimeout)
}

// Without WebGPU: the CPU notice, a bad file reported by name with the page
// still usable, and the right answer on the CPU.
func TestCPUFallback(t *testing.T) {
	b := newBrowser(t, false, 15*time.Minute)
	b.open(loadTimeout)
	b.waitFor("the CPU notice", `!!document.querySelector('#cpu-notice')`, time.Minute)
	notice := eval[string](b, `document.querySelector('#cpu-notice').textContent`)
	if !strings.Contains(notice, "WebGPU unavailable — running on the CPU, slower") {
		t.Errorf("notice %q", notice)
	}
	if !eval[bool](b, `document.querySelector('#backend-gpu').disabled && document.querySelector('#backend-cpu').checked`) {
		t.Error("without WebGPU the toggle should offer the CPU only")
	}
	b.shot("cpu-1-notice")

	b.drop(fileSpec{Name: "notes.txt", Type: "text/plain", B64: "VGhpcyBpcyBub3QgYW4gaW1hZ2Uu"})
	b.waitFor("the error message", `[...document.querySelectorAll('#messages li')].some(li => li.textContent.includes('notes.txt'))`, time.Minute)
	msg := eval[string](b, `[...document.querySelectorAll('#messages li')].map(li => li.textContent).join(' | ')`)
	if !strings.Contains(msg, "not an image") {
		t.Errorf("message %q does not say what is wrong", msg)
	}
	b.shot("cpu-2-text-file")

	b.drop(fileFrom(t, "web/samples/chelsea.jpg", "chelsea.jpg", "image/jpeg"))
	b.waitForAnswer("chelsea.jpg", runTimeout)
	if got := b.top1(); got != "Egyptian cat" {
		t.Errorf("chelsea top-1 on the CPU %q, want Egyptian cat", got)
	}
	if n := eval[int](b, `document.querySelectorAll('#messages li').length`); n != 0 {
		t.Errorf("the old error is still shown after a good image")
	}
	if badge := eval[string](b, `document.querySelector('#engine-badge')?.textContent || ''`); engineOf(badge) != "cpu" {
		t.Errorf("engine badge %q, want cpu", badge)
	}
	// Chromium has wasm SIMD, and the dev server's page is cross-origin
	// isolated: the kernels answer on a worker a core, and the panel says so.
	if badge, eng := eval[string](b, `document.querySelector('#engine-badge').textContent`),
		eval[string](b, `document.querySelector('#cpu-engine')?.textContent || ''`); badge != "cpu (wasm simd)" || !multiWorker.MatchString(eng) {
		t.Errorf("engine badge %q, CPU engine %q: want the wasm SIMD kernels on more than one worker", badge, eng)
	}
	if n := eval[int](b, `document.querySelectorAll('#engine-choice').length`); n != 0 {
		t.Errorf("without WebGPU the page shows an engine choice note")
	}
	t.Logf("CPU: page load → first top-5 (dropped when ready) %.0f ms, model not cached; load average %s", b.firstTop5(), loadAvg())
	b.shot("cpu-3-chelsea")

	// Run again: the CPU engine's warm run (it has nothing to compile or
	// upload, so its first run should be close).
	b.do("run again", chromedp.Click(chromedp.ID("run-again")))
	b.waitFor("the warm run", `/^warm \d/.test(document.querySelector('#latency-warm')?.textContent || '') &&
		document.querySelector('#results').getAttribute('aria-busy') === 'false'`, runTimeout)
	t.Logf("CPU latency: %s", eval[string](b, `document.querySelector('#latency').textContent`))

	// Keyboard: a sample photo is a button; Enter runs it.
	eval[bool](b, `(document.getElementById('sample-coffee').focus(), document.activeElement.id === 'sample-coffee')`)
	b.do("press Enter on the coffee sample", chromedp.KeyEvent("\r"))
	b.waitForAnswer("coffee.jpg", runTimeout)
	if got := b.top1(); got != "espresso" {
		t.Errorf("coffee sample top-1 %q, want espresso", got)
	}

	// Paste two images: one batch of two.
	chelsea := fileFrom(t, "web/samples/chelsea.jpg", "chelsea.jpg", "image/jpeg")
	coffee := fileFrom(t, "web/samples/coffee.jpg", "pasted-coffee.jpg", "image/jpeg")
	if !b.paste(chelsea, coffee) {
		t.Error("the page did not take the pasted images")
	}
	b.waitForAnswer("chelsea.jpg", runTimeout)
	b.waitFor("the batch of two", `document.querySelectorAll('#predictions .image-card').length === 2 &&
		document.querySelector('tbody[data-stage="input"] td.shape')?.textContent === '[2, 3, 224, 224]' &&
		document.querySelector('#stages').dataset.measured === 'yes'`, runTimeout)
	tops := eval[[]string](b, `[...document.querySelectorAll('#predictions .image-card')].map(c =>
		c.querySelector('figcaption').textContent + ': ' + c.querySelector('.pred .label').textContent)`)
	if fmt.Sprint(tops) != "[chelsea.jpg: Egyptian cat pasted-coffee.jpg: espresso]" {
		t.Errorf("batch answers %q", tops)
	}
	if got := b.stageShapes(); got[7][1] != "[2, 2048, 7, 7]" {
		t.Errorf("layer4 of a batch of two: %v", got[7])
	}
	b.shot("cpu-4-batch")

	// Phone width: one column, nothing wider than the screen.
	b.do("phone viewport", chromedp.EmulateViewport(375, 812, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	time.Sleep(500 * time.Millisecond)
	if w := eval[[]int](b, `[document.documentElement.scrollWidth, window.innerWidth]`); w[0] > w[1] {
		t.Errorf("at phone width the page is %d px wide in a %d px window", w[0], w[1])
	}
	b.shot("cpu-5-phone")

	// ?cpu=go: the Go engine, the reference and the fallback where wasm
	// SIMD is missing, still answers, and the panel says which runs.
	b.navigate("/?cpu=go&sample=chelsea.jpg")
	b.waitForAnswer("chelsea.jpg", runTimeout)
	if badge, eng := eval[string](b, `document.querySelector('#engine-badge').textContent`),
		eval[string](b, `document.querySelector('#cpu-engine')?.textContent || ''`); badge != "cpu" || !strings.HasPrefix(eng, "Go ") {
		t.Errorf("with ?cpu=go: engine badge %q, CPU engine %q: want the Go engine", badge, eng)
	}
	if got := b.top1(); got != "Egyptian cat" {
		t.Errorf("chelsea top-1 on the Go engine %q, want Egyptian cat", got)
	}
	if v := b.consoleMatching(cspViolation); len(v) > 0 {
		t.Errorf("content blocked by the CSP: %q", v)
	}
}
