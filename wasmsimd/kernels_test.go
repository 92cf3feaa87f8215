package wasmsimd

import (
	"context"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/cpu"
	"github.com/residual-webgpu/residual/model/golden"
	"github.com/residual-webgpu/residual/model/preprocess"
	"github.com/residual-webgpu/residual/model/weights"
)

// convRef is a direct convolution in float64: out[co][oh][ow] =
// scale[co]*Σ w[co][ci][kh][kw]*in[ci][ih][iw] + bias[co] (+res, ReLU).
func convRef(in []float32, ci, h, w int, wq []int8, scale, bias []float32, co, kh, kw, stride, pad int, res []float32, relu bool) ([]float32, int, int) {
	oh, ow := (h+2*pad-kh)/stride+1, (w+2*pad-kw)/stride+1
	out := make([]float32, co*oh*ow)
	for o := range co {
		for y := range oh {
			for x := range ow {
				var s float64
				for c := range ci {
					for i := range kh {
						for j := range kw {
							iy, ix := y*stride-pad+i, x*stride-pad+j
							if iy < 0 || iy >= h || ix < 0 || ix >= w {
								continue
							}
							s += float64(wq[((o*ci+c)*kh+i)*kw+j]) * float64(in[(c*h+iy)*w+ix])
						}
					}
				}
				v := s*float64(scale[o]) + float64(bias[o])
				if res != nil {
					v += float64(res[(o*oh+y)*ow+x])
				}
				if relu && v < 0 {
					v = 0
				}
				out[(o*oh+y)*ow+x] = float32(v)
			}
		}
	}
	return out, oh, ow
}

// TestConvMatchesReference runs convolutions of ResNet's kinds (7×7/2
// stem, 3×3, 1×1, strided 1×1 shortcut; with and without residual and
// ReLU; odd sizes so every tail path runs) through im2col + gemm_i8 in
// the module, against a float64 reference.
func TestConvMatchesReference(t *testing.T) {
	ctx := context.Background()
	k, err := Load(ctx, buildKernels(t))
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	rng := rand.New(rand.NewSource(1))
	for _, c := range []struct {
		name                              string
		ci, h, w, co, kh, kw, stride, pad int
		residual, relu                    bool
	}{
		{"stem", 3, 37, 41, 64, 7, 7, 2, 3, false, true},
		{"3x3", 16, 13, 11, 13, 3, 3, 1, 1, true, true},
		{"3x3/2", 8, 15, 15, 24, 3, 3, 2, 1, false, false},
		{"1x1", 32, 9, 7, 30, 1, 1, 1, 0, true, false},
		{"1x1/2", 12, 10, 10, 8, 1, 1, 2, 0, false, true},
	} {
		in := make([]float32, c.ci*c.h*c.w)
		for i := range in {
			in[i] = float32(rng.NormFloat64())
		}
		wq := make([]int8, c.co*c.ci*c.kh*c.kw)
		for i := range wq {
			wq[i] = int8(rng.Intn(255) - 127)
		}
		scale, bias := make([]float32, c.co), make([]float32, c.co)
		for i := range scale {
			scale[i], bias[i] = float32(0.001+0.01*rng.Float64()), float32(rng.NormFloat64())
		}
		oh, ow := (c.h+2*c.pad-c.kh)/c.stride+1, (c.w+2*c.pad-c.kw)/c.stride+1
		var res []float32
		if c.residual {
			res = make([]float32, c.co*oh*ow)
			for i := range res {
				res[i] = float32(rng.NormFloat64())
			}
		}
		want, _, _ := convRef(in, c.ci, c.h, c.w, wq, scale, bias, c.co, c.kh, c.kw, c.stride, c.pad, res, c.relu)

		kk, p := c.ci*c.kh*c.kw, oh*ow
		pw := PackI8(wq, c.co, kk)
		mIn, _ := k.Alloc(4 * len(in))
		mW, _ := k.Alloc(len(pw))
		mS, _ := k.Alloc(4 * c.co)
		mB, _ := k.Alloc(4 * c.co)
		mCol, _ := k.Alloc(4 * kk * p)
		mOut, _ := k.Alloc(4 * c.co * p)
		var mRes uint32
		k.WriteF32(mIn, in)
		k.WriteI8(mW, pw)
		k.WriteF32(mS, scale)
		k.WriteF32(mB, bias)
		if res != nil {
			mRes, _ = k.Alloc(4 * len(res))
			k.WriteF32(mRes, res)
		}
		if err := k.Im2col(ctx, mIn, c.ci, c.h, c.w, c.kh, c.kw, c.stride, c.pad, oh, ow, mCol); err != nil {
			t.Fatal(err)
		}
		scratch, _ := k.Alloc(32 * kk)
		if err := k.GemmI8(ctx, mW, mS, mB, mCol, kk, p, c.co, mOut, mRes, c.relu, scratch); err != nil {
			t.Fatal(err)
		}
		got := k.ReadF32(mOut, c.co*p)
		worst := 0.0
		for i := range got {
			d := math.Abs(float64(got[i]-want[i])) / (1 + math.Abs(float64(want[i])))
			worst = max(worst, d)
		}
		t.Logf("%s: [%d,%d,%d] → [%d,%d,%d]: max relative error %.2g", c.name, c.ci, c.h, c.w, c.co, oh, ow, worst)
		if worst > 1e-4 {
			t.Errorf("%s: max relative error %g", c.name, worst)
		}
	}
}

