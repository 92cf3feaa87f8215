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

// modelRequests matches the server's log lines for a model download.
var modelRequests = regexp.MustCompile(`GET "/web/models/` + regexp.QuoteMeta(modelFile) + `" 200 `)

// cspViolation matches console messages about blocked content.
var cspViolation = regexp.MustCompile(`(?i)content security policy|refused to`)

// With WebGPU: classify, inspect, re-plan at 320, then reload without
// downloading the model again.
func TestWebGPUBrowser(t *testing.T) {
	b := newBrowser(t, true, 15*time.Minute)
	before := env.log.count(modelRequests)
	start := time.Now()
	b.open(loadTimeout)
	t.Logf("first visit: model ready %.1f s after navigation", time.Since(start).Seconds())
	if got := b.requestsFor("/web/models/"); got != 1 {
		t.Errorf("first visit: %d model requests from the page, want 1", got)
	}
	if cached := eval[string](b, `document.querySelector('#model-progress-label').dataset.cached`); cached != "no" {
		t.Errorf("first visit: model marked cached=%q", cached)
	}
	b.waitFor("the WebGPU probe", `document.querySelector('#gpu-adapter')?.textContent !== 'checking…'`, time.Minute)
	adapter := eval[string](b, `document.querySelector('#gpu-adapter').textContent`)
	if !strings.Contains(strings.ToLower(adapter), "swiftshader") {
		t.Errorf("adapter %q: want SwiftShader's WebGPU adapter with --enable-unsafe-webgpu", adapter)
	}
	backend := eval[string](b, `document.querySelector('input[name=backend]:checked')?.value || ''`)
	if backend != "gpu" {
		t.Errorf("with a WebGPU adapter the app chose the %q backend, want gpu", backend)
	}
	t.Logf("adapter: %s", adapter)
	b.shot("webgpu-1-ready")

	if !b.drop(fileFrom(t, "web/samples/chelsea.jpg", "chelsea.jpg", "image/jpeg")) {
		t.Error("the page did not cancel the drop's default action (the browser would open the file)")
	}
	b.waitForAnswer("chelsea.jpg", runTimeout)
	gpuTop := b.topN()
	engine := eval[string](b, `document.querySelector('#engine-badge')?.textContent || ''`)
	if !strings.HasPrefix(engine, "webgpu") {
		t.Errorf("answered by %q, want the WebGPU engine (fallback: %q)", engine,
			eval[string](b, `document.querySelector('#fallback-notice')?.textContent || ''`))
	}
	if got := b.top1(); got != "Egyptian cat" {
		t.Errorf("chelsea top-1 %q, want Egyptian cat", got)
	}
	firstMs := eval[string](b, `document.querySelector('#results').getAttribute('data-first-top5-ms')`)
	t.Logf("page load → first top-5: %s ms (%s)", firstMs, eval[string](b, `document.querySelector('#latency')?.textContent || ''`))
	b.shot("webgpu-2-chelsea")

	// Run again: a warm run of the same batch.
	b.do("run again", chromedp.Click(chromedp.ID("run-again")))
	b.waitFor("the warm run", `/^warm \d/.test(document.querySelector('#latency-warm')?.textContent || '') &&
		document.querySelector('#results').getAttribute('aria-busy') === 'false'`, runTimeout)
	t.Logf("GPU latency: %s", eval[string](b, `document.querySelector('#latency').textContent`))

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
	b.shot("webgpu-3-inspector")

	// The toggle: the CPU engine gives the same answer.
	b.do("choose the CPU", chromedp.Click(chromedp.ID("backend-cpu")))
	b.waitFor("the CPU run", `document.querySelector('#engine-badge')?.textContent === 'cpu' &&
		document.querySelector('#results').getAttribute('aria-busy') === 'false'`, runTimeout)
	cpuTop := b.topN()
	if len(cpuTop) != 5 || len(gpuTop) != 5 || cpuTop[0].Label != gpuTop[0].Label || math.Abs(cpuTop[0].P-gpuTop[0].P) > 0.05 {
		t.Errorf("CPU and GPU disagree:\n cpu %v\n gpu %v", cpuTop, gpuTop)
	}
	t.Logf("cpu %v\ngpu %v", cpuTop, gpuTop)

	// Re-plan at 320: the table changes at once, and the image runs again.
	b.do("choose 320", chromedp.Click(chromedp.ID("size-320")))
	b.waitFor("the 320 plan", `document.querySelector('tbody[data-stage="layer4"] td.shape')?.textContent === '[1, 2048, 10, 10]'`, 30*time.Second)
	b.waitFor("the 320 run", `document.querySelector('#stages')?.dataset.measured === 'yes' &&
		document.querySelector('tbody[data-stage="input"] td.shape')?.textContent === '[1, 3, 320, 320]' &&
		document.querySelector('#results').getAttribute('aria-busy') === 'false'`, runTimeout)
	t.Logf("at 320 (cpu): top-1 %s; %s", b.top1(), eval[string](b, `document.querySelector('#latency')?.textContent || ''`))
	b.shot("webgpu-4-size320")

	// Reload: the model comes from Cache Storage, not the network.
	served := env.log.count(modelRequests) - before
	if served != 1 {
		t.Errorf("the server sent the model %d times during the first visit, want 1", served)
	}
	pageBefore := b.requestsFor("/web/models/")
	b.do("reload", chromedp.Reload())
	b.waitForModel(loadTimeout)
	if got := b.requestsFor("/web/models/") - pageBefore; got != 0 {
		t.Errorf("reload: the page requested the model %d times, want 0", got)
	}
	if got := env.log.count(modelRequests) - before; got != served {
		t.Errorf("reload: the server sent the model again (%d downloads in all)", got)
	}
	if cached := eval[string](b, `document.querySelector('#model-progress-label').dataset.cached`); cached != "yes" {
		t.Errorf("reload: model not marked as cached (%q)", cached)
	}
	b.shot("webgpu-5-reloaded")
	if v := b.consoleMatching(cspViolation); len(v) > 0 {
		t.Errorf("content blocked by the CSP: %q", v)
	}
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
	if badge := eval[string](b, `document.querySelector('#engine-badge')?.textContent || ''`); badge != "cpu" {
		t.Errorf("engine badge %q, want cpu", badge)
	}
	t.Logf("CPU: page load → first top-5 %s ms; %s",
		eval[string](b, `document.querySelector('#results').getAttribute('data-first-top5-ms')`),
		eval[string](b, `document.querySelector('#latency')?.textContent || ''`))
	b.shot("cpu-3-chelsea")

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
	if v := b.consoleMatching(cspViolation); len(v) > 0 {
		t.Errorf("content blocked by the CSP: %q", v)
	}
}
