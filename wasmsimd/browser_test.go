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
// on one worker and say why. With the real model (`make weights`) the
// isolated page also checks int8 activations, plain and with relaxed
// SIMD, on the test photos; RESIDUAL_BROWSER_BENCH=1 adds TestTiming
// there (one and two workers, alternated).
func TestBrowser(t *testing.T) {
	dir := t.TempDir()
	kernels, relaxed, worker := filepath.Join(dir, "kernels.wasm"), filepath.Join(dir, "kernels-relaxed.wasm"), filepath.Join(dir, "worker.js")
	for f, b := range map[string][]byte{kernels: buildKernels(t), relaxed: buildRelaxedKernels(t), worker: []byte(WorkerJS)} {
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{"/kernels.wasm": kernels, "/kernels-relaxed.wasm": relaxed, workerJSPath: worker}
	t.Run("isolated", func(t *testing.T) {
		tests := []string{"TestConvMatchesReference", "TestEngineMatchesCPU", "TestRelaxedSIMD"}
		files, env := maps.Clone(files), map[string]string{}
		// With the real model: int8 activations (plain and relaxed SIMD)
		// keep f32's top-1 on the test photos, in V8.
		const model = "../web/models/resnet50-v1-int8.safetensors"
		if _, err := os.Stat(model); err == nil || os.Getenv("RESIDUAL_REQUIRE_WEIGHTS") != "" {
			files["/model.safetensors"] = model
			photos, _ := filepath.Glob("../testdata/photos/*")
			var names []string
			for _, p := range photos {
				names = append(names, filepath.Base(p))
				files["/photos/"+filepath.Base(p)] = p
			}
			env["RESIDUAL_WASMSIMD_PHOTOS"] = strings.Join(names, ",")
			tests = append(tests, "TestInt8ActivationsRealResNet50", "TestRelaxedInt8RealResNet50")
			if os.Getenv("RESIDUAL_BROWSER_BENCH") != "" {
				tests = append(tests, "TestTiming")
			}
		}
		args := []string{"-test.v", "-test.run", "^(" + strings.Join(tests, "|") + ")$"}
		out := browsertest.Run(t, browsertest.Config{Args: args, Files: files, Env: env, Isolated: true})
		browsertest.Passed(t, out, tests...)
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
