//go:build !js

package wasmsimd

import (
	"os"
	"testing"
)

// TestWorkerJSServed: the app serves the workers' script from
// web/wasmsimd-worker.js, which must be WorkerJS as it stands.
func TestWorkerJSServed(t *testing.T) {
	b, err := os.ReadFile("../web/wasmsimd-worker.js")
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != WorkerJS {
		t.Fatal("web/wasmsimd-worker.js is not WorkerJS: copy WorkerJS (wasmsimd/worker.go) into it")
	}
}
