package wasmsimd

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/cpu"
	"github.com/residual-webgpu/residual/model/golden"
	"github.com/residual-webgpu/residual/model/weights"
)

// TestGoldenFixtures runs every architecture of the golden fixtures
// (testdata/golden: torchvision's ResNet-18…152, ResNeXt, Wide ResNet, v1
// and v1.5, and the tiny nets), with the fixture's weights quantized to
// int8, on this engine and on the CPU reference, which
// model/golden's test holds to torchvision itself: logits within 1e-3 of
// the largest, the same top-1, and every stage and block the shape
// torchvision reported. -short keeps the tiny nets only.
func TestGoldenFixtures(t *testing.T) {
	wasm := buildKernels(t)
	names, err := filepath.Glob(filepath.Join("..", "testdata", "golden", "*_*.json"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no golden fixtures (%v)", err)
	}
	ctx := context.Background()
	for _, name := range names {
		if strings.HasSuffix(name, "generator.json") {
			continue
		}
		f, err := golden.Load(name)
		if err != nil {
			t.Fatal(err)
		}
		if testing.Short() && !strings.HasPrefix(f.Name, "tiny") {
			continue
		}
		t.Run(filepath.Base(name), func(t *testing.T) {
			m, err := golden.Model(f.Arch, f.Seed, f.BNEps, weights.Int8)
			if err != nil {
				t.Fatal(err)
			}
			e, err := New(ctx, wasm, m, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			ref, err := cpu.New(m)
			if err != nil {
				t.Fatal(err)
			}
			x := f.Input()
			got, err := e.Run(ctx, x, model.RunOptions{TopK: 1})
			if err != nil {
				t.Fatal(err)
			}
			want, err := ref.Run(ctx, x, model.RunOptions{TopK: 1})
			if err != nil {
				t.Fatal(err)
			}
			worst := 0.0
			for i := range want.Logits {
				worst = max(worst, logitError(got.Logits[i], want.Logits[i]))
				if got.Top[i][0].Index != want.Top[i][0].Index {
					t.Errorf("image %d: top-1 %d, CPU %d", i, got.Top[i][0].Index, want.Top[i][0].Index)
				}
			}
			t.Logf("%s: max|Δlogit| %.2g of the largest", f.Name, worst)
			if worst > 1e-3 || math.IsNaN(worst) {
				t.Errorf("logits differ from the CPU's by %g of the largest", worst)
			}
			if len(got.Stages) != len(f.Stages) {
				t.Fatalf("%d stages, torchvision %d", len(got.Stages), len(f.Stages))
			}
			for i, s := range got.Stages {
				g := f.Stages[i]
				if s.Name != g.Name || !slices.Equal(s.Shape, g.Shape) || len(s.Blocks) != len(g.Blocks) {
					t.Errorf("stage %s %v (%d blocks), torchvision %s %v (%d)", s.Name, s.Shape, len(s.Blocks), g.Name, g.Shape, len(g.Blocks))
					continue
				}
				for j, b := range s.Blocks {
					if !slices.Equal(b.Shape, g.Blocks[j].Shape) {
						t.Errorf("block %s %v, torchvision %v", b.Name, b.Shape, g.Blocks[j].Shape)
					}
				}
			}
		})
	}
}
