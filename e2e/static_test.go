//go:build !js

package e2e

import (
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The static site (devserver -static) served by a plain file server at
// the root of a loopback origin: the app loads, classifies a sample on
// the CPU (no WebGPU here, to keep it short), and a reload takes the
// model from Cache Storage, with the service worker's patch keeping that
// cache when the worker activates.
func TestStaticSite(t *testing.T) {
	dist := filepath.Join(t.TempDir(), "dist")
	out, err := exec.Command(env.server, "-web", env.web, "-static", dist).CombinedOutput()
	if err != nil {
		t.Fatalf("devserver -static: %v\n%s", err, out)
	}
	var modelGets atomic.Int32
	files := http.FileServer(http.Dir(dist))
	site := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/web/models/") {
			modelGets.Add(1)
		}
		files.ServeHTTP(w, r)
	}))

	b := newBrowser(t, false, 10*time.Minute)
	b.base = site
	b.navigate("/?sample=chelsea.jpg")
	b.waitForModel(loadTimeout)
	b.waitForAnswer("chelsea.jpg", runTimeout)
	if got := b.top1(); got != "Egyptian cat" {
		t.Errorf("static site: chelsea top-1 %q, want Egyptian cat", got)
	}
	if badge := eval[string](b, `document.querySelector('#engine-badge')?.textContent || ''`); engineOf(badge) != "cpu" {
		t.Errorf("static site without WebGPU answered on %q", badge)
	}
	// A plain file server sends no COOP/COEP: no SharedArrayBuffer, so
	// the kernels run on the page's thread alone, and the panel says why.
	if eng := eval[string](b, `document.querySelector('#cpu-engine')?.textContent || ''`); eng != "wasm SIMD, 1 worker (no SharedArrayBuffer)" {
		t.Errorf("CPU engine %q on a page that is not cross-origin isolated", eng)
	}
	t.Logf("static site: page load → first top-5 %.0f ms on the CPU, model not cached; load average %s", b.firstTop5(), loadAvg())
	b.shot("static-1-chelsea")

	// The worker installs and activates; the model cache must survive it.
	if !eval[bool](b, `Promise.race([navigator.serviceWorker.ready.then(r => !!r.active),
		new Promise(resolve => setTimeout(() => resolve(false), 60000))])`) {
		t.Fatal("static site: no active service worker within a minute")
	}
	keys := eval[[]string](b, `caches.keys()`)
	if !contains(keys, "residual-models-v1") || !hasPrefix(keys, "app-") {
		t.Errorf("caches after the first visit: %q, want the model cache and the worker's app-… cache", keys)
	}
	b.navigate("/")
	b.waitForModel(loadTimeout)
	if cached := eval[string](b, `document.querySelector('#model-progress-label').dataset.cached`); cached != "yes" {
		t.Errorf("static site reload: model not from the cache (%q)", cached)
	}
	if n := modelGets.Load(); n != 1 {
		t.Errorf("the file server sent the model %d times, want 1", n)
	}
	if v := b.consoleMatching(cspViolation); len(v) > 0 {
		t.Errorf("content blocked: %q", v)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func hasPrefix(list []string, p string) bool {
	for _, v := range list {
		if strings.HasPrefix(v, p) {
			return true
		}
	}
	return false
}
