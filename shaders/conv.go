package shaders

import (
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/weights"
)

// convGeom is one convolution applied to a given input size, in the terms
// the kernel uses.
type convGeom struct {
	B, H, W     int // input batch and size
	Cin, Cout   int
	K           int // square kernel side
	Stride, Pad int
	Groups      int
	HO, WO      int // output size
	CG, NG, CG4 int // input channels, output channels per group; ceil(CG/4)
	XS          int // floats per input pixel: Cin, or more when the input is stored padded
	Residual    bool
	ReLU        bool
	// F32 runs the conv on float32 weights (an f32 weight file) instead
	// of int8 ones: the weight tensor must hold what the flag says.
	F32 bool
}

func newConvGeom(c model.Conv, b, h, w int, residual, relu bool) (convGeom, error) {
	if c.Groups < 1 || c.Cin%c.Groups != 0 || c.Cout%c.Groups != 0 || c.Kernel < 1 || c.Stride < 1 || c.Pad < 0 {
		return convGeom{}, fmt.Errorf("conv %s: bad layout cin %d cout %d groups %d kernel %d stride %d pad %d",
			c.Name, c.Cin, c.Cout, c.Groups, c.Kernel, c.Stride, c.Pad)
	}
	g := convGeom{B: b, H: h, W: w, Cin: c.Cin, Cout: c.Cout, K: c.Kernel, Stride: c.Stride, Pad: c.Pad, Groups: c.Groups,
		HO: c.OutSize(h), WO: c.OutSize(w), CG: c.Cin / c.Groups, NG: c.Cout / c.Groups, XS: c.Cin, Residual: residual, ReLU: relu}
	g.CG4 = (g.CG + 3) / 4
	if b < 1 || g.HO < 1 || g.WO < 1 {
		return convGeom{}, fmt.Errorf("conv %s: input [%d,%d,%d,%d] gives no output", c.Name, b, c.Cin, h, w)
	}
	return g, nil
}

// M is the GEMM's row count: output pixels over the batch.
func (g convGeom) M() int { return g.B * g.HO * g.WO }

// FLOPs counts multiply and add separately, as GFLOP/s figures do.
func (g convGeom) FLOPs() float64 {
	return 2 * float64(g.M()) * float64(g.Cout) * float64(g.CG*g.K*g.K)
}

// vecIn says the input can be read as vec4: every group's channels start
// on a multiple of four and fill whole vec4s, or a single group's pixels
// are stored padded to whole vec4s (the network input: 3 channels and a
// zero, which the zero weights beyond CG ignore).
func (g convGeom) vecIn() bool {
	return g.CG%4 == 0 && g.XS%4 == 0 || g.Groups == 1 && g.XS%4 == 0 && g.XS >= 4*g.CG4
}

// dense says the conv has no padding and a 1×1 kernel (the plain GEMM of
// ResNet's 1×1 convs), so no tap needs a bounds check.
func (g convGeom) dense() bool { return g.K == 1 && g.Pad == 0 }

// vecOut says outputs (and the residual) can be written as vec4.
func (g convGeom) vecOut() bool { return g.NG%4 == 0 }

// convTile is a kernel's work split: WG invocations per workgroup, each
// with a TM-pixel × TN-channel register tile. Window makes 1×1 convs
// without padding use the windowed kernel too, where one pipeline fewer
// to compile is worth more than the bounds checks it skips.
type convTile struct {
	WG, TM, TN int
	Window     bool
	// LanesN spreads a workgroup's invocations over channel tiles of
	// the same TM pixels, not over pixels: small layers then waste at
	// most TM-1 pixels, not WG*TM-1.
	LanesN bool
	// Shuffle (with LanesN, a workgroup being one subgroup of WG
	// invocations, TM a multiple of WG): each invocation loads TM/WG of
	// the shared pixels and gets the others from its neighbours with
	// subgroupShuffle, so no pixel is loaded twice.
	Shuffle bool
}

// dense says conv g runs the dense kernel (no bounds checks) with tile t.
func (t convTile) dense(g convGeom) bool { return g.dense() && !t.Window }

// tileOverride, when its TM is set, replaces chooseTile's choice (TN
// capped by the group width): tests and benchmarks use it to measure.
var tileOverride convTile

