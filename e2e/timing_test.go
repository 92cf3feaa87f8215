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
	engine  string // the engine of the answer: "gpu" or "cpu"; "" for the page's own choice
}

// Page load → first top-5 with ?sample=chelsea.jpg (the page fetches the
// sample itself, so no test latency is counted), on each engine (picked
// with ?engine=, so nothing is measured), with the model in Cache Storage
// or not, then on the engine the page picks itself with nothing
// remembered. One browser, WebGPU on; the wasm comes from the service
// worker's cache after the first load. The numbers go to the test log
// with the load average: the page's own mark, when the top-5 entered the
// DOM, and the longest main-thread task while the model loaded.
func TestFirstTop5Timings(t *testing.T) {
	b := newBrowser(t, true, 15*time.Minute)
	b.watchLoad()
	const gpu, cpu = "/?sample=chelsea.jpg&engine=gpu", "/?sample=chelsea.jpg&engine=cpu"
	const forget = `caches.delete('residual-models-v1')`
	cases := []firstTop5Case{
		{name: "GPU, model not cached (first visit)", path: gpu, cached: "no", engine: "gpu"},
		{name: "GPU, model cached", path: gpu, cached: "yes", engine: "gpu"},
		{name: "CPU, model cached", path: cpu, cached: "yes", engine: "cpu"},
		{name: "CPU, model not cached", path: cpu, prepare: forget, cached: "no", engine: "cpu"},
		{name: "page's choice, nothing remembered, model cached", path: "/?sample=chelsea.jpg", cached: "yes"},
	}
	var report []string
	for _, c := range cases {
		if c.engine == "" {
			if s := b.storedChoices(); len(s) != 0 {
				t.Errorf("?engine= was remembered: %+v", s)
			}
		}
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
		got := engineOf(eval[string](b, `document.querySelector('#engine-badge')?.textContent || ''`))
		if c.engine != "" && got != c.engine || got != "gpu" && got != "cpu" {
			t.Errorf("%s: answered on %q", c.name, got)
		}
		if text, state := b.choiceNote(); c.engine != "" && (state != "link" || !strings.Contains(text, "?engine="+c.engine)) {
			t.Errorf("%s: choice note %q (%s)", c.name, text, state)
		}
		r := b.loadRecord()
		longest, at := r.longest(b.markAt("residual-first-top5"))
		line := fmt.Sprintf("%s: first top-5 %.1f s after navigation, in the DOM at %.1f s (%s, %s); longest task before it %.0f ms at %.1f s; load average %s",
			c.name, b.firstTop5()/1000, r.Top5/1000, got, eval[string](b, `document.querySelector('#latency')?.textContent || ''`),
			longest, at/1000, loadAvg())
		report = append(report, line)
	}
	t.Logf("page load → first top-5 in headless Chromium (SwiftShader WebGPU; single-threaded wasm CPU):\n  %s", strings.Join(report, "\n  "))
}
