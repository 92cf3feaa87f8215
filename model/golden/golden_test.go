package golden

import (
	"context"
	"strings"
	"testing"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/cpu"
	"github.com/residual-webgpu/residual/model/weights"
)

// TestCPUEngineMatchesTorchvision is the golden test of the CPU reference:
// for every fixture, the engine run on golden.Fill's weights (BN folded)
// and golden.Input's batch must give torchvision's logits to
// max|Δ| ≤ 1e-4·max|logit|, and report every stage with torchvision's
// shape. -short keeps the tiny nets only.
func TestCPUEngineMatchesTorchvision(t *testing.T) {
	for _, f := range fixtures(t) {
		id := fixtureID(f)
		if testing.Short() && !strings.HasPrefix(f.Name, "tiny") {
			t.Logf("%s: skipped in -short mode", id)
			continue
		}
		t.Run(id, func(t *testing.T) {
			net, folded := foldFixture(t, f)
			meta := weights.Metadata{Arch: f.Arch, Preprocess: weights.TorchvisionPreprocess, Scheme: weights.F32,
				Source: "golden fixture " + id}
			m, err := weights.New(meta, folded)
			if err != nil {
				t.Fatal(err)
			}
			eng, err := cpu.New(m)
			if err != nil {
				t.Fatal(err)
			}
			res, err := eng.Run(context.Background(), f.Input(), model.RunOptions{})
			if err != nil {
				t.Fatal(err)
			}
			ratio, err := compareLogits(res.Logits, f.Logits)
			if err != nil {
				t.Error(err)
			}
			t.Logf("max|Δlogit|/max|logit| = %.2g", ratio)

			want, err := net.Stages(f.InputShape[0], f.InputShape[2], f.InputShape[3])
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Stages) != len(f.Stages) || len(want) != len(f.Stages) {
				t.Fatalf("engine reports %d stages, Net.Stages %d, torchvision %d", len(res.Stages), len(want), len(f.Stages))
			}
			for i, s := range res.Stages {
				g := f.Stages[i]
				if err := compareStage(shapeOnly(s.Stage), g, false); err != nil {
					t.Error(err)
				}
				if s.Params != want[i].Params {
					t.Errorf("stage %s: %d params, Net.Stages %d", s.Name, s.Params, want[i].Params)
				}
				if len(s.Blocks) != len(g.Blocks) {
					t.Errorf("stage %s: %d blocks, torchvision %d", s.Name, len(s.Blocks), len(g.Blocks))
					continue
				}
				for j, b := range s.Blocks {
					if err := compareStage(shapeOnly(b.Stage), g.Blocks[j], false); err != nil {
						t.Error(err)
					}
				}
			}
			if len(res.Top) != f.InputShape[0] {
				t.Errorf("%d top-k lists for a batch of %d", len(res.Top), f.InputShape[0])
			}
			for n, top := range res.Top {
				if len(top) == 0 || top[0].Index != argmax(f.Logits[n]) {
					t.Errorf("image %d: top-1 %v, torchvision's argmax %d", n, top, argmax(f.Logits[n]))
				}
			}
		})
	}
}

func shapeOnly(s model.Stage) StageSum { return StageSum{Name: s.Name, Shape: s.Shape} }

func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}
