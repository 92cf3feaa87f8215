//go:build js

package wasmsimd

import (
	"os"
	"strings"
	"testing"

	"github.com/residual-webgpu/residual/internal/webio"
	"github.com/residual-webgpu/residual/model/weights"
)

// fetched downloads a file the browser test's page serves.
func fetched(t testing.TB, url string) []byte {
	t.Helper()
	resp, err := webio.Fetch(url)
	if err != nil {
		t.Skipf("%v", err)
	}
	b, err := webio.ReadBody(url, resp, 1<<30, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// buildKernels is, in the browser, the module the native TestBrowser built
// and serves.
func buildKernels(t testing.TB) []byte { return fetched(t, "/kernels.wasm") }

// benchModel is the real int8 ResNet-50 the native TestBrowser serves
// (with RESIDUAL_BROWSER_BENCH), or a skip.
func benchModel(b testing.TB) *weights.Model {
	m, err := weights.Decode("model.safetensors", fetched(b, "/model.safetensors"))
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// workerURL is where TestBrowser's page serves WorkerJS (its
// Content-Security-Policy, like the app's, allows no Blob URL workers).
const workerURL = workerJSPath

// wantWorkers is how many workers asking for n must give: n, or on
// TestBrowser's page that is not cross-origin isolated
// (RESIDUAL_WASMSIMD_FALLBACK) 1.
func wantWorkers(n int) int {
	if os.Getenv("RESIDUAL_WASMSIMD_FALLBACK") != "" {
		return 1
	}
	return n
}

// buildRelaxedKernels is the relaxed-SIMD build TestBrowser serves.
func buildRelaxedKernels(t testing.TB) []byte { return fetched(t, "/kernels-relaxed.wasm") }

// wantRelaxed says whether RelaxedSIMD must be true: in TestBrowser's
// Chromium, yes.
const wantRelaxed = true

// realModelAndPhotos is the real int8 ResNet-50 and the test photos
// TestBrowser serves (/model.safetensors, and the photos' names in
// RESIDUAL_WASMSIMD_PHOTOS under /photos/), or a skip.
func realModelAndPhotos(t *testing.T) (*weights.Model, []string, [][]byte) {
	t.Helper()
	names := os.Getenv("RESIDUAL_WASMSIMD_PHOTOS")
	if names == "" {
		t.Skip("no photos served")
	}
	m := benchModel(t)
	var files []string
	var data [][]byte
	for _, f := range strings.Split(names, ",") {
		files = append(files, f)
		data = append(data, fetched(t, "/photos/"+f))
	}
	return m, files, data
}
