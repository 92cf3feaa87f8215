package cpu

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/residual-webgpu/residual/model"
)

// benchmarkArch times Run on a 224×224 image, batch 1, random int8 weights,
// and reports the stages' share so slow layers stand out.
func benchmarkArch(b *testing.B, name string) {
	a, err := model.ByName(name)
	if err != nil {
		b.Fatal(err)
	}
	e, err := New(randModel(b, a, 1, true))
	if err != nil {
		b.Fatal(err)
	}
	x := randTensor(rand.New(rand.NewPCG(1, 2)), 1, 3, 224, 224)
	st, err := e.net.Stages(1, 224, 224)
	if err != nil {
		b.Fatal(err)
	}
	_, macs := model.Totals(st)
	stageMs := map[string]float64{}
	cpu0, cpuOK := processCPU()
	b.ResetTimer()
	for b.Loop() {
		res, err := e.Run(context.Background(), x, model.RunOptions{})
		if err != nil {
			b.Fatal(err)
		}
		for _, s := range res.Stages {
			stageMs[s.Name] += s.Ms
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
	if cpu1, ok := processCPU(); ok && cpuOK {
		// CPU time per run: on a machine shared with other work, wall time
		// on an idle machine is about this divided by the cores used.
		b.ReportMetric(float64((cpu1-cpu0).Milliseconds())/float64(b.N), "cpu-ms/op")
	}
	b.ReportMetric(2*float64(macs)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	for _, s := range st {
		if s.MACs > 0 {
			b.ReportMetric(stageMs[s.Name]/float64(b.N), s.Name+"-ms")
		}
	}
}

func BenchmarkResNet18(b *testing.B) { benchmarkArch(b, "resnet18") }
func BenchmarkResNet50(b *testing.B) { benchmarkArch(b, "resnet50") }
