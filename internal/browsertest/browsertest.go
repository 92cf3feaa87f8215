//go:build !js

// Package browsertest runs a package's tests, built for GOOS=js
// GOARCH=wasm, inside headless Chromium, so that code written for the
// browser (WebGPU through wgpu's JS backend, a wasm module instantiated
// by the page) is proven by the same assertions as natively. The page
// forbids eval and new Function, as a strict site's CSP would.
package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Config says what to run.
type Config struct {
	// Args are the test binary's arguments (-test.run, -test.bench…).
	Args []string
	// Files are served beside the test binary: URL path ("/kernels.wasm")
	// to a local file.
	Files map[string]string
	// WebGPU turns on --enable-unsafe-webgpu (SwiftShader's adapter).
	WebGPU bool
	// Timeout bounds the whole run (default 10 minutes).
	Timeout time.Duration
	// Expected says which console warnings and errors are not problems
	// (say, GPU errors a test makes on purpose); nil: none is.
	Expected func(msg string) bool
	// Isolated serves every response with COOP/COEP, so that the page is
	// cross-origin isolated (SharedArrayBuffer, wasm threads).
	Isolated bool
	// Env adds to the wasm tests' environment (beside RESIDUAL_*).
	Env map[string]string
}

// page loads the wasm test binary with Go's wasm_exec.js and records its
// output lines and exit code.
const page = `<!doctype html><meta charset="utf-8"><title>TITLE</title>
<meta http-equiv="Content-Security-Policy" content="script-src 'self' 'unsafe-inline' 'wasm-unsafe-eval'">
<script src="wasm_exec.js"></script>
<script>
window.out = []; window.exitCode = null;
const log = console.log;
console.log = (...a) => { window.out.push(a.join(" ")); log(...a); };
const go = new Go();
go.argv = ARGV;
go.env = ENV;
go.exit = (code) => { window.exitCode = code; };
WebAssembly.instantiateStreaming(fetch("test.wasm"), go.importObject)
  .then((r) => go.run(r.instance))
  .catch((e) => { window.out.push("load error: " + e); window.exitCode = -1; });
</script>`

// Run builds the tests of the package in the current directory for
// js/wasm and runs them in Chromium. It fails t when they fail, do not
// finish, or the console reports an unexpected problem, and returns their
// output. RESIDUAL_* variables reach the wasm tests' environment.
func Run(t *testing.T, c Config) string {
	t.Helper()
	if testing.Short() {
		t.Skip("skipped in -short mode: builds a wasm test binary and drives Chromium")
	}
	chromium, err := FindChromium()
	if err != nil {
		t.Fatal(err)
	}
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Minute
	}
	dir := t.TempDir()
	wasm := filepath.Join(dir, "test.wasm")
	build := exec.Command("go", "test", "-c", "-o", wasm, ".")
	build.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build wasm tests: %v\n%s", err, out)
	}
	argv, _ := json.Marshal(append([]string{"test"}, c.Args...))
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "RESIDUAL_") {
			env[k] = v
		}
	}
	for k, v := range c.Env {
		env[k] = v
	}
	envJSON, _ := json.Marshal(env)
	execJS := filepath.Join(goruntime.GOROOT(), "lib", "wasm", "wasm_exec.js")
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, strings.NewReplacer("TITLE", t.Name(), "ARGV", string(argv), "ENV", string(envJSON)).Replace(page))
	})
	mux.HandleFunc("/wasm_exec.js", func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, execJS) })
	files := map[string]string{"/test.wasm": wasm}
	for k, v := range c.Files {
		files[k] = v
	}
	for path, file := range files {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(path, ".wasm") {
				w.Header().Set("Content-Type", "application/wasm")
			}
			http.ServeFile(w, r, file)
		})
	}
	var handler http.Handler = mux
	if c.Isolated {
		handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cross-Origin-Opener-Policy", "same-origin")
			w.Header().Set("Cross-Origin-Embedder-Policy", "require-corp")
			mux.ServeHTTP(w, r)
		})
	}
	srv := httptest.NewServer(handler)
	defer srv.Close()

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.UserDataDir(filepath.Join(dir, "profile")),
		chromedp.Flag("headless", "new"),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
	)
	if c.WebGPU {
		opts = append(opts, chromedp.Flag("enable-unsafe-webgpu", true))
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, c.Timeout)
	defer cancelTimeout()

	var (
		mu       sync.Mutex
		problems []string
	)
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type != chromedp.ConsoleLog && m.Type != chromedp.ConsoleDebug && m.Type != chromedp.ConsoleInfo &&
				(c.Expected == nil || !c.Expected(m.String())) {
				mu.Lock()
				problems = append(problems, m.String())
				mu.Unlock()
			}
		}
	}()
	start := time.Now()
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatalf("open test page: %v", err)
	}
	_, perr := chromedp.Run(ctx, chromedp.Poll[bool]("window.exitCode !== null",
		chromedp.WithPollingTimeout(c.Timeout-30*time.Second), chromedp.WithPollingInterval(500*time.Millisecond)))
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.out.join("\n")`))
	if err != nil {
		t.Fatalf("read test output: %v", err)
	}
	t.Logf("browser test output (%v):\n%s", time.Since(start).Round(time.Second), out)
	if perr != nil {
		t.Fatalf("wasm tests did not finish: %v", perr)
	}
	code, err := chromedp.Run(ctx, chromedp.Evaluate[int]("window.exitCode"))
	if err != nil {
		t.Fatalf("read exit code: %v", err)
	}
	if code != 0 || !strings.Contains(out, "\nPASS") {
		t.Fatalf("wasm tests failed in the browser (exit code %d)", code)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		// A promise that settles after the test binary has exited (the
		// page outlives it) calls into a Go program that is gone.
		if strings.Contains(p, "Go program has already exited") {
			t.Logf("browser console, after the tests: %s", p)
			continue
		}
		t.Errorf("browser console: %s", p)
	}
	return out
}

// Passed fails t unless each named test passed in out (a run where every
// test skipped also exits 0).
func Passed(t *testing.T, out string, names ...string) {
	t.Helper()
	for _, name := range names {
		if !strings.Contains(out, "--- PASS: "+name) {
			t.Fatalf("%s did not pass in the browser", name)
		}
	}
}

// FindChromium locates the Chromium binary (tools/deps.sh installs it).
func FindChromium() (string, error) {
	for _, p := range []string{os.Getenv("CHROMIUM"), "/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("chromium not found (install it with tools/deps.sh test, or set CHROMIUM)")
}
