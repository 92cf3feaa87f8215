//go:build !js

package shaders

import (
	"os"
	"strings"
	"testing"

	"github.com/residual-webgpu/residual/internal/browsertest"
)

// browserTests are the tests that run again inside headless Chromium on
// WebGPU: the same kernels, checked against the same CPU reference.
const browserTests = "^(TestOpenReportsDevice|TestConvMatchesReference|TestMaxPoolMatchesReference|TestAvgPoolMatchesReference|" +
	"TestLinearMatchesReference|TestEngineMatchesCPU|TestKernelVariantsCompile|TestRenderChecksPlaceholders|TestChooseTileFillsLanes|" +
	"TestBrowserDeviceFound|TestShaderErrorIsAnError|TestOversizedBufferIsAnError|TestDoRecoversPanics|TestDeviceLossThenReopen|" +
	"TestNormalizeMatchesPreprocess|TestRunImageMatchesRun|TestNetworksMatchCPU|TestBrowserTimestamps|TestPageForbidsEval|" +
	"TestFailedRunDropsNewPlan|TestPrecompileMakesEveryPipeline|TestSwiftShaderShuffles|TestConvF32MatchesReference|TestLinearF32MatchesReference|" +
	"TestPackChecksWeightStorage|TestF32AndInt8FilesAgree|TestRunSplitsLargeBatches)$"

// TestBrowser builds this package's tests for GOOS=js GOARCH=wasm and runs
// them in headless Chromium with WebGPU (SwiftShader on these machines),
// so the browser path (Tint's WGSL compiler, the JS backend of wgpu,
// promise-blocking calls) is proven by the same assertions as the native
// one. RESIDUAL_BROWSER_BENCH=1 adds the conv and ResNet-50 benchmarks
// (another value is taken as the -test.bench pattern), RESIDUAL_TILES=1
// the tile measurements; RESIDUAL_BROWSER_RUN replaces the test pattern
// (then only the exit code is checked).
func TestBrowser(t *testing.T) {
	run := browserTests
	if r := os.Getenv("RESIDUAL_BROWSER_RUN"); r != "" {
		run = r // e.g. "^$" with RESIDUAL_BROWSER_BENCH to only measure
	}
	args := []string{"-test.v", "-test.run", run, "-test.timeout", "9m"}
	if b := os.Getenv("RESIDUAL_BROWSER_BENCH"); b != "" {
		if b == "1" {
			b = "^Benchmark(Conv3x3|Conv1x1|ResNet50)$"
		}
		args = append(args, "-test.bench", b, "-test.benchtime", "3x")
	}
	if os.Getenv("RESIDUAL_TILES") != "" && run == browserTests {
		args[2] = strings.TrimSuffix(args[2], ")$") + "|TestConvTiles)$"
	}
	out := browsertest.Run(t, browsertest.Config{
		Args:   args,
		WebGPU: true,
		// WebGPU reports invalid shaders and pipelines asynchronously, as
		// console warnings; tests that make GPU errors on purpose label
		// the objects.
		Expected: func(m string) bool { return strings.Contains(m, expectedErrorLabel) },
	})
	if run == browserTests {
		browsertest.Passed(t, out, "TestConvMatchesReference", "TestEngineMatchesCPU", "TestBrowserDeviceFound", "TestDeviceLossThenReopen",
			"TestBrowserTimestamps", "TestPageForbidsEval", "TestSwiftShaderShuffles", "TestNetworksMatchCPU")
	}
}
