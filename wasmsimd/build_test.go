//go:build !js

package wasmsimd

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/residual-webgpu/residual/model/weights"
)

// buildKernels compiles kernels.c with tools/build_kernels.sh (as the
// Makefile does), twice, and checks the two builds are the same bytes.
func buildKernels(t testing.TB) []byte { return build(t) }

// build runs tools/build_kernels.sh OUT args... twice and checks the two
// builds are the same bytes.
func build(t testing.TB, args ...string) []byte {
	t.Helper()
	if _, err := exec.LookPath("clang"); err != nil {
		t.Fatal("clang is not installed: run tools/deps.sh (make test does)")
	}
	var builds [][]byte
	for i := range 2 {
		out := filepath.Join(t.TempDir(), fmt.Sprintf("kernels%d.wasm", i))
		if b, err := exec.Command("../tools/build_kernels.sh", append([]string{out}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("build_kernels.sh %v: %v\n%s", args, err, b)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		builds = append(builds, b)
	}
	if !bytes.Equal(builds[0], builds[1]) {
		t.Fatalf("two builds of kernels.c %v differ", args)
	}
	return builds[0]
}

// benchModel is the real int8 ResNet-50 (`make weights`), or a skip.
func benchModel(b testing.TB) *weights.Model {
	m, err := weights.Load("../web/models/resnet50-v1-int8.safetensors")
	if err != nil {
		b.Skipf("%v (run make weights)", err)
	}
	return m
}

// workerURL is where the browser tests' page serves WorkerJS; natively
// unused.
const workerURL = ""

// wantWorkers is how many workers asking for n must give: natively n.
func wantWorkers(n int) int { return n }

// buildRelaxedKernels is buildKernels for the relaxed-SIMD build.
func buildRelaxedKernels(t testing.TB) []byte { return build(t, "relaxed") }

// wantRelaxed says whether RelaxedSIMD must be true: natively not.
const wantRelaxed = false

// realModelAndPhotos loads the real int8 ResNet-50 (`make weights`) and
// the test photos. A missing model skips, unless make test's
// RESIDUAL_REQUIRE_WEIGHTS is set.
func realModelAndPhotos(t *testing.T) (*weights.Model, []string, [][]byte) {
	t.Helper()
	const path = "../web/models/resnet50-v1-int8.safetensors"
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("RESIDUAL_REQUIRE_WEIGHTS") != "" {
			t.Fatalf("%v (run make weights)", err)
		}
		t.Skipf("%v (run make weights)", err)
	}
	m, err := weights.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("../testdata/photos/*")
	var data [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		data = append(data, b)
	}
	return m, files, data
}