// TestEngineMatchesCPU runs whole generated int8 networks (basic blocks;
// grouped bottlenecks with the v1 strides; batch 2, odd size) through the
// engine and the CPU reference: logits within 1e-3 relative, the same
// top-5.
func TestEngineMatchesCPU(t *testing.T) {
	wasm := buildKernels(t)
	for _, a := range []model.Arch{
		{Name: "basic", Block: model.Basic, Layers: [4]int{1, 1, 1, 1}, Groups: 1, WidthPerGroup: 64, NumClasses: 10, Variant: model.V15, BaseChannels: 8},
		{Name: "bottleneck", Block: model.Bottleneck, Layers: [4]int{1, 2, 1, 1}, Groups: 4, WidthPerGroup: 16, NumClasses: 17, Variant: model.V1, BaseChannels: 16},
	} {
		m, err := golden.Model(a, 3, 1e-5, weights.Int8)
		if err != nil {
			t.Fatal(err)
		}
		x := model.NewTensor(2, 3, 45, 39)
		rng := rand.New(rand.NewSource(2))
		for i := range x.Data {
			x.Data[i] = float32(rng.NormFloat64())
		}
		got, want := againstCPU(t, wasm, m, x, Options{})
		worst := 0.0
		for i := range want.Logits {
			worst = max(worst, logitError(got.Logits[i], want.Logits[i]))
			if !sameTop(got.Top[i], want.Top[i]) {
				t.Errorf("%s image %d: top-5 %v, CPU %v", a.Name, i, got.Top[i], want.Top[i])
			}
		}
		t.Logf("%s: max |Δlogit| / max |logit| = %.2g", a.Name, worst)
		if worst > 1e-3 {
			t.Errorf("%s: logits differ from the CPU's by %g relative", a.Name, worst)
		}
		sameHeatmaps(t, a.Name, got, want)
	}
}

// TestRealResNet50 classifies the test photos with the real int8
// ResNet-50 (`make weights`) at 224 on this engine and the CPU
// reference: the same top-5 in the same order, logits within 1e-3 of the
// largest. Skipped when the model is missing, unless make test's
// RESIDUAL_REQUIRE_WEIGHTS is set.
func TestRealResNet50(t *testing.T) {
	m, x, files := realBatch(t)
	got, want := againstCPU(t, buildKernels(t), m, x, Options{})
	for i, f := range files {
		worst := logitError(got.Logits[i], want.Logits[i])
		t.Logf("%s: %s %.3f; max |Δlogit| %.2g of the largest", filepath.Base(f), got.Top[i][0].Label, got.Top[i][0].Prob, worst)
		if worst > 1e-3 {
			t.Errorf("%s: logits differ by %g of the largest", f, worst)
		}
		if !sameTop(got.Top[i], want.Top[i]) {
			t.Errorf("%s: top-5 %v, CPU %v", f, got.Top[i], want.Top[i])
		}
	}
}