// tile picks conv g's tile on d: chooseTile's for d's class, shuffled
// where d's subgroups are exactly a workgroup (SwiftShader's 4 lanes in
// Chrome): measured in Chromium (TestTileSweep, three alternations),
// ResNet-50 ran 1.28–1.44 s shuffled against 1.46–1.56 s, and its conv
// pipeline compiled in 2.0 s against 2.8 s (a quarter of the loads and
// bounds checks to compile).
func (d *Device) tile(g convGeom) convTile {
	t := chooseTile(g, d.class)
	if tileOverride.TM > 0 {
		return t // as the measurement asked
	}
	t.Shuffle = d.sub4 && t.WG == 4
	if !t.canShuffle(g) {
		t.Shuffle = false
	}
	return t
}

// canShuffle says whether invocations can share pixels with t on conv g:
// LanesN, TM a multiple of WG, and a workgroup's channel tiles all in one
// group (they read the same input channels).
func (t convTile) canShuffle(g convGeom) bool {
	return t.LanesN && t.TM%t.WG == 0 && (g.Groups == 1 || (g.ngp(t)/t.TN)%t.WG == 0)
}

// chooseTile picks the register tile for a conv on an adapter class.
func chooseTile(g convGeom, c adapterClass) convTile {
	narrow := func(tn int) int { // TN for the group's width
		switch {
		case g.NG <= 4:
			return 4
		case g.NG <= 8:
			return min(tn, 8)
		case g.NG <= 16:
			return min(tn, 16)
		}
		return tn
	}
	if tileOverride.TM > 0 {
		t := tileOverride
		t.TN = narrow(t.TN)
		t.Window = t.Window || c == classSwiftShader
		return t
	}
	switch c {
	case classSwiftShader:
		return swiftShaderTile(g, narrow)
	case classGPU:
		return gpuTile(g, narrow)
	}
	return lavapipeTile(g, narrow)
}

// lavapipeTile: measured on lavapipe over every ResNet-50 conv
// (TestConvTiles): storage loads cost far more than arithmetic there
// (each is a per-lane loop), so a 4-pixel × 16-channel tile, sharing each
// loaded vec4 across 16 or 4 FMAs, beats smaller tiles, while larger ones
// spill; small workgroups of 16 lanes spread the work evenly over the CPU
// threads.
func lavapipeTile(g convGeom, narrow func(int) int) convTile {
	t := convTile{WG: 16, TM: 4, TN: narrow(16)}
	// Small images (layer3, layer4) leave most lanes of a 64-wide
	// workgroup idle: shrink it to the pixels there are, in whole SIMD
	// chunks of 8 lanes (lavapipe's AVX2 width).
	lanes := (g.M() + t.TM - 1) / t.TM
	t.WG = min(t.WG, max(8, (lanes+7)/8*8))
	return t
}

// swiftShaderTile: measured in Chromium (TestConvTiles with
// RESIDUAL_TILES): SwiftShader runs 4 invocations per SIMD step and turns
// every storage load with a runtime index into 4 scalar loads with bounds
// checks, so loads decide; 16-pixel tiles of 16 or 32 channels (1024 or
// 2048 MACs for 80 or 96 loads per step of 4 input channels) in a
// workgroup of one SIMD step ran 4.6–6 GFLOP/s on every ResNet-50 conv
// shape, against 2.3–3.5 for lavapipe's tile. Much larger tiles make
// Chromium's shader compile take minutes (TM 64 lost the device).
//
// Compile time grows faster than the tile (one 1×1 conv pipeline: 2.3 s
// at 16 × 16, 0.9 s at 16 × 8, 0.36 s at 8 × 8; TestTileSweep), while
// ResNet-50 ran 1.7–1.9 s at 16 × 16, 2.2–2.6 s at 16 × 8 and 2.7–3.1 s
// at 8 × 8 (1.55 s at 16 × 32, for 21 s of compiling). So 16 × 16 it is,
// with one pipeline for every conv: the 1×1 convs take the windowed
// kernel (no slower there: 1.67 s against 1.69 s an image), and the stem
// reads its input padded to four channels, so a ResNet at 224 compiles
// one conv pipeline, not three (2.3 s, not 7). Pixels past M are computed
// as copies of the last one; the lanes of a workgroup take different
// channel tiles of the same pixels (LanesN), so a layer of M pixels
// computes M rounded up to TM, not to 4×TM: ResNet-50's layer3 (196
// pixels) ran 14% faster so, the network 1.57 s against 1.74 s (medians
// of three alternations, TestTileSweep). Small layers (a 64×64 input's
// layer4 has 8 pixels) take the TM with the least estimated time
// (swiftShaderCost).
func swiftShaderTile(g convGeom, narrow func(int) int) convTile {
	t := convTile{WG: 4, TM: 16, TN: narrow(16), Window: true, LanesN: true}
	for _, tm := range []int{8, 4} {
		if swiftShaderCost(g.M(), tm) < swiftShaderCost(g.M(), t.TM) {
			t.TM = tm
		}
	}
	return t
}

