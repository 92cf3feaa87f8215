package cpu

import (
	"fmt"
	"math"
	"runtime"

	"github.com/residual-webgpu/residual/model"
)

// MaxPool is the stem's max pooling (model.PoolKernel, PoolStride,
// PoolPad) of an NCHW tensor, with PyTorch's semantics: the padding never
// wins (it is -inf), the output size rounds down, and a NaN in a window
// gives NaN.
func MaxPool(x *model.Tensor) (*model.Tensor, error) {
	if err := checkActivation(x, xChannels(x)); err != nil {
		return nil, fmt.Errorf("maxpool: input: %w", err)
	}
	b, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	ho, wo := model.PoolOutSize(h), model.PoolOutSize(w)
	if ho < 1 || wo < 1 {
		return nil, fmt.Errorf("maxpool: input %dx%d too small", h, w)
	}
	out := model.NewTensor(b, c, ho, wo)
	parallelFor(runtime.GOMAXPROCS(0), b*c, func(_, p int) {
		in, o := x.Data[p*h*w:(p+1)*h*w], out.Data[p*ho*wo:(p+1)*ho*wo]
		for oy := 0; oy < ho; oy++ {
			y0 := oy*model.PoolStride - model.PoolPad
			for ox := 0; ox < wo; ox++ {
				x0 := ox*model.PoolStride - model.PoolPad
				m := float32(math.Inf(-1))
				for iy := max(y0, 0); iy < min(y0+model.PoolKernel, h); iy++ {
					row := in[iy*w : (iy+1)*w]
					for ix := max(x0, 0); ix < min(x0+model.PoolKernel, w); ix++ {
						if v := row[ix]; v > m || v != v {
							m = v
						}
					}
				}
				o[oy*wo+ox] = m
			}
		}
	})
	return out, nil
}

// AvgPool is the global average pooling of an NCHW tensor: [B,C,H,W] →
// [B,C,1,1], each mean summed in float64.
func AvgPool(x *model.Tensor) (*model.Tensor, error) {
	if err := checkActivation(x, xChannels(x)); err != nil {
		return nil, fmt.Errorf("avgpool: input: %w", err)
	}
	b, c, hw := x.Shape[0], x.Shape[1], x.Shape[2]*x.Shape[3]
	out := model.NewTensor(b, c, 1, 1)
	for p := range out.Data {
		var s float64
		for _, v := range x.Data[p*hw : (p+1)*hw] {
			s += float64(v)
		}
		out.Data[p] = float32(s / float64(hw))
	}
	return out, nil
}

// xChannels is x's channel count where it has one, so that checkActivation
// judges only the rest of the shape.
func xChannels(x *model.Tensor) int {
	if x == nil || len(x.Shape) < 2 {
		return 0
	}
	return x.Shape[1]
}
