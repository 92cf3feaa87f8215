package shaders

import (
	"context"
	"math/rand"
	"slices"
	"testing"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/cpu"
)

// TestHeatmapsEveryImage: the GPU reduces every image's heatmaps
// (heatmap.wgsl) as the CPU summarises them: two images of different
// content get different maps, each the CPU's within 1e-3, with the same
// raw range and strongest channel.
func TestHeatmapsEveryImage(t *testing.T) {
	m := randModel(t, tinyArchs[1], 5)
	e := newEngine(t, m)
	x := randTensor(rand.New(rand.NewSource(6)), 2, 3, 40, 36)
	per := len(x.Data) / 2
	for i := range per { // image 1: a brighter, flipped copy of image 0
		x.Data[per+i] = 2*x.Data[per-1-i] + 0.5
	}
	ce, err := cpu.New(m)
	if err != nil {
		t.Fatal(err)
	}
	opt := model.RunOptions{TopK: 3, Inspect: true}
	want, err := ce.Run(context.Background(), x, opt)
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.Run(context.Background(), x, opt)
	if err != nil {
		t.Fatal(err)
	}
	rows := 0
	for i, s := range got.Stages {
		all := append([]model.StageResult{s}, s.Blocks...)
		wall := append([]model.StageResult{want.Stages[i]}, want.Stages[i].Blocks...)
		for k, r := range all {
			if len(r.Heatmaps) != 2 || r.Heatmaps[0].Strongest == nil {
				t.Fatalf("%s: %d heatmaps", r.Name, len(r.Heatmaps))
			}
			if r.Kind == model.KindConv {
				continue // conv1's GPU output has its ReLU applied
			}
			rows++
			for j := range 2 {
				if d := model.HeatmapDiff(r.Heatmaps[j], wall[k].Heatmaps[j], 1e-3); d != "" {
					t.Errorf("%s, image %d: %s", r.Name, j, d)
				}
			}
			if slices.Equal(r.Heatmaps[0].Values, r.Heatmaps[1].Values) && r.Heatmaps[0].Lo == r.Heatmaps[1].Lo {
				t.Errorf("%s: both images have the same heatmap", r.Name)
			}
		}
	}
	if rows < 10 {
		t.Errorf("compared %d rows", rows)
	}
	mem, err := e.Memory(context.Background(), 2, 40, 36)
	if err != nil || mem.Inspect == 0 {
		t.Errorf("inspect buffers %d bytes (%v)", mem.Inspect, err)
	}
}
