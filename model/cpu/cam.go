package cpu

import (
	"fmt"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/weights"
)

// CAMs computes the class activation maps (model.CAM) of a batch: feats
// are the features the global average pool reads, [B,C,H,W] (the
// Program's CAMTap), w [classes,C] and b the classifier's weight (F32, or
// I8 with one scale per class) and bias, and top[i] the classes of image
// i whose maps are wanted. Each map is scale·Σ_c q[c]·f[c] (the int8
// row's scale applied after the sum, as the GPU's fc and CAM kernels do)
// + b, summed in float64. It is the one implementation the engines
// without a CAM kernel of their own (this one, wasm-simd) share.
func CAMs(feats *model.Tensor, w, b *weights.Tensor, top [][]model.Prediction) ([][]model.CAM, error) {
	if err := checkActivation(feats, xChannels(feats)); err != nil {
		return nil, fmt.Errorf("cam: features: %w", err)
	}
	bs, c, h, wd := feats.Shape[0], feats.Shape[1], feats.Shape[2], feats.Shape[3]
	if len(top) != bs {
		return nil, fmt.Errorf("cam: %d images of features, %d of classes", bs, len(top))
	}
	if w == nil || len(w.Shape) != 2 || w.Shape[1] != c || w.Shape[0] < 1 {
		return nil, fmt.Errorf("cam: fc weight %s does not take %d channels", describeW(w), c)
	}
	classes := w.Shape[0]
	if err := checkWeight(w, []int{classes, c}); err != nil {
		return nil, fmt.Errorf("cam: fc weight: %w", err)
	}
	if err := checkBias(b, classes); err != nil {
		return nil, fmt.Errorf("cam: fc bias: %w", err)
	}
	bias := b.Float()
	hw := h * wd
	out := make([][]model.CAM, bs)
	acc := make([]float64, hw)
	for i, preds := range top {
		f := feats.Data[i*c*hw : (i+1)*c*hw]
		for _, pr := range preds {
			k := pr.Index
			if k < 0 || k >= classes {
				return nil, fmt.Errorf("cam: class %d of image %d is not one of %d", k, i, classes)
			}
			clear(acc)
			for ch := range c {
				var wc float64
				if w.I8 != nil {
					wc = float64(w.I8[k*c+ch])
				} else {
					wc = float64(w.F32[k*c+ch])
				}
				if wc == 0 {
					continue
				}
				for p, v := range f[ch*hw : (ch+1)*hw] {
					acc[p] += wc * float64(v)
				}
			}
			scale := 1.0
			if w.I8 != nil {
				scale = float64(w.Scale[k])
			}
			m := model.CAM{Class: k, W: wd, H: h, Values: make([]float32, hw)}
			for p, a := range acc {
				m.Values[p] = float32(scale*a + float64(bias[k]))
			}
			out[i] = append(out[i], m)
		}
	}
	return out, nil
}
