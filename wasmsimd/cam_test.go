package wasmsimd

import (
	"context"
	"math"
	"math/rand"
	"slices"
	"testing"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/cpu"
	"github.com/residual-webgpu/residual/model/golden"
	"github.com/residual-webgpu/residual/model/weights"
)

// TestCAMMatchesCPU: the maps this engine gives (layer4's output read out
// of module memory, then cpu.CAMs) agree with the CPU engine's within
// 1e-3 of each map's largest |value|, for every image of a batch; with
// int8 activations they come back for the same classes and shapes.
func TestCAMMatchesCPU(t *testing.T) {
	ctx := context.Background()
	wasm := buildKernels(t)
	a := model.Arch{Name: "bottleneck", Block: model.Bottleneck, Layers: [4]int{1, 2, 1, 1}, Groups: 4, WidthPerGroup: 16, NumClasses: 17, Variant: model.V1, BaseChannels: 16}
	m, err := golden.Model(a, 3, 1e-5, weights.Int8)
	if err != nil {
		t.Fatal(err)
	}
	x := model.NewTensor(3, 3, 64, 57)
	rng := rand.New(rand.NewSource(4))
	for i := range x.Data {
		x.Data[i] = float32(rng.NormFloat64())
	}
	ref, err := cpu.New(m)
	if err != nil {
		t.Fatal(err)
	}
	opt := model.RunOptions{TopK: 3, CAM: true}
	want, err := ref.Run(ctx, x, opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, eo := range []Options{{}, {Int8Activations: true}} {
		e, err := New(ctx, wasm, m, eo)
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.Run(ctx, x, opt)
		if err != nil {
			t.Fatal(err)
		}
		// The maps' classifier rows, read back out of the packed panels
		// (the engine keeps no other copy), are the file's, for classes
		// in every position of a panel and one asked for twice.
		fw, _ := m.Weight("fc")
		all, _ := fw.Int8()
		ask := [][]model.Prediction{{{Index: 16}, {Index: 1}}, {{Index: 6}, {Index: 16}, {Index: 3}}}
		rows, _, local, err := e.classRows("fc", ask)
		if err != nil {
			t.Fatal(err)
		}
		c := fw.Shape[1]
		for i, preds := range ask {
			for j, p := range preds {
				r := local[i][j].Index
				if !slices.Equal(rows.I8[r*c:(r+1)*c], all[p.Index*c:(p.Index+1)*c]) || rows.Scale[r] != fw.Scale[p.Index] {
					t.Errorf("%+v: class %d's row read out of the panels differs from the file's", eo, p.Index)
				}
			}
		}
		if len(rows.Scale) != 4 {
			t.Errorf("%+v: %d rows for 4 classes", eo, len(rows.Scale))
		}
		e.Close()
		if len(got.CAMs) != 3 {
			t.Fatalf("%+v: %d images of maps, want 3", eo, len(got.CAMs))
		}
		worst := 0.0
		for i := range got.CAMs {
			for r, g := range got.CAMs[i] {
				w := want.CAMs[i][r]
				if g.Class != got.Top[i][r].Index || g.W != w.W || g.H != w.H || len(g.Values) != len(w.Values) {
					t.Fatalf("%+v image %d rank %d: map of class %d %dx%d, cpu class %d %dx%d", eo, i, r, g.Class, g.W, g.H, w.Class, w.W, w.H)
				}
				if !eo.Int8Activations && r == 0 && g.Class != w.Class {
					t.Fatalf("image %d: top-1 class %d, cpu %d", i, g.Class, w.Class)
				}
				if eo.Int8Activations || g.Class != w.Class {
					continue // quantized activations move the values; a near tie may swap ranks
				}
				big, diff := 0.0, 0.0
				for j, v := range w.Values {
					big = math.Max(big, math.Abs(float64(v)))
					diff = math.Max(diff, math.Abs(float64(g.Values[j]-v)))
				}
				if big == 0 || diff > 1e-3*big {
					t.Errorf("image %d class %d: max |Δ| %g, max |cpu| %g", i, g.Class, diff, big)
				}
				worst = math.Max(worst, diff/big)
			}
		}
		if !eo.Int8Activations {
			t.Logf("cam: wasm-simd vs cpu, worst max |Δ| / max |cpu map| %.2g", worst)
		}
	}
}
