package shaders

import (
	"context"
	"fmt"
	"math"
	"math/rand"
	"path/filepath"
	"strings"
	"testing"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/cpu"
	"github.com/residual-webgpu/residual/model/golden"
	"github.com/residual-webgpu/residual/model/weights"
)

// randF32ConvWeights makes float32 weights (as an f32 weight file holds
// them, with one all-zero output channel) and a bias.
func randF32ConvWeights(r *rand.Rand, c model.Conv) (w, b *weights.Tensor) {
	shape := c.WeightShape()
	w = &weights.Tensor{Name: c.Name + ".weight", Shape: shape}
	w.F32 = make([]float32, w.Len())
	std := math.Sqrt(2 / float64(c.Cin/c.Groups*c.Kernel*c.Kernel))
	for i := range w.F32 {
		w.F32[i] = float32(r.NormFloat64() * std)
	}
	per := w.Len() / c.Cout
	clear(w.F32[(c.Cout-1)*per:]) // a channel of zeros is still just zeros
	b = &weights.Tensor{Name: c.Name + ".bias", Shape: []int{c.Cout}, F32: make([]float32, c.Cout)}
	for i := range b.F32 {
		b.F32[i] = r.Float32() - 0.5
	}
	return w, b
}

// TestConvF32MatchesReference runs every conv case (groups, strides, 1×1,
// 3×3 and 7×7 kernels, residual, ReLU, scalar and vec4 channels) on f32
// weights, with the chosen tile and every test tile, against cpu.Conv2D
// on the same weights: the f32 path must not quantize (int8 would miss
// 1e-5 by orders of magnitude).
func TestConvF32MatchesReference(t *testing.T) {
	d := device(t)
	r := rand.New(rand.NewSource(11))
	for _, tc := range convCases {
		name := "f32 " + convName(tc.c, tc.b, tc.h, tc.w)
		x := randTensor(r, tc.b, tc.c.Cin, tc.h, tc.w)
		w, b := randF32ConvWeights(r, tc.c)
		var res *model.Tensor
		if tc.res {
			res = randTensor(r, tc.b, tc.c.Cout, tc.c.OutSize(tc.h), tc.c.OutSize(tc.w))
		}
		want, err := cpu.Conv2D(x, w, b, tc.c, res, tc.relu)
		if err != nil {
			t.Fatalf("%s: cpu reference: %v", name, err)
		}
		got, err := d.Conv2D(context.Background(), x, w, b, tc.c, res, tc.relu)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		compare(t, name, got, want, 1e-5)
		for _, tl := range testTiles(d, testGeom(tc.c, tc.b, tc.h, tc.w)) {
			got, err := d.conv2D(context.Background(), x, w, b, tc.c, res, tc.relu, &tl)
			if err != nil {
				t.Fatalf("%s tile %+v: %v", name, tl, err)
			}
			compare(t, fmt.Sprintf("%s tile %+v", name, tl), got, want, 1e-5)
		}
	}
}

// TestLinearF32MatchesReference runs the fc kernel on f32 weights (vec4
// and scalar features, batches that do and do not fill the row tile).
func TestLinearF32MatchesReference(t *testing.T) {
	d := device(t)
	r := rand.New(rand.NewSource(12))
	for _, s := range [][3]int{{1, 2048, 1000}, {3, 37, 10}, {6, 64, 5}, {5, 8, 3}} {
		x := randTensor(r, s[0], s[1])
		w, b := randF32ConvWeights(r, model.Conv{Name: "fc", Cin: s[1], Cout: s[2], Kernel: 1, Groups: 1})
		w.Shape = []int{s[2], s[1]}
		got, err := d.Linear(context.Background(), x, w, b)
		if err != nil {
			t.Fatalf("%v: %v", s, err)
		}
		want, err := cpu.Linear(x, w, b)
		if err != nil {
			t.Fatalf("%v: cpu reference: %v", s, err)
		}
		compare(t, fmt.Sprint("linear f32 ", s), got, want, 1e-5)
	}
}

