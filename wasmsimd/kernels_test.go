package wasmsimd

import (
	"context"
	"fmt"
	"math"
	"math/rand"
	"path/filepath"
	"slices"
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

// workerCounts are the instance counts the tests run: one, two (both of
// this machine's cores), three (shares that do not halve evenly).
var workerCounts = []int{1, 2, 3}

// TestConvMatchesReference runs convolutions of ResNet's kinds (7×7/2
// stem, 3×3, 1×1, strided 1×1 shortcut; with and without residual and
// ReLU; odd sizes so every tail path runs) through im2col + gemm_i8 in
// the module, on one instance and split between several, against a
// float64 reference.
func TestConvMatchesReference(t *testing.T) {
	wasm := buildKernels(t)
	for _, n := range workerCounts {
		t.Run(fmt.Sprintf("workers=%d", n), func(t *testing.T) { testConv(t, wasm, n) })
	}
}

func testConv(t *testing.T, wasm []byte, workers int) {
	ctx := context.Background()
	k, err := load(ctx, wasm, workers, workerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	if want := wantWorkers(workers); k.Workers() != want {
		t.Fatalf("%d workers run, want %d", k.Workers(), want)
	}
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
		// Packing into a used buffer (the last layer's panels) gives
		// the same panels, padding rows zero.
		used := make([]int8, len(pw)+5)
		for i := range used {
			used[i] = -7
		}
		if again := PackI8Into(used, wq, c.co, kk); !slices.Equal(again, pw) || &again[0] != &used[0] {
			t.Errorf("%+v: PackI8Into a used buffer differs from PackI8 (or did not reuse it)", c)
		}
		q8, kp := PackQ8(wq, c.co, kk)
		if again, kp2 := PackQ8Into(used, wq, c.co, kk); !slices.Equal(again, q8) || kp2 != kp {
			t.Errorf("%+v: PackQ8Into a used buffer differs from PackQ8", c)
		}
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
		if err := k.Im2col(ctx, mIn, c.ci, c.h, c.w, c.kh, c.kw, c.stride, c.pad, 0, oh, ow, mCol); err != nil {
			t.Fatal(err)
		}
		scratch, _ := k.Alloc(k.ScratchBytes(kk))
		if err := k.GemmI8(ctx, mW, mS, mB, mCol, kk, p, c.co, mOut, mRes, p, c.relu, scratch); err != nil {
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
// engine, on one instance and split between several, and the CPU
// reference: logits within 1e-3 relative, the same top-5.
func TestEngineMatchesCPU(t *testing.T) {
	wasm := buildKernels(t)
	for _, a := range testArchs {
		m, x := generated(t, a)
		var opts []Options
		for _, n := range workerCounts {
			opts = append(opts, Options{Workers: n, WorkerURL: workerURL})
		}
		gots, want := againstCPU(t, wasm, m, x, opts...)
		for j, got := range gots {
			worst := 0.0
			for i := range want.Logits {
				worst = max(worst, logitError(got.Logits[i], want.Logits[i]))
				if !sameTop(got.Top[i], want.Top[i]) {
					t.Errorf("%s, %d workers, image %d: top-5 %v, CPU %v", a.Name, workerCounts[j], i, got.Top[i], want.Top[i])
				}
			}
			t.Logf("%s, %d workers: max |Δlogit| / max |logit| = %.2g", a.Name, workerCounts[j], worst)
			if worst > 1e-3 {
				t.Errorf("%s, %d workers: logits differ from the CPU's by %g relative", a.Name, workerCounts[j], worst)
			}
			sameHeatmaps(t, fmt.Sprintf("%s, %d workers", a.Name, workerCounts[j]), got, want)
		}
		// With int8 activations every output is an exact int32 sum, the
		// same however the calls are split: the logits must be equal.
		var q8 []*model.Result
		for _, n := range workerCounts {
			q8 = append(q8, runEngine(t, wasm, m, x, Options{Workers: n, Int8Activations: true, WorkerURL: workerURL}))
		}
		for j, got := range q8[1:] {
			for i := range got.Logits {
				if !slices.Equal(got.Logits[i], q8[0].Logits[i]) {
					t.Errorf("%s, int8 activations, image %d: %d workers' logits differ from one's", a.Name, i, workerCounts[j+1])
				}
			}
		}
	}
}

// testArchs are the generated networks the engine tests run.
var testArchs = []model.Arch{
	{Name: "basic", Block: model.Basic, Layers: [4]int{1, 1, 1, 1}, Groups: 1, WidthPerGroup: 64, NumClasses: 10, Variant: model.V15, BaseChannels: 8},
	{Name: "bottleneck", Block: model.Bottleneck, Layers: [4]int{1, 2, 1, 1}, Groups: 4, WidthPerGroup: 16, NumClasses: 17, Variant: model.V1, BaseChannels: 16},
}

// generated is a's int8 model with generated weights and a batch of 2
// random images of an odd size.
func generated(t *testing.T, a model.Arch) (*weights.Model, *model.Tensor) {
	t.Helper()
	m, err := golden.Model(a, 3, 1e-5, weights.Int8)
	if err != nil {
		t.Fatal(err)
	}
	x := model.NewTensor(2, 3, 45, 39)
	rng := rand.New(rand.NewSource(2))
	for i := range x.Data {
		x.Data[i] = float32(rng.NormFloat64())
	}
	return m, x
}

// TestRelaxedSIMD: the relaxed-SIMD build's int8 path gives exactly the
// plain build's logits (its dot products are exact), on one worker and
// two. Only where relaxed SIMD runs (TestBrowser's Chromium must have
// it; wazero has none).
func TestRelaxedSIMD(t *testing.T) {
	if !RelaxedSIMD() {
		if wantRelaxed {
			t.Fatal("this browser does not validate relaxed SIMD")
		}
		t.Skip("no relaxed SIMD here")
	}
	plain, relaxed := buildKernels(t), buildRelaxedKernels(t)
	for _, a := range testArchs {
		m, x := generated(t, a)
		for _, n := range []int{1, 2} {
			opt := Options{Workers: n, WorkerURL: workerURL, Int8Activations: true}
			want, got := runEngine(t, plain, m, x, opt), runEngine(t, relaxed, m, x, opt)
			for i := range want.Logits {
				if !slices.Equal(got.Logits[i], want.Logits[i]) {
					t.Errorf("%s, %d workers, image %d: relaxed SIMD's logits differ from the plain build's", a.Name, n, i)
				}
			}
		}
	}
}

// TestRealResNet50 classifies the test photos with the real int8
// ResNet-50 (`make weights`) at 224 on this engine and the CPU
// reference: the same top-5 in the same order, logits within 1e-3 of the
// largest. Skipped when the model is missing, unless make test's
// RESIDUAL_REQUIRE_WEIGHTS is set.
func TestRealResNet50(t *testing.T) {
	m, x, files := realBatch(t)
	gots, want := againstCPU(t, buildKernels(t), m, x, Options{Workers: 1, WorkerURL: workerURL}, Options{Workers: 2, WorkerURL: workerURL})
	for j, got := range gots {
		for i, f := range files {
			worst := logitError(got.Logits[i], want.Logits[i])
			t.Logf("%d workers: %s: %s %.3f; max |Δlogit| %.2g of the largest", j+1, filepath.Base(f), got.Top[i][0].Label, got.Top[i][0].Prob, worst)
			if worst > 1e-3 {
				t.Errorf("%d workers: %s: logits differ by %g of the largest", j+1, f, worst)
			}
			if !sameTop(got.Top[i], want.Top[i]) {
				t.Errorf("%d workers: %s: top-5 %v, CPU %v", j+1, f, got.Top[i], want.Top[i])
			}
		}
	}
}

// againstCPU runs x through this engine, once with each of opts, and
// through the CPU reference, top-5 each.
func againstCPU(t *testing.T, wasm []byte, m *weights.Model, x *model.Tensor, opts ...Options) (got []*model.Result, want *model.Result) {
	t.Helper()
	ctx := context.Background()
	ro := model.RunOptions{TopK: 5, Inspect: true}
	for _, opt := range opts {
		got = append(got, runEngine(t, wasm, m, x, opt))
	}
	ref, err := cpu.New(m)
	if err != nil {
		t.Fatal(err)
	}
	if want, err = ref.Run(ctx, x, ro); err != nil {
		t.Fatal(err)
	}
	return got, want
}

// runEngine runs x through this engine with opt, top-5. An engine that
// runs on fewer workers than asked fails t.
func runEngine(t *testing.T, wasm []byte, m *weights.Model, x *model.Tensor, opt Options) *model.Result {
	t.Helper()
	ctx := context.Background()
	e, err := New(ctx, wasm, m, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	t.Logf("mode: %s", e.Mode())
	if want := wantWorkers(opt.Workers); e.Workers() != want {
		t.Fatalf("%s, want %d workers", e.Mode(), want)
	}
	r, err := e.Run(ctx, x, model.RunOptions{TopK: 5, Inspect: true})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// sameHeatmaps checks that every stage row shows the CPU's heatmaps, one
// per image (values in [0,1]), within 1e-3: the channel mean, its raw
// range and the strongest channel.
func sameHeatmaps(t *testing.T, name string, got, want *model.Result) {
	t.Helper()
	if len(got.Stages) != len(want.Stages) {
		t.Fatalf("%s: %d stage rows, CPU %d", name, len(got.Stages), len(want.Stages))
	}
	for i, w := range want.Stages {
		g := got.Stages[i]
		if g.Heatmap == nil || w.Heatmap == nil || len(g.Heatmaps) != len(w.Heatmaps) || len(w.Heatmaps) != len(want.Logits) || g.Heatmap != g.Heatmaps[0] {
			t.Errorf("%s: stage %s: %d heatmaps, CPU %d, %d images", name, w.Name, len(g.Heatmaps), len(w.Heatmaps), len(want.Logits))
			continue
		}
		for j := range w.Heatmaps {
			if d := model.HeatmapDiff(g.Heatmaps[j], w.Heatmaps[j], 1e-3); d != "" {
				t.Errorf("%s: stage %s, image %d: %s", name, w.Name, j, d)
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
	wasm := buildKernels(t)
	int8VsF32(t, wasm, wasm)
}

// TestRelaxedInt8RealResNet50 is TestInt8ActivationsRealResNet50 with the
// relaxed-SIMD build: only in a browser that has relaxed SIMD
// (TestBrowser's Chromium must); wazero has none.
func TestRelaxedInt8RealResNet50(t *testing.T) {
	if !RelaxedSIMD() {
		if wantRelaxed {
			t.Fatal("this browser does not validate relaxed SIMD")
		}
		t.Skip("no relaxed SIMD here")
	}
	int8VsF32(t, buildKernels(t), buildRelaxedKernels(t))
}

// int8VsF32 runs the real ResNet-50 on the test photos with float32
// activations (module f32) and int8 ones (module q8, on two workers):
// the same top-1 on every photo.
func int8VsF32(t *testing.T, f32wasm, q8wasm []byte) {
	m, x, files := realBatch(t)
	want := runEngine(t, f32wasm, m, x, Options{Workers: 1, WorkerURL: workerURL})
	got := runEngine(t, q8wasm, m, x, Options{Workers: 2, WorkerURL: workerURL, Int8Activations: true})
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
	m, files, data := realModelAndPhotos(t)
	if len(files) < 4 {
		t.Fatalf("%d photos", len(files))
	}
	var xs []*model.Tensor
	for i, f := range files {
		img, err := preprocess.Decode(filepath.Base(f), data[i])
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

// TestAllocReuse holds the module's allocator to reusing released
// blocks: the same size first, else a larger one of up to twice the size
// (so that a run at a new input size reuses the last size's activations
// instead of growing the memory), whose true size Free files it under;
// the last block, released, grows in place.
func TestAllocReuse(t *testing.T) {
	ctx := context.Background()
	k, err := load(ctx, buildKernels(t), 1, workerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	alloc := func(n int) uint32 {
		t.Helper()
		p, err := k.Alloc(n)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := alloc(2000)
	alloc(16) // not the last block: that one grows in place (below)
	k.Free(a, 2000)
	if b := alloc(1500); b != a {
		t.Errorf("a 1500-byte block at %d, want the released 2000-byte one at %d", b, a)
	}
	k.Free(a, 1500) // filed under its true size, 2000
	if b := alloc(2000); b != a {
		t.Errorf("a 2000-byte block at %d, want the released one at %d", b, a)
	}
	k.Free(a, 2000)
	if b := alloc(900); b == a {
		t.Error("a 900-byte request took a block more than twice its size")
	}
	end := k.next
	for range 3 { // a steady state: alloc and free the same sizes, no growth
		p, q := alloc(2000), alloc(1200)
		k.Free(p, 2000)
		k.Free(q, 1200)
	}
	if k.next-end > 2000+1200+32 {
		t.Errorf("the heap grew by %d bytes over three identical rounds", k.next-end)
	}
	// The last block, released, is regrown in place for a larger
	// request (a run's activations at a larger input size), not left
	// behind a new one.
	last := alloc(3000)
	k.Free(last, 3000)
	if b := alloc(50000); b != last || k.next != last+50000 {
		t.Errorf("a 50000-byte block at %d (memory used to %d) after releasing the last block at %d: want it grown in place", b, k.next, last)
	}
}
