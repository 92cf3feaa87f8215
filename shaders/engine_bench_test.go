package shaders

import (
	"context"
	"math/rand"
	"testing"

	"github.com/residual-webgpu/residual/model"
)

// benchmarkArch times a warm forward pass of a random-weight network at
// 224×224, batch 1, and reports the conv throughput.
func benchmarkArch(b *testing.B, name string, profile bool) {
	d := device(b)
	a, err := model.ByName(name)
	if err != nil {
		b.Fatal(err)
	}
	m := randModel(b, a, 1)
	e, err := NewEngine(d, m)
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	x := randTensor(rand.New(rand.NewSource(1)), 1, 3, 224, 224)
	res, err := e.Run(context.Background(), x, model.RunOptions{Profile: profile})
	if err != nil {
		b.Fatal(err)
	}
	if profile {
		for _, s := range res.Stages {
			b.Logf("%-10s %8.1f ms  %6.2f GMAC", s.Name, s.Ms, float64(s.MACs)/1e9)
		}
	}
	stages, _ := m.Net.Stages(1, 224, 224)
	_, macs := model.Totals(stages)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := e.Run(context.Background(), x, model.RunOptions{Profile: profile}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(2*float64(macs)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	b.ReportMetric(b.Elapsed().Seconds()*1e3/float64(b.N), "ms/image")
}

// BenchmarkResNet50 is the warm latency of ResNet-50 (random int8 weights).
func BenchmarkResNet50(b *testing.B) { benchmarkArch(b, "resnet50", false) }

// BenchmarkResNet50Profile is the same with per-stage timing.
func BenchmarkResNet50Profile(b *testing.B) { benchmarkArch(b, "resnet50", true) }

// BenchmarkResNet18 is the warm latency of ResNet-18 (random int8 weights).
func BenchmarkResNet18(b *testing.B) { benchmarkArch(b, "resnet18", false) }
