package shaders

import (
	"context"
	"fmt"
	"math"
	"math/rand"
	"strings"
	"testing"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/cpu"
	"github.com/residual-webgpu/residual/model/weights"
)

// camTol is how far a GPU map may be from the CPU's, relative to the
// CPU map's largest |value|.
const camTol = 1e-3

// checkCAMs compares the GPU's maps with the CPU engine's, class by class
// (two nearly tied classes may swap ranks between engines, so a class in
// one top-k and not the other is passed over, but every image's top-1 map
// is compared), and returns the worst relative difference.
func checkCAMs(t *testing.T, name string, got, want *model.Result) float64 {
	t.Helper()
	if len(got.CAMs) != len(want.CAMs) || len(want.CAMs) != len(want.Top) {
		t.Fatalf("%s: %d images of maps, cpu %d (%d images)", name, len(got.CAMs), len(want.CAMs), len(want.Top))
	}
	worst := 0.0
	for i := range want.CAMs {
		if len(got.CAMs[i]) != len(got.Top[i]) {
			t.Fatalf("%s image %d: %d maps for %d classes", name, i, len(got.CAMs[i]), len(got.Top[i]))
		}
		for r, g := range got.CAMs[i] {
			if g.Class != got.Top[i][r].Index {
				t.Fatalf("%s image %d rank %d: map of class %d, top class %d", name, i, r, g.Class, got.Top[i][r].Index)
			}
			var w *model.CAM
			for j := range want.CAMs[i] {
				if want.CAMs[i][j].Class == g.Class {
					w = &want.CAMs[i][j]
				}
			}
			if w == nil {
				if r == 0 {
					t.Fatalf("%s image %d: top-1 class %d has no cpu map", name, i, g.Class)
				}
				continue
			}
			if g.W != w.W || g.H != w.H || len(g.Values) != len(w.Values) {
				t.Fatalf("%s image %d class %d: map %dx%d, cpu %dx%d", name, i, g.Class, g.W, g.H, w.W, w.H)
			}
			var big, diff float64
			for j, v := range w.Values {
				big = math.Max(big, math.Abs(float64(v)))
				if d := math.Abs(float64(g.Values[j]) - float64(v)); !(d <= diff) {
					diff = d
				}
			}
			if big == 0 {
				t.Fatalf("%s image %d class %d: the cpu map is all zero, comparing proves nothing", name, i, g.Class)
			}
			if !(diff <= camTol*big) {
				t.Errorf("%s image %d class %d: max |Δ| %g > %g × max |cpu| %g", name, i, g.Class, diff, camTol, big)
			}
			worst = math.Max(worst, diff/big)
		}
	}
	return worst
}

// f32Twin is m with every weight dequantized, as an f32 weight file holds
// them, so that the CAM kernel's float path runs.
func f32Twin(m *weights.Model) *weights.Model {
	out := &weights.Model{Meta: m.Meta, Net: m.Net, Tensors: map[string]*weights.Tensor{}}
	out.Meta.Scheme = weights.F32
	for n, w := range m.Tensors {
		out.Tensors[n] = &weights.Tensor{Name: w.Name, Shape: w.Shape, F32: w.Float()}
	}
	return out
}

// TestCAMMatchesCPU computes the maps on the GPU (cam.wgsl, from the
// arena's layer4 tensor and the fc's packed weights) and on the CPU for
// every tiny architecture (odd channel counts take the scalar path),
// int8 and f32 weights, batches of 1 and 3.
func TestCAMMatchesCPU(t *testing.T) {
	d := device(t)
	worst := 0.0
	for ai, a := range tinyArchs {
		q := randModel(t, a, int64(40+ai))
		for _, m := range []*weights.Model{q, f32Twin(q)} {
			ce, err := cpu.New(m)
			if err != nil {
				t.Fatal(err)
			}
			ge, err := NewEngine(d, m)
			if err != nil {
				t.Fatal(err)
			}
			for _, in := range [][3]int{{1, 64, 64}, {3, 37, 41}} {
				name := fmt.Sprintf("%s/%s/%dx%dx%d", a.Name, m.Meta.Scheme, in[0], in[1], in[2])
				x := randTensor(rand.New(rand.NewSource(int64(in[1]))), in[0], 3, in[1], in[2])
				opt := model.RunOptions{TopK: 3, CAM: true}
				want, err := ce.Run(context.Background(), x, opt)
				if err != nil {
					t.Fatalf("%s: cpu: %v", name, err)
				}
				got, err := ge.Run(context.Background(), x, opt)
				if err != nil {
					t.Fatalf("%s: gpu: %v", name, err)
				}
				worst = math.Max(worst, checkCAMs(t, name, got, want))
				plain, err := ge.Run(context.Background(), x, model.RunOptions{TopK: 3})
				if err != nil || plain.CAMs != nil {
					t.Fatalf("%s: a run without CAM gave %d maps (%v)", name, len(plain.CAMs), err)
				}
			}
			ge.Close()
		}
	}
	t.Logf("cam: gpu vs cpu, worst max |Δ| / max |cpu map| %.2g", worst)
}

// TestCAMKernelVariants: the kernel compiles for vec4 and scalar features
// (a ResNet's layer4 always has a multiple of 8 channels, so the networks
// above only take the vec4 path), int8 and f32, and refuses a geometry it
// cannot compute.
func TestCAMKernelVariants(t *testing.T) {
	d := device(t)
	for _, g := range []camGeom{{C: 2048, Stride: 2048, HW: 49, NP: 1000}, {C: 5, Stride: 5, HW: 4, NP: 8, F32: true}} {
		src, err := genCAM(g)
		if err != nil {
			t.Fatal(err)
		}
		vec := strings.Contains(src, "array<vec4<f32>>;\n@group(0) @binding(1)") || strings.Contains(src, "var<storage, read> x: array<vec4<f32>>")
		if vec != (g.Stride%4 == 0) {
			t.Errorf("%+v: vec4 features %v", g, vec)
		}
		if _, err := d.camKernel(g); err != nil {
			t.Errorf("%+v: %v", g, err)
		}
	}
	if _, err := genCAM(camGeom{C: 8, Stride: 4, HW: 1, NP: 8}); err == nil {
		t.Error("stride below the channels accepted")
	}
}
