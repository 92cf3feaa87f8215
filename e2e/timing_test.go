//go:build !js

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// firstTop5Case is one page load timed to its first top-5.
type firstTop5Case struct {
	name    string
	path    string
	prepare string // JS run on the previous page before loading this one
	cached  string // the model panel's data-cached: "yes" or "no"
	engine  string // the engine of the answer: "gpu" or "cpu"
}

// Page load → first top-5 with ?sample=chelsea.jpg (the page fetches the
// sample itself, so no test latency is counted), on each engine (picked
// with ?engine=, so nothing is measured), with the model in Cache Storage
// or not. One browser, WebGPU on; the wasm comes from the service
// worker's cache after the first load. The numbers go to the test log
// with the load average.
func TestFirstTop5Timings(t *testing.T) {
	b := newBrowser(t, true, 15*time.Minute)
	const gpu, cpu = "/?sample=chelsea.jpg&engine=gpu", "/?sample=chelsea.jpg&engine=cpu"
	const forget = `caches.delete('residual-models-v1')`
	cases := []firstTop5Case{
		{name: "GPU, model not cached (first visit)", path: gpu, cached: "no", engine: "gpu"},
		{name: "GPU, model cached", path: gpu, cached: "yes", engine: "gpu"},
		{name: "CPU, model cached", path: cpu, cached: "yes", engine: "cpu"},
		{name: "CPU, model not cached", path: cpu, prepare: forget, cached: "no", engine: "cpu"},
	}
	var report []string
	for _, c := range cases {
		if c.prepare != "" && !eval[bool](b, c.prepare) {
			t.Fatalf("%s: %s failed", c.name, c.prepare)
		}
		b.navigate(c.path)
		b.waitForAnswer("chelsea.jpg", runTimeout)
		if got := b.top1(); got != "Egyptian cat" {
			t.Errorf("%s: top-1 %q", c.name, got)
		}
		if got := eval[string](b, `document.querySelector('#model-progress-label').dataset.cached`); got != c.cached {
			t.Errorf("%s: model cached=%q, want %q", c.name, got, c.cached)
		}
		if got := engineOf(eval[string](b, `document.querySelector('#engine-badge')?.textContent || ''`)); got != c.engine {
			t.Errorf("%s: answered on %q", c.name, got)
		}
		if text, state := b.choiceNote(); state != "link" || !strings.Contains(text, "?engine="+c.engine) {
			t.Errorf("%s: choice note %q (%s)", c.name, text, state)
		}
		line := fmt.Sprintf("%s: first top-5 %.1f s after navigation (%s); load average %s", c.name, b.firstTop5()/1000,
			eval[string](b, `document.querySelector('#latency')?.textContent || ''`), loadAvg())
		report = append(report, line)
	}
	if s := b.storedChoices(); len(s) != 0 {
		t.Errorf("?engine= was remembered: %+v", s)
	}
	t.Logf("page load → first top-5 in headless Chromium (SwiftShader WebGPU; single-threaded wasm CPU):\n  %s", strings.Join(report, "\n  "))
}
