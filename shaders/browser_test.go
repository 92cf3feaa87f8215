//go:build !js

package shaders

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

// browserTests are the tests that run again inside headless Chromium on
// WebGPU: the same kernels, checked against the same CPU reference.
const browserTests = "^(TestOpenReportsDevice|TestConvMatchesReference|TestMaxPoolMatchesReference|TestAvgPoolMatchesReference|" +
	"TestLinearMatchesReference|TestEngineMatchesCPU|TestKernelVariantsCompile|TestRenderChecksPlaceholders|TestChooseTileFillsLanes|" +
	"TestBrowserDeviceFound|TestShaderErrorIsAnError|TestOversizedBufferIsAnError|TestDoRecoversPanics|TestDeviceLossThenReopen|" +
	"TestNormalizeMatchesPreprocess|TestRunImageMatchesRun|TestNetworksMatchCPU|TestBrowserTimestamps|TestPageForbidsEval|" +
	"TestFailedRunDropsNewPlan|TestPrecompileMakesEveryPipeline|TestSwiftShaderShuffles|TestConvF32MatchesReference|TestLinearF32MatchesReference|" +
	"TestPackChecksWeightStorage|TestF32AndInt8FilesAgree|TestRunSplitsLargeBatches)$"

// browserPage loads the wasm test binary with Go's wasm_exec.js, records
// its output lines and exit code for the test to read back.
// Its CSP forbids eval and new Function, as a strict site's would, so the
// engine is proven not to need them.
const browserPage = `<!doctype html><meta charset="utf-8"><title>shaders.test</title>
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
WebAssembly.instantiateStreaming(fetch("shaders.test.wasm"), go.importObject)
  .then((r) => go.run(r.instance))
  .catch((e) => { window.out.push("load error: " + e); window.exitCode = -1; });
</script>`

// TestBrowser builds this package's tests for GOOS=js GOARCH=wasm and runs
// them in headless Chromium with WebGPU (SwiftShader on these machines),
// so the browser path (Tint's WGSL compiler, the JS backend of wgpu,
// promise-blocking calls) is proven by the same assertions as the native
// one. RESIDUAL_BROWSER_BENCH=1 adds the conv and ResNet-50 benchmarks
// (another value is taken as the -test.bench pattern), RESIDUAL_TILES=1
// the tile measurements; RESIDUAL_BROWSER_RUN replaces the test pattern
// (then only the exit code is checked).
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode: builds a wasm test binary and drives Chromium")
	}
	chromium, err := findChromium()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	wasm := filepath.Join(dir, "shaders.test.wasm")
	build := exec.Command("go", "test", "-c", "-o", wasm, ".")
	build.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build wasm tests: %v\n%s", err, out)
	}
	run := browserTests
	if r := os.Getenv("RESIDUAL_BROWSER_RUN"); r != "" {
		run = r // e.g. "^$" with RESIDUAL_BROWSER_BENCH to only measure
	}
	args := []string{"shaders.test", "-test.v", "-test.run", run, "-test.timeout", "9m"}
	if b := os.Getenv("RESIDUAL_BROWSER_BENCH"); b != "" {
		if b == "1" {
			b = "^Benchmark(Conv3x3|Conv1x1|ResNet50)$"
		}
		args = append(args, "-test.bench", b, "-test.benchtime", "3x")
	}
	if os.Getenv("RESIDUAL_TILES") != "" && run == browserTests {
		args[3] = strings.TrimSuffix(args[3], ")$") + "|TestConvTiles)$"
	}
	argv, _ := json.Marshal(args)
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "RESIDUAL_") {
			env[k] = v // the wasm tests see the same switches
		}
	}
	envJSON, _ := json.Marshal(env)
	execJS := filepath.Join(goruntime.GOROOT(), "lib", "wasm", "wasm_exec.js")
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, strings.NewReplacer("ARGV", string(argv), "ENV", string(envJSON)).Replace(browserPage))
	})
	mux.HandleFunc("/wasm_exec.js", func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, execJS) })
	mux.HandleFunc("/shaders.test.wasm", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/wasm")
		http.ServeFile(w, r, wasm)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.UserDataDir(filepath.Join(dir, "profile")),
		chromedp.Flag("headless", "new"),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("enable-unsafe-webgpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 10*time.Minute)
	defer cancelTimeout()

	// WebGPU reports invalid shaders and pipelines asynchronously, as
	// console warnings, not as errors from the calls that made them.
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
			// Tests that make GPU errors on purpose label the objects.
			if m.Type != chromedp.ConsoleLog && m.Type != chromedp.ConsoleDebug && m.Type != chromedp.ConsoleInfo &&
				!strings.Contains(m.String(), expectedErrorLabel) {
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
		chromedp.WithPollingTimeout(9*time.Minute), chromedp.WithPollingInterval(500*time.Millisecond)))
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
		// page outlives it) calls into a Go program that is gone; the
		// app never exits, and every test has reported by then.
		if strings.Contains(p, "Go program has already exited") {
			t.Logf("browser console, after the tests: %s", p)
			continue
		}
		t.Errorf("browser console: %s", p)
	}
	// A run where every test skipped would also exit 0: demand real passes.
	if run != browserTests {
		return
	}
	for _, name := range []string{"TestConvMatchesReference", "TestEngineMatchesCPU", "TestBrowserDeviceFound", "TestDeviceLossThenReopen", "TestBrowserTimestamps", "TestPageForbidsEval", "TestSwiftShaderShuffles", "TestNetworksMatchCPU"} {
		if !strings.Contains(out, "--- PASS: "+name) {
			t.Fatalf("%s did not pass in the browser", name)
		}
	}
}

// findChromium locates the Chromium binary (tools/deps.sh installs it).
func findChromium() (string, error) {
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