// swiftShaderCost estimates a conv's time on SwiftShader for a TM: the
// pixels computed (M rounded up to whole tiles) over the tile's measured
// relative speed (TM 16: 1, 8: 0.8, 4: 0.5).
func swiftShaderCost(m, tm int) float64 {
	padded := (m + tm - 1) / tm * tm
	speed := map[int]float64{16: 1, 8: 0.8, 4: 0.5}[tm]
	return float64(padded) / speed
}

// gpuTile is for real GPUs: 64 invocations a workgroup keep registers
// low and workgroups many. Measured on an NVIDIA H100 through Vulkan
// (TestConvTiles): a 4 × 8 tile ran the 56×56 convs at 0.9–1.8 TFLOP/s,
// within 10% of the best of ten tiles, and ResNet-50 in 8.8 ms an image;
// layers of under a thousand pixels (layer3 and layer4 at 224) need more
// threads, not more reuse: one pixel × 4 channels ran those convs 1.2–1.5
// times faster alone (the whole network, 8.7–9.5 ms, is bound by its ~55
// dispatches there either way).
func gpuTile(g convGeom, narrow func(int) int) convTile {
	if g.M() < 1000 {
		return convTile{WG: 64, TM: 1, TN: narrow(4)}
	}
	return convTile{WG: 64, TM: 4, TN: narrow(8)}
}

// ngp is the padded per-group output channel count.
func (g convGeom) ngp(t convTile) int { return (g.NG + t.TN - 1) / t.TN * t.TN }

// k4 is the packed weight words per output channel.
func (g convGeom) k4() int { return g.K * g.K * g.CG4 }

// convWeights is one conv's packed weights and epilogue constants.
type convWeights struct {
	// words is the weight buffer's 32-bit words: [G][KH][KW][CG4][NGP]
	// entries, each one word of four int8 values or, with F32, four words
	// (a vec4<f32>) holding the float bits of the same four values.
	words []uint32
	scale []float32 // [G][NGP]; 1 for f32 weights
	bias  []float32 // [G][NGP]
}

// packedSize is how many words packConv gives for g under t, and how many
// epilogue floats (scales, then biases).
func (g convGeom) packedSize(t convTile) (words, ep int) {
	per := 1
	if g.F32 {
		per = 4
	}
	return g.Groups * g.k4() * g.ngp(t) * per, 2 * g.Groups * g.ngp(t)
}

