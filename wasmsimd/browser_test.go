//go:build !js

package wasmsimd

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/residual-webgpu/residual/internal/browsertest"
)

// TestBrowser runs the kernel and engine tests again in headless Chromium,
// the module instantiated by the page's WebAssembly (V8's SIMD, not
// wazero's): on a cross-origin isolated page, where the calls are split
// between the page's thread and Web Workers (WorkerJS, served as the app
// would serve it), and on a page that is not, where the engine must run
// on one worker and say why. RESIDUAL_BROWSER_BENCH=1 adds TestTiming
// (one and two workers, alternated) on the isolated page, on the real
// model `make weights` builds.
func TestBrowser(t *testing.T) {
	dir := t.TempDir()
	kernels, worker := filepath.Join(dir, "kernels.wasm"), filepath.Join(dir, "worker.js")
	if err := os.WriteFile(kernels, buildKernels(t), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(worker, []byte(WorkerJS), 0o644); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"/kernels.wasm": kernels, workerJSPath: worker}
	t.Run("isolated", func(t *testing.T) {
		args := []string{"-test.v", "-test.run", "^(TestConvMatchesReference|TestEngineMatchesCPU)$"}
		files := maps.Clone(files)
		if os.Getenv("RESIDUAL_BROWSER_BENCH") != "" {
			files["/model.safetensors"] = "../web/models/resnet50-v1-int8.safetensors"
			args[2] = "^(TestConvMatchesReference|TestEngineMatchesCPU|TestTiming)$"
		}
		out := browsertest.Run(t, browsertest.Config{Args: args, Files: files, Isolated: true})
		if os.Getenv("RESIDUAL_BROWSER_BENCH") != "" {
			browsertest.Passed(t, out, "TestTiming")
		}
		browsertest.Passed(t, out, "TestConvMatchesReference/workers=2", "TestConvMatchesReference/workers=3", "TestEngineMatchesCPU")
		for _, mode := range []string{"mode: wasm SIMD, 1 worker\n", "mode: wasm SIMD, 2 workers\n", "mode: wasm SIMD, 3 workers\n"} {
			if !strings.Contains(out, mode) {
				t.Errorf("no %q in the output", mode)
			}
		}
	})
	t.Run("not-isolated", func(t *testing.T) {
		out := browsertest.Run(t, browsertest.Config{
			Args:  []string{"-test.v", "-test.run", "^TestEngineMatchesCPU$"},
			Files: files,
			Env:   map[string]string{"RESIDUAL_WASMSIMD_FALLBACK": "1"},
		})
		browsertest.Passed(t, out, "TestEngineMatchesCPU")
		if !strings.Contains(out, "mode: wasm SIMD, 1 worker (no SharedArrayBuffer)\n") || strings.Contains(out, "workers\n") {
			t.Errorf("the page that is not isolated did not run on one worker only, saying why")
		}
	})
}
