package shaders

import (
	"context"
	"fmt"
	"math"
	"math/rand"
	"path/filepath"
	"testing"
	"time"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/cpu"
	"github.com/residual-webgpu/residual/model/golden"
	"github.com/residual-webgpu/residual/model/weights"
)

// networkCase is a full torchvision-size network with the golden
// generator's deterministic weights (BatchNorm folded, int8).
type networkCase struct {
	name string
	arch model.Arch
	eps  float64
}

// goldenNetworks are the networks the engine must reproduce end to end:
// ResNet-18 (basic blocks), ResNet-50 in both stride placements (v1 with
// conv biases and epsilon 1e-3 is the real Caffe model's layout) and
// ResNeXt-50 32×4d (grouped 3×3 convs of 4 channels per group).
func goldenNetworks(t testing.TB) []networkCase {
	t.Helper()
	byName := func(n string) model.Arch {
		a, err := model.ByName(n)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	v1 := byName("resnet50")
	v1.Variant, v1.ConvBias = model.V1, true
	return []networkCase{
		{"resnet18", byName("resnet18"), 1e-5},
		{"resnet50", byName("resnet50"), 1e-5},
		{"resnet50-v1", v1, 1e-3},
		{"resnext50_32x4d", byName("resnext50_32x4d"), 1e-5},
	}
}

// TestNetworksMatchCPU runs every golden network at 64×64, batch 2, on the
// GPU and on the CPU reference: the logits must agree within 1e-3 of the
// largest logit and each image's top-5 must be the same classes in the same
// order. It logs the plan build (pipelines, weight upload, first run) and
// the warm run separately.
func TestNetworksMatchCPU(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds four full-size networks")
	}
	d := device(t)
	for _, nc := range goldenNetworks(t) {
		t.Run(nc.name, func(t *testing.T) {
			m, err := golden.Model(nc.arch, 1, nc.eps, weights.Int8)
			if err != nil {
				t.Fatal(err)
			}
			got, want, _ := runBoth(t, d, m, golden.Input([]int{2, 3, 64, 64}, 1), nc.name)
			checkLogits(t, nc.name, got, want, 1e-3)
		})
	}
}

// runBoth classifies x with the CPU reference and with a new engine for m
// on d (prepared first, its memory checked, closed when the test ends),
// logging the times.
func runBoth(t *testing.T, d *Device, m *weights.Model, x *model.Tensor, name string) (got, want *model.Result, e *Engine) {
	t.Helper()
	ce, err := cpu.New(m)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	if want, err = ce.Run(context.Background(), x, model.RunOptions{TopK: 5}); err != nil {
		t.Fatal(err)
	}
	cpuTime := time.Since(t0)
	if e, err = NewEngine(d, m); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	b, h, w := x.Shape[0], x.Shape[2], x.Shape[3]
	t0 = time.Now()
	if err := e.Prepare(context.Background(), b, h, w); err != nil {
		t.Fatal(err)
	}
	build := time.Since(t0)
	checkMemory(t, e, b, h, w)
	t0 = time.Now()
	if got, err = e.Run(context.Background(), x, model.RunOptions{TopK: 5}); err != nil {
		t.Fatal(err)
	}
	run := time.Since(t0)
	t.Logf("%s, %d images: cpu %v, gpu plan build %v, warm run %v (%v an image)", name, b, cpuTime.Round(time.Millisecond),
		build.Round(time.Millisecond), run.Round(time.Millisecond), (run / time.Duration(b)).Round(time.Millisecond))
	return got, want, e
}

// checkLogits compares two results' logits (max |Δ| ≤ tol × max |want|
// over the batch) and demands the same top-5 per image.
func checkLogits(t *testing.T, name string, got, want *model.Result, tol float64) {
	t.Helper()
	if len(got.Logits) != len(want.Logits) || len(got.Top) != len(want.Top) {
		t.Fatalf("%s: %d logit rows and %d top rows, want %d and %d", name, len(got.Logits), len(got.Top), len(want.Logits), len(want.Top))
	}
	var scale, worst float64
	for i, w := range want.Logits {
		if len(got.Logits[i]) != len(w) {
			t.Fatalf("%s image %d: %d logits, want %d", name, i, len(got.Logits[i]), len(w))
		}
		for j, v := range w {
			scale = math.Max(scale, math.Abs(float64(v)))
			d := math.Abs(float64(got.Logits[i][j]) - float64(v))
			if !(d <= worst) { // NaN counts as the worst
				worst = d
			}
		}
	}
	if scale == 0 {
		t.Fatalf("%s: reference logits are all zero, the comparison proves nothing", name)
	}
	if !(worst <= tol*scale) {
		t.Errorf("%s: max |Δlogit| %g > %g × max |logit| %g", name, worst, tol, scale)
	}
	t.Logf("%s: max |Δlogit| %.3g, max |logit| %.3g (relative %.2g)", name, worst, scale, worst/scale)
	for i := range want.Top {
		if fmt.Sprint(indices(got.Top[i])) != fmt.Sprint(indices(want.Top[i])) {
			t.Errorf("%s image %d: top-5 %v, cpu %v", name, i, labels(got.Top[i]), labels(want.Top[i]))
		}
	}
}