// TestPackChecksWeightStorage: the weights run as the file holds them, so
// packing fails when a tensor's storage does not match the kernel's F32,
// or when an int8 tensor is malformed; and f32 weights are laid out
// unchanged (no rounding), with scale 1.
func TestPackChecksWeightStorage(t *testing.T) {
	r := rand.New(rand.NewSource(13))
	c := model.Conv{Name: "c", Cin: 6, Cout: 8, Kernel: 3, Stride: 1, Pad: 1, Groups: 2}
	g := testGeom(c, 1, 5, 5)
	tile := convTile{WG: 8, TM: 2, TN: 4}
	i8, b := randConvWeights(r, c)
	f32, _ := randF32ConvWeights(r, c)
	fc := fcGeom{B: 2, In: 6 * 9 / 2, Out: 8}
	reshape := func(w *weights.Tensor) *weights.Tensor {
		v := *w
		v.Shape = []int{fc.Out, fc.In}
		return &v
	}
	bad := *i8
	bad.Scale = bad.Scale[:3]
	for _, tc := range []struct {
		f32  bool
		w    *weights.Tensor
		want string
	}{
		{true, i8, "holds int8 values"},
		{false, f32, "holds float32 values"},
		{false, &bad, "3 scales"},
	} {
		g.F32, fc.F32 = tc.f32, tc.f32
		if _, err := packConv(g, tile, tc.w, b); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("packConv f32=%v: got %v, want an error with %q", tc.f32, err, tc.want)
		}
		if _, _, err := packFC(fc, reshape(tc.w), b); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("packFC f32=%v: got %v, want an error with %q", tc.f32, err, tc.want)
		}
	}
	g.F32, fc.F32 = true, true
	cw, err := packConv(g, tile, f32, b)
	if err != nil {
		t.Fatal(err)
	}
	// Output channel 5 is group 1's channel 1; its input channel 2 at tap
	// (1, 2) is vec4 entry c4 0, component 2.
	e := (1*g.k4()+(1*3+2)*g.CG4)*g.ngp(tile) + 1
	if got, want := math.Float32frombits(cw.words[4*e+2]), f32.F32[5*g.CG*9+(2*3+1)*3+2]; got != want {
		t.Errorf("packed weight %v, want %v", got, want)
	}
	for i, s := range cw.scale {
		if s != 1 && i%g.ngp(tile) < g.NG {
			t.Fatalf("f32 scale %d is %v, want 1", i, s)
		}
	}
	words, ep, err := packFC(fc, reshape(f32), b)
	if err != nil {
		t.Fatal(err)
	}
	// Output 7, feature 13: entry [13/4][7], component 13%4.
	if got, want := math.Float32frombits(words[4*(3*fc.np()+7)+1]), f32.F32[7*fc.In+13]; got != want || ep[7] != 1 || ep[fc.np()+7] != b.F32[7] {
		t.Errorf("fc packed weight %v (want %v), scale %v, bias %v", got, want, ep[7], ep[fc.np()+7])
	}
	if k := convKind(g, tile); !strings.Contains(k, "f32") {
		t.Errorf("f32 conv kind %q does not say f32", k)
	}
}

// TestF32NetworkMatchesTorchvision runs f32 weight files through the
// engine as f32 (no quantization on the way): the golden fixtures'
// networks, BatchNorm folded, must give torchvision's own logits (written
// by the real torchvision, tools/golden/gen.py) within 1e-4 of the
// largest, as the CPU reference does, and the tiny networks the CPU
// reference's.
func TestF32NetworkMatchesTorchvision(t *testing.T) {
	d := device(t)
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
		e, err := NewEngine(d, m)
		if err != nil {
			t.Fatal(err)
		}
		res, err := e.Run(context.Background(), f.Input(), model.RunOptions{})
		e.Close()
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
	d := device(t)
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
		e, err := NewEngine(d, m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.Run(context.Background(), x, model.RunOptions{})
		e.Close()
		if err != nil {
			t.Fatal(err)
		}
		checkLogits(t, string(m.Meta.Scheme)+" gpu vs cpu", got, want, 1e-5)
		gpu = append(gpu, got)
	}
	checkLogits(t, "int8 file vs its f32 copy on the gpu", gpu[0], gpu[1], 1e-5)
}
