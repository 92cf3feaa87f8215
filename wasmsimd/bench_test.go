package wasmsimd

import (
	"context"
	"fmt"
	"testing"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/cpu"
)

// BenchmarkResNet50 runs the real int8 ResNet-50 at 224, one image, on
// one and on two workers (threads): natively through wazero (the module's SIMD compiled to the
// host's), or in Chromium through TestBrowser with RESIDUAL_BROWSER_BENCH.
// go-cpu is the Go CPU engine on the same input, side by side (in the
// browser that is the app's wasm CPU engine; natively it uses every core).
func BenchmarkResNet50(b *testing.B) {
	m := benchModel(b)
	wasm := buildKernels(b)
	b.Run("go-cpu", func(b *testing.B) {
		e, err := cpu.New(m)
		if err != nil {
			b.Fatal(err)
		}
		x := model.NewTensor(1, 3, 224, 224)
		for b.Loop() {
			if _, err := e.Run(context.Background(), x, model.RunOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, q := range []bool{false, true} {
		name := "f32-activations"
		if q {
			name = "int8-activations"
		}
		for _, n := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/workers=%d", name, n), func(b *testing.B) {
				ctx := context.Background()
				e, err := New(ctx, wasm, m, Options{Int8Activations: q, Workers: n, WorkerURL: workerURL})
				if err != nil {
					b.Fatal(err)
				}
				defer e.Close()
				if e.Workers() != n {
					b.Skipf("%s", e.Mode())
				}
				x := model.NewTensor(1, 3, 224, 224)
				for b.Loop() {
					if _, err := e.Run(ctx, x, model.RunOptions{}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
