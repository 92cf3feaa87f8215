//go:build !js

package wasmsimd

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/residual-webgpu/residual/internal/browsertest"
)

// TestBrowser runs the kernel and engine tests again in headless Chromium,
// the module instantiated by the page's WebAssembly (V8's SIMD, not
// wazero's). RESIDUAL_BROWSER_BENCH=1 adds BenchmarkResNet50 there, on the
// real model when `make weights` has built it.
func TestBrowser(t *testing.T) {
	kernels := filepath.Join(t.TempDir(), "kernels.wasm")
	if err := os.WriteFile(kernels, buildKernels(t), 0o644); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"/kernels.wasm": kernels}
	args := []string{"-test.v", "-test.run", "^(TestConvMatchesReference|TestEngineMatchesCPU)$"}
	if os.Getenv("RESIDUAL_BROWSER_BENCH") != "" {
		files["/model.safetensors"] = "../web/models/resnet50-v1-int8.safetensors"
		args = append(args, "-test.bench", "ResNet50", "-test.benchtime", "3x")
	}
	out := browsertest.Run(t, browsertest.Config{Args: args, Files: files})
	browsertest.Passed(t, out, "TestConvMatchesReference", "TestEngineMatchesCPU")
}