func indices(p []model.Prediction) []int {
	var out []int
	for _, x := range p {
		out = append(out, x.Index)
	}
	return out
}

func labels(p []model.Prediction) []string {
	var out []string
	for _, x := range p {
		out = append(out, fmt.Sprintf("%s (%.3f)", x.Label, x.Prob))
	}
	return out
}

// checkMemory logs a plan's GPU memory and checks the bound the plan is
// built for: the arena and scratch buffers hold at most three of the
// largest tensor's worth, beside the weights.
func checkMemory(t *testing.T, e *Engine, b, h, w int) Memory {
	t.Helper()
	mem, err := e.Memory(context.Background(), b, h, w)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("GPU memory for [%d,3,%d,%d]: %v", b, h, w, mem)
	if mem.Weights == 0 || mem.Activations == 0 || mem.LargestActivation == 0 {
		t.Fatalf("memory not measured: %+v", mem)
	}
	if limit := mem.Weights + 3*mem.LargestActivation; mem.Total() > limit {
		t.Errorf("plan holds %d bytes, over weights + 3 × largest activation = %d (activations %.2f× the largest)",
			mem.Total(), limit, float64(mem.Activations)/float64(mem.LargestActivation))
	}
	return mem
}

// TestF32NetworkMatchesTorchvision runs f32 weight files through the
// engine as f32 (no quantization on the way): the golden fixtures'
// networks, BatchNorm folded, must give torchvision's own logits (written
// by the real torchvision, tools/golden/gen.py) within 1e-4 of the
// largest, as the CPU reference does, and the tiny networks the CPU
// reference's.
func TestF32NetworkMatchesTorchvision(t *testing.T) {
	names := []string{"tiny_basic_32.json", "tiny_bottleneck_v1_32.json", "resnet18_64.json"}
	if testing.Short() {
		names = names[:2]
	}
	for _, name := range names {
		f, err := golden.Load(filepath.Join("..", "testdata", "golden", name))
		if err != nil {
			t.Fatal(err)
		}
		m, err := golden.Model(f.Arch, f.Seed, f.BNEps, weights.F32)
		if err != nil {
			t.Fatal(err)
		}
		res, err := newEngine(t, m).Run(context.Background(), f.Input(), model.RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var worst, largest float64
		for i, row := range f.Logits {
			for j, v := range row {
				worst = math.Max(worst, math.Abs(float64(res.Logits[i][j]-v)))
				largest = math.Max(largest, math.Abs(float64(v)))
			}
		}
		t.Logf("%s: max|Δlogit| %.3g of %.3g", name, worst, largest)
		if worst > 1e-4*largest {
			t.Errorf("%s: f32 on the GPU differs from torchvision by %g (largest logit %g)", name, worst, largest)
		}
	}
}

// TestF32AndInt8FilesAgree: the GPU runs an int8 file as the CPU does
// (one quantizer, weights.Quantize), and its f32 source as the CPU runs
// that, so a file converted both ways gives the same answers on both
// engines.
func TestF32AndInt8FilesAgree(t *testing.T) {
	a := tinyArchs[2]
	i8 := randModel(t, a, 51)
	f32, err := weights.Quantize(i8, weights.F32) // the int8 values, as floats
	if err != nil {
		t.Fatal(err)
	}
	x := randTensor(rand.New(rand.NewSource(52)), 2, 3, 40, 40)
	var gpu []*model.Result
	for _, m := range []*weights.Model{i8, f32} {
		ce, err := cpu.New(m)
		if err != nil {
			t.Fatal(err)
		}
		want, err := ce.Run(context.Background(), x, model.RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := newEngine(t, m).Run(context.Background(), x, model.RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		checkLogits(t, string(m.Meta.Scheme)+" gpu vs cpu", got, want, 1e-5)
		gpu = append(gpu, got)
	}
	checkLogits(t, "int8 file vs its f32 copy on the gpu", gpu[0], gpu[1], 1e-5)
}
