package cpu

import (
	"fmt"
	"slices"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/weights"
)

// Conv2D computes the convolution c of the NCHW tensor x with the folded
// weight w [Cout, Cin/Groups, K, K] and bias b [Cout], then adds residual
// (when non-nil, shaped like the output) and applies a ReLU (when relu).
// It is the engine's own convolution, exported so that other engines'
// kernels can be tested against it. w may be F32 or I8 with one scale per
// output channel; I8 gives exactly the result of its dequantized F32.
func Conv2D(x *model.Tensor, w, b *weights.Tensor, c model.Conv, residual *model.Tensor, relu bool) (*model.Tensor, error) {
	if err := checkConvParams(w, b, c); err != nil {
		return nil, err
	}
	if err := checkActivation(x, c.Cin); err != nil {
		return nil, fmt.Errorf("conv %s: input: %w", c.Name, err)
	}
	bs, h, wd := x.Shape[0], x.Shape[2], x.Shape[3]
	ho, wo := c.OutSize(h), c.OutSize(wd)
	if ho < 1 || wo < 1 {
		return nil, fmt.Errorf("conv %s: input %dx%d too small for kernel %d, stride %d, padding %d", c.Name, h, wd, c.Kernel, c.Stride, c.Pad)
	}
	out := model.NewTensor(bs, c.Cout, ho, wo)
	if residual != nil && !slices.Equal(residual.Shape, out.Shape) {
		return nil, fmt.Errorf("conv %s: residual shape %v, want %v", c.Name, residual.Shape, out.Shape)
	}
	if residual != nil && len(residual.Data) != len(out.Data) {
		return nil, fmt.Errorf("conv %s: residual holds %d values for shape %v", c.Name, len(residual.Data), residual.Shape)
	}
	conv(x, w, b, c, residual, relu, out)
	return out, nil
}

// conv computes Conv2D into out, all arguments already checked: one GEMM
// per image and group, C[Cout/G, Ho·Wo] = W[Cout/G, Cin/G·K·K] ·
// im2col(x)[Cin/G·K·K, Ho·Wo], which NCHW makes C the output planes.
func conv(x *model.Tensor, w, b *weights.Tensor, c model.Conv, residual *model.Tensor, relu bool, out *model.Tensor) {
	bs, h, wd := x.Shape[0], x.Shape[2], x.Shape[3]
	ho, wo := out.Shape[2], out.Shape[3]
	cing, coutg := c.Cin/c.Groups, c.Cout/c.Groups
	kdim := cing * c.Kernel * c.Kernel
	n := ho * wo
	a := matA{f32: w.F32, i8: w.I8, scale: w.Scale, ld: kdim}
	gs := make([]gemm, 0, bs*c.Groups)
	for img := 0; img < bs; img++ {
		for g := 0; g < c.Groups; g++ {
			in := (img*c.Cin + g*cing) * h * wd
			o := (img*c.Cout + g*coutg) * n
			gm := gemm{m: coutg, n: n, k: kdim, a: a.rows(g*coutg, coutg),
				b: &im2col{x: x.Data[in : in+cing*h*wd], h: h, w: wd, k: c.Kernel, stride: c.Stride, pad: c.Pad, wo: wo},
				c: out.Data[o : o+coutg*n], ldc: n, bias: b.F32[g*coutg : (g+1)*coutg], relu: relu}
			if residual != nil {
				gm.res = residual.Data[o : o+coutg*n]
			}
			gs = append(gs, gm)
		}
	}
	runGemms(gs)
}

// im2col is the B operand of a convolution over one image and group: row
// (ci, ky, kx), column (oy, ox) holds x[ci, oy·stride-pad+ky, ox·stride-pad+kx],
// or 0 in the padding.
type im2col struct {
	x              []float32 // [Cin/G, h, w]
	h, w           int
	k, stride, pad int
	wo             int
}