// packConv lays a conv's weights out for the kernel: int8 values with
// their per-output-channel scales as the file holds them, or with g.F32
// the file's float32 values. The weights are never requantized here: the
// tensor's storage must match g.F32. The words are s's (see packScratch).
func packConv(g convGeom, t convTile, w, b *weights.Tensor, s *packScratch) (convWeights, error) {
	want := []int{g.Cout, g.CG, g.K, g.K}
	if w == nil || b == nil {
		return convWeights{}, fmt.Errorf("missing weight or bias")
	}
	if !slices.Equal(w.Shape, want) {
		return convWeights{}, fmt.Errorf("weight %s shape %v, want %v", w.Name, w.Shape, want)
	}
	bias := b.Float()
	if len(bias) != g.Cout {
		return convWeights{}, fmt.Errorf("bias %s has %d values, want %d", b.Name, len(bias), g.Cout)
	}
	if err := checkWeightStorage(w, g.F32, g.Cout); err != nil {
		return convWeights{}, err
	}
	size := g.CG * g.K * g.K // one output channel's values
	row := s.rowsOf(w, size) // read now when the model left it in its file
	ngp := g.ngp(t)
	k4 := g.k4()
	per := 1 // words per entry
	if g.F32 {
		per = 4
	}
	cw := convWeights{words: s.zeroed(g.Groups * k4 * ngp * per), scale: make([]float32, g.Groups*ngp), bias: make([]float32, g.Groups*ngp)}
	for gi := 0; gi < g.Groups; gi++ {
		for j := 0; j < g.NG; j++ {
			n := gi*g.NG + j
			var q []int8 // output channel n's int8 values
			if !g.F32 {
				var err error
				if q, err = row(n); err != nil {
					return convWeights{}, err
				}
			}
			cw.scale[gi*ngp+j] = 1
			if !g.F32 {
				cw.scale[gi*ngp+j] = w.Scale[n]
			}
			cw.bias[gi*ngp+j] = bias[n]
			for ky := 0; ky < g.K; ky++ {
				for kx := 0; kx < g.K; kx++ {
					for c4 := 0; c4 < g.CG4; c4++ {
						e := (gi*k4+(ky*g.K+kx)*g.CG4+c4)*ngp + j // the entry
						// Input channel ci's value at this tap is at
						// tap + ci*kk of the channel's values.
						tap, kk := ky*g.K+kx, g.K*g.K
						if g.F32 {
							for ci := c4 * 4; ci < min(c4*4+4, g.CG); ci++ {
								cw.words[4*e+ci-c4*4] = math.Float32bits(w.F32[n*size+tap+ci*kk])
							}
							continue
						}
						var word uint32 // one store per word: wasm checks every index
						for ci := c4 * 4; ci < min(c4*4+4, g.CG); ci++ {
							word |= uint32(uint8(q[tap+ci*kk])) << (8 * (ci - c4*4))
						}
						cw.words[e] = word
					}
				}
			}
		}
	}
	return cw, nil
}

// checkWeightStorage checks that a weight tensor holds what the kernel
// reads: with f32, float32 values; otherwise int8 values with one scale
// per output channel (out).
func checkWeightStorage(w *weights.Tensor, f32 bool, out int) error {
	switch {
	case f32 && w.Quantized():
		return fmt.Errorf("weight %s holds int8 values, but the kernel was built for f32 weights", w.Name)
	case f32 && len(w.F32) != w.Len():
		return fmt.Errorf("weight %s: %d floats for shape %v", w.Name, len(w.F32), w.Shape)
	case !f32 && !w.Quantized():
		return fmt.Errorf("weight %s holds float32 values, but the kernel was built for int8 weights (set F32 for an f32 weight file)", w.Name)
	case !f32 && len(w.Scale) != out:
		return fmt.Errorf("weight %s: %d scales for shape %v", w.Name, len(w.Scale), w.Shape)
	}
	return nil
}

// convSrc is what conv.wgsl is rendered with: the tile's constants,
// the kernel variant's switches and the index lists its unrolled
// statements range over.
type convSrc struct {
	WG, TM, TN int
	VecIn      bool // x read as vec4 (else four scalar loads)
	VecOut     bool // y and the residual as vec4
	Dense      bool // no tap needs a bounds check
	LanesN     bool
	Shuffle    bool
	F32        bool // float weights, no scale
	Loads      int  // pixels an invocation loads: TM, or TM/WG with Shuffle
	Loaded     []int
	Pixels     []convPixel // the tile's TM pixels
	Vecs       []convVec   // the tile's TN channels, four at a time
}

// convPixel is pixel I of the tile; with Shuffle, invocation Lane loaded
// it as its y<From>.
type convPixel struct{ I, From, Lane int }

// convVec is the tile's channels J..J+3, one vec4 V of weight words or
// of the epilogue.
type convVec struct {
	V, J int
	Cols []col
}

// col is channel J of a tile, component C of its vec4.
type col struct {
	J int
	C string
}

// cols4 is the four channels from j on.
func cols4(j int) []col {
	return []col{{j, "x"}, {j + 1, "y"}, {j + 2, "z"}, {j + 3, "w"}}
}

// genConv writes the WGSL of one conv kernel.
func genConv(g convGeom, t convTile) (string, error) {
	if t.TN%4 != 0 || t.TM < 1 || t.WG < 1 {
		return "", fmt.Errorf("conv kernel: bad tile %+v", t)
	}
	if t.Shuffle && !t.canShuffle(g) {
		return "", fmt.Errorf("conv kernel: tile %+v cannot shuffle pixels on %d groups of %d channels", t, g.Groups, g.NG)
	}
	// The source depends on the tile and four switches only: rendered
	// once per kind (a network's convs share a handful), since executing
	// the template is slow next to compiling's cache lookup in wasm.
	key := convSrcKey{t, g.vecIn(), g.vecOut(), t.dense(g), g.F32}
	if src, ok := convSources.Load(key); ok {
		return src.(string), nil
	}
	src, err := render("conv.wgsl", convSrcOf(g, t))
	if err == nil {
		convSources.Store(key, src)
	}
	return src, err
}