// againstCPU runs x through this engine (with opt) and the CPU reference,
// top-5 each.
func againstCPU(t *testing.T, wasm []byte, m *weights.Model, x *model.Tensor, opt Options) (got, want *model.Result) {
	t.Helper()
	ctx := context.Background()
	e, err := New(ctx, wasm, m, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ref, err := cpu.New(m)
	if err != nil {
		t.Fatal(err)
	}
	ro := model.RunOptions{TopK: 5, Inspect: true}
	if got, err = e.Run(ctx, x, ro); err != nil {
		t.Fatal(err)
	}
	if want, err = ref.Run(ctx, x, ro); err != nil {
		t.Fatal(err)
	}
	return got, want
}

// sameHeatmaps checks that every stage row shows the CPU's heatmap (values
// in [0,1]) within 1e-3.
func sameHeatmaps(t *testing.T, name string, got, want *model.Result) {
	t.Helper()
	if len(got.Stages) != len(want.Stages) {
		t.Fatalf("%s: %d stage rows, CPU %d", name, len(got.Stages), len(want.Stages))
	}
	for i, w := range want.Stages {
		g := got.Stages[i]
		if g.Heatmap == nil || w.Heatmap == nil || g.Heatmap.W != w.Heatmap.W || g.Heatmap.H != w.Heatmap.H {
			t.Errorf("%s: stage %s: heatmap %+v, CPU %+v", name, w.Name, g.Heatmap, w.Heatmap)
			continue
		}
		for j, v := range w.Heatmap.Values {
			if d := math.Abs(float64(g.Heatmap.Values[j] - v)); d > 1e-3 {
				t.Errorf("%s: stage %s: heatmap value %d is %g, CPU %g", name, w.Name, j, g.Heatmap.Values[j], v)
				break
			}
		}
	}
}

// logitError is the largest |got-want| over the largest |want|.
func logitError(got, want []float32) float64 {
	scale, worst := 0.0, 0.0
	for _, v := range want {
		scale = max(scale, math.Abs(float64(v)))
	}
	for j, v := range want {
		worst = max(worst, math.Abs(float64(got[j]-v))/scale)
	}
	return worst
}

// sameTop says whether two top-k lists name the same classes in order.
func sameTop(got, want []model.Prediction) bool {
	for j := range want {
		if got[j].Index != want[j].Index {
			return false
		}
	}
	return true
}

// TestInt8ActivationsRealResNet50: with int8 activations the real
// ResNet-50 keeps the float32 engine's top-1 on every test photo; the
// top-5 overlap and the logits' cosine are logged.
func TestInt8ActivationsRealResNet50(t *testing.T) {
	m, x, files := realBatch(t)
	ctx := context.Background()
	wasm := buildKernels(t)
	f32, err := New(ctx, wasm, m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer f32.Close()
	q8, err := New(ctx, wasm, m, Options{Int8Activations: true})
	if err != nil {
		t.Fatal(err)
	}
	defer q8.Close()
	opt := model.RunOptions{TopK: 5}
	want, err := f32.Run(ctx, x, opt)
	if err != nil {
		t.Fatal(err)
	}
	got, err := q8.Run(ctx, x, opt)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range files {
		var dot, na, nb float64
		for j, v := range want.Logits[i] {
			g := float64(got.Logits[i][j])
			dot, na, nb = dot+float64(v)*g, na+float64(v)*float64(v), nb+g*g
		}
		overlap := 0
		for _, a := range got.Top[i] {
			for _, b := range want.Top[i] {
				if a.Index == b.Index {
					overlap++
				}
			}
		}
		t.Logf("%s: int8 %s %.3f, f32 %s %.3f; top-5 overlap %d/5, cosine %.5f", filepath.Base(f),
			got.Top[i][0].Label, got.Top[i][0].Prob, want.Top[i][0].Label, want.Top[i][0].Prob, overlap, dot/math.Sqrt(na*nb))
		if got.Top[i][0].Index != want.Top[i][0].Index {
			t.Errorf("%s: int8 activations give top-1 %s, float32 %s", f, got.Top[i][0].Label, want.Top[i][0].Label)
		}
	}
}

// realBatch loads the real int8 ResNet-50 and the test photos as one
// batch at 224. A missing model skips, unless make test's
// RESIDUAL_REQUIRE_WEIGHTS is set.
func realBatch(t *testing.T) (*weights.Model, *model.Tensor, []string) {
	t.Helper()
	const path = "../web/models/resnet50-v1-int8.safetensors"
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("RESIDUAL_REQUIRE_WEIGHTS") != "" {
			t.Fatalf("%v (run make weights)", err)
		}
		t.Skipf("%v (run make weights)", err)
	}
	m, err := weights.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("../testdata/photos/*")
	if len(files) < 4 {
		t.Fatalf("%d photos", len(files))
	}
	var xs []*model.Tensor
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		img, err := preprocess.Decode(filepath.Base(f), b)
		if err != nil {
			t.Fatal(err)
		}
		x, _, err := preprocess.Prepare(img, m.Meta.Preprocess, 0)
		if err != nil {
			t.Fatal(err)
		}
		xs = append(xs, x)
	}
	x, err := preprocess.Batch(xs...)
	if err != nil {
		t.Fatal(err)
	}
	return m, x, files
}
