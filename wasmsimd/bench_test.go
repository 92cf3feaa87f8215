package wasmsimd

import (
	"context"
	"os"
	"testing"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/weights"
)

// BenchmarkResNet50 runs the real int8 ResNet-50 (RESIDUAL_MODEL, from
// `make weights`) at 224, one image, natively through wazero: one thread,
// the module's SIMD compiled to the host's.
func BenchmarkResNet50(b *testing.B) {
	for _, q := range []bool{false, true} {
		name := "f32-activations"
		if q {
			name = "int8-activations"
		}
		b.Run(name, func(b *testing.B) { benchResNet50(b, Options{Int8Activations: q}) })
	}
}

func benchResNet50(b *testing.B, opt Options) {
	path := os.Getenv("RESIDUAL_MODEL")
	wasm, err := os.ReadFile(os.Getenv("RESIDUAL_KERNELS_WASM"))
	if path == "" || err != nil {
		b.Skip("set RESIDUAL_MODEL and RESIDUAL_KERNELS_WASM")
	}
	m, err := weights.Load(path)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	e, err := New(ctx, wasm, m, opt)
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	x := model.NewTensor(1, 3, 224, 224)
	for b.Loop() {
		if _, err := e.Run(ctx, x, model.RunOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
