package shaders

import (
	"math"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/residual-webgpu/residual/model"
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
func TestConvF32MatchesReference(t *testing.T) { checkConvCases(t, 11, "f32 ", randF32ConvWeights) }

// TestLinearF32MatchesReference runs the fc kernel on f32 weights.
func TestLinearF32MatchesReference(t *testing.T) {
	checkLinear(t, 12, "linear f32 ", randF32ConvWeights)
}

// TestPackChecksWeightStorage: the weights run as the file holds them, so
// packing fails when a tensor's storage does not match the kernel's F32,
// or when an int8 tensor is malformed; and f32 weights are laid out
// unchanged (no rounding), with scale 1; packing with a used scratch is
// packing afresh.
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
		if _, err := packConv(g, tile, tc.w, b, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("packConv f32=%v: got %v, want an error with %q", tc.f32, err, tc.want)
		}
		if _, _, err := packFC(fc, reshape(tc.w), b, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("packFC f32=%v: got %v, want an error with %q", tc.f32, err, tc.want)
		}
	}
	g.F32, fc.F32 = true, true
	cw, err := packConv(g, tile, f32, b, nil)
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
	words, ep, err := packFC(fc, reshape(f32), b, nil)
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
	// A used packScratch (the last layer's bytes and words still in
	// it) packs as packing afresh does, int8 and f32.
	for _, w := range []*weights.Tensor{i8, f32} {
		g.F32, fc.F32 = !w.Quantized(), !w.Quantized()
		s := &packScratch{raw: make([]int8, 1000), words: make([]uint32, 1000)}
		for i := range s.words {
			s.words[i], s.raw[i] = 0xdeadbeef, -5
		}
		want, err := packConv(g, tile, w, b, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := packConv(g, tile, w, b, s)
		if err != nil || !slices.Equal(got.words, want.words) || &got.words[0] != &s.words[0] {
			t.Errorf("f32=%v: packConv with a used scratch differs from packing afresh (or did not reuse it): %v", g.F32, err)
		}
		fw := reshape(w)
		wantFC, _, err := packFC(fc, fw, b, nil)
		if err != nil {
			t.Fatal(err)
		}
		if gotFC, _, err := packFC(fc, fw, b, s); err != nil || !slices.Equal(gotFC, wantFC) {
			t.Errorf("f32=%v: packFC with a used scratch differs from packing afresh: %v", g.F32, err)
		}
	}
}
