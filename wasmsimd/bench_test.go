package wasmsimd

import (
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

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

// TestTiming times the real ResNet-50 (one image at 224) on one and two
// workers, f32 and int8 activations (and int8 on the relaxed-SIMD build
// where it runs), alternating them in rounds (5, or
// RESIDUAL_TIMING_ROUNDS) so that a busy machine's noise falls on all
// alike; it logs each round's best of 3, then each one's median and best
// round. Only with RESIDUAL_BROWSER_BENCH (TestBrowser
// runs it in Chromium) or RESIDUAL_TIMING (natively).
func TestTiming(t *testing.T) {
	if os.Getenv("RESIDUAL_BROWSER_BENCH") == "" && os.Getenv("RESIDUAL_TIMING") == "" {
		t.Skip("set RESIDUAL_TIMING (natively) or RESIDUAL_BROWSER_BENCH (TestBrowser)")
	}
	m := benchModel(t)
	wasm := buildKernels(t)
	type variant struct {
		wasm []byte
		q    bool
	}
	vs := []variant{{wasm, false}, {wasm, true}}
	if RelaxedSIMD() {
		vs = append(vs, variant{buildRelaxedKernels(t), true})
	}
	ctx := context.Background()
	type config struct {
		name string
		e    *Engine
		ms   []float64
	}
	var cs []*config
	for _, v := range vs {
		for _, n := range []int{1, 2} {
			e, err := New(ctx, v.wasm, m, Options{Int8Activations: v.q, Workers: n, WorkerURL: workerURL})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			if e.Workers() != n {
				t.Fatalf("%s, want %d workers", e.Mode(), n)
			}
			cs = append(cs, &config{name: e.Mode(), e: e})
		}
	}
	x := model.NewTensor(1, 3, 224, 224)
	for i := range x.Data {
		x.Data[i] = float32(i%251) - 125
	}
	for _, c := range cs { // warm up
		if _, err := c.e.Run(ctx, x, model.RunOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	rounds := 5
	if n, err := strconv.Atoi(os.Getenv("RESIDUAL_TIMING_ROUNDS")); err == nil && n > 0 {
		rounds = n
	}
	for r := range rounds {
		line := fmt.Sprintf("round %d:", r+1)
		for _, c := range cs {
			best := math.Inf(1)
			for range 3 {
				start := time.Now()
				if _, err := c.e.Run(ctx, x, model.RunOptions{}); err != nil {
					t.Fatal(err)
				}
				best = min(best, float64(time.Since(start).Microseconds())/1000)
			}
			c.ms = append(c.ms, best)
			line += fmt.Sprintf("  %s %.0f ms;", c.name, best)
		}
		t.Log(line)
	}
	for _, c := range cs {
		slices.Sort(c.ms)
		t.Logf("%s: median %.0f ms, best %.0f ms", c.name, c.ms[len(c.ms)/2], c.ms[0])
	}
}