func (s *im2col) pack(dst []float32, n0, nc, k0, kc int) {
	np := (nc + nr - 1) / nr
	kk2, hw := s.k*s.k, s.h*s.w
	direct := s.k == 1 && s.stride == 1 && s.pad == 0 // B is x itself
	for kk := 0; kk < kc; kk++ {
		ci, r := (k0+kk)/kk2, (k0+kk)%kk2
		ky, kx := r/s.k, r%s.k
		plane := s.x[ci*hw : (ci+1)*hw]
		// Column j of this row goes to d[(j/nr)*kc*nr + j%nr].
		d := dst[kk*nr:]
		if direct {
			src := plane[n0 : n0+nc]
			for j, v := range src {
				d[(j/nr)*kc*nr+j%nr] = v
			}
		} else {
			oy, ox := n0/s.wo, n0%s.wo
			for j := 0; j < nc; {
				run := min(s.wo-ox, nc-j) // output pixels left in row oy
				iy := oy*s.stride - s.pad + ky
				if iy < 0 || iy >= s.h {
					for t := j; t < j+run; t++ {
						d[(t/nr)*kc*nr+t%nr] = 0
					}
				} else {
					row := plane[iy*s.w : (iy+1)*s.w]
					ix := ox*s.stride - s.pad + kx
					for t := j; t < j+run; t++ {
						var v float32
						if uint(ix) < uint(len(row)) {
							v = row[ix]
						}
						d[(t/nr)*kc*nr+t%nr] = v
						ix += s.stride
					}
				}
				j += run
				ox = 0
				oy++
			}
		}
		for t := nc; t < np*nr; t++ {
			d[(t/nr)*kc*nr+t%nr] = 0
		}
	}
}

// checkConvParams checks a conv's geometry and that w and b are its
// weight and bias.
func checkConvParams(w, b *weights.Tensor, c model.Conv) error {
	if c.Cin < 1 || c.Cout < 1 || c.Cin > 1<<16 || c.Cout > 1<<16 || c.Groups < 1 || c.Cin%c.Groups != 0 || c.Cout%c.Groups != 0 {
		return fmt.Errorf("conv %s: %d→%d channels in %d groups", c.Name, c.Cin, c.Cout, c.Groups)
	}
	if c.Kernel < 1 || c.Kernel > 64 || c.Stride < 1 || c.Stride > 64 || c.Pad < 0 || c.Pad > 64 {
		return fmt.Errorf("conv %s: kernel %d, stride %d, padding %d", c.Name, c.Kernel, c.Stride, c.Pad)
	}
	if err := checkWeight(w, c.WeightShape()); err != nil {
		return fmt.Errorf("conv %s: weight: %w", c.Name, err)
	}
	if err := checkBias(b, c.Cout); err != nil {
		return fmt.Errorf("conv %s: bias: %w", c.Name, err)
	}
	return nil
}

// checkWeight checks that w has the given shape and exactly one consistent
// storage: F32, or I8 with one Scale per output channel (first dimension).
func checkWeight(w *weights.Tensor, shape []int) error {
	if w == nil {
		return fmt.Errorf("missing")
	}
	if !slices.Equal(w.Shape, shape) {
		return fmt.Errorf("shape %v, want %v", w.Shape, shape)
	}
	n := w.Len()
	switch {
	case w.F32 != nil && w.I8 == nil:
		if len(w.F32) != n {
			return fmt.Errorf("%d float32 values for shape %v", len(w.F32), w.Shape)
		}
	case w.I8 != nil && w.F32 == nil:
		if len(w.I8) != n {
			return fmt.Errorf("%d int8 values for shape %v", len(w.I8), w.Shape)
		}
		if len(w.Scale) != shape[0] {
			return fmt.Errorf("%d scales for %d output channels", len(w.Scale), shape[0])
		}
	default:
		return fmt.Errorf("needs exactly one of F32 and I8")
	}
	return nil
}

// checkBias checks that b is a float32 vector of n values.
func checkBias(b *weights.Tensor, n int) error {
	if b == nil {
		return fmt.Errorf("missing")
	}
	if !slices.Equal(b.Shape, []int{n}) || len(b.F32) != n || b.I8 != nil {
		return fmt.Errorf("want %d float32 values, got shape %v with %d float32 and %d int8 values", n, b.Shape, len(b.F32), len(b.I8))
	}
	return nil
}

// checkActivation checks that x is an NCHW tensor with c channels whose
// data matches its shape.
func checkActivation(x *model.Tensor, c int) error {
	if x == nil {
		return fmt.Errorf("missing")
	}
	if len(x.Shape) != 4 {
		return fmt.Errorf("shape %v, want [B,%d,H,W]", x.Shape, c)
	}
	n := 1
	for _, d := range x.Shape {
		if d < 1 || d > 1<<24 {
			return fmt.Errorf("shape %v has a bad dimension", x.Shape)
		}
		n *= d
		if n > 1<<31 {
			return fmt.Errorf("shape %v too large", x.Shape)
		}
	}
	if x.Shape[1] != c {
		return fmt.Errorf("shape %v has %d channels, want %d", x.Shape, x.Shape[1], c)
	}
	if len(x.Data) != n {
		return fmt.Errorf("%d values for shape %v", len(x.Data), x.Shape)
	}
	return nil
}
