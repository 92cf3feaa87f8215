//go:build js && wasm

package app

import (
	"context"

	"github.com/residual-webgpu/residual/internal/webio"
)

// kernelsURL is the wasm SIMD kernel module (make builds it into web/).
const kernelsURL = "/web/kernels.wasm"

func init() {
	cpuKernels = fetchKernels
	cpuGoOnly = queryParam("cpu") == "go"
}

// fetchKernels downloads the kernel module (kilobytes; the service worker
// keeps it for offline visits).
func fetchKernels(context.Context) ([]byte, error) {
	return webio.Get(kernelsURL, 1<<20)
}