// convSrcKey is what a conv kernel's source depends on.
type convSrcKey struct {
	t                         convTile
	vecIn, vecOut, dense, f32 bool
}

// convSources caches genConv's sources by convSrcKey.
var convSources sync.Map

// convSrcOf is what conv.wgsl is rendered with for conv g and tile t.
func convSrcOf(g convGeom, t convTile) convSrc {
	s := convSrc{WG: t.WG, TM: t.TM, TN: t.TN, VecIn: g.vecIn(), VecOut: g.vecOut(), Dense: t.dense(g),
		LanesN: t.LanesN, Shuffle: t.Shuffle, F32: g.F32, Loads: t.TM}
	if t.Shuffle {
		s.Loads = t.TM / t.WG
	}
	s.Loaded = seq(s.Loads)
	for i := 0; i < t.TM; i++ {
		s.Pixels = append(s.Pixels, convPixel{I: i, From: i % s.Loads, Lane: i / s.Loads})
	}
	for v := 0; v < t.TN/4; v++ {
		s.Vecs = append(s.Vecs, convVec{V: v, J: 4 * v, Cols: cols4(4 * v)})
	}
	return s
}

// paramsBytes is the size of conv.wgsl's Params, padded to 16 bytes.
const paramsBytes = 80

// Params.flags bits.
const (
	flagReLU     = 1
	flagResidual = 2
)

// convParams is a conv's shape as conv.wgsl's Params uniform holds it.
func convParams(g convGeom, t convTile) []byte {
	xc, xg := g.XS, g.CG
	if g.vecIn() {
		xc, xg = g.XS/4, g.CG/4
	}
	ngp := g.ngp(t)
	v := []uint32{uint32(g.M()), uint32(g.HO * g.WO), uint32(g.WO), uint32(g.H), uint32(g.W),
		uint32(int32(g.Stride)), uint32(int32(g.Pad)), uint32(g.K), uint32(g.K), uint32(xc), uint32(xg),
		uint32(g.CG4), uint32(g.NG), uint32(ngp / 4), uint32(ngp / t.TN), uint32(g.Cout), uint32(g.k4()),
		uint32(g.Groups * ngp / 4), 0, uint32(g.Groups * ngp / t.TN)}
	const flags = 18
	if g.ReLU {
		v[flags] |= flagReLU
	}
	if g.Residual {
		v[flags] |= flagResidual
	}
	b := u32Bytes(v)
	return append(b, make([]byte, paramsBytes-len(b))...)
}

// convKind names a conv pipeline by what its source depends on, for
// errors and labels: every conv with the same kind shares the pipeline
// (the residual and the ReLU are flags in Params).
func convKind(g convGeom, t convTile) string {
	k := "conv window"
	if t.dense(g) {
		k = "conv dense"
	}
	if g.F32 {
		k += " f32"
	}
	if !g.vecIn() {
		k += " scalar-in"
	}
	if !g.vecOut() {
		k += " scalar-out"
	}
	if t.LanesN {
		k += " lanes-n"
	}
	if t.Shuffle {
		k += " shuffle"
	}
	return fmt.Sprintf("%s tile %dx%dx%d", k, t.WG, t.TM, t.TN)
}

// convKernel compiles (or fetches) the pipeline of a conv kind.
func (d *Device) convKernel(g convGeom, t convTile) (*kernel, error) {
	src, err := genConv(g, t)
	if err != nil {
		return nil, err
	}
	return d.kernelFull(convKind(g, t), src, "main", convBindings, true)
}

// convGrid is the dispatch size of a conv kernel.
func convGrid(g convGeom, t convTile) (x, y uint32) {
	tiles := g.Groups * (g.ngp(t) / t.TN)
	if t.LanesN {
		return uint32((g.M() + t.TM - 1) / t.TM), uint32((tiles + t.WG - 1) / t.WG)
	}
	per := t.WG * t.TM
	return uint32((g.M() + per - 1) / per), uint32(tiles)
}
