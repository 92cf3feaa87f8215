package wasmsimd

import (
	"fmt"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/cpu"
	"github.com/residual-webgpu/residual/model/weights"
)

// camTap is where the class activation maps of the one-image program p
// come from when opt asks for them; Features is -1 otherwise, so that
// image keeps nothing.
func camTap(p *model.Program, opt model.RunOptions) (model.CAMTap, error) {
	if !opt.CAM {
		return model.CAMTap{Features: -1, FC: -1}, nil
	}
	tap, err := p.CAMTap()
	if err != nil {
		return model.CAMTap{}, fmt.Errorf("wasm-simd engine: %w", err)
	}
	return tap, nil
}

// cams computes the maps of every image's top classes from the features
// image read out of module memory (one [C,H,W] block per image), with
// the CPU engine's implementation. The classifier's weights are in module
// memory only: the rows of the classes asked for are read back out of
// its panels, and cpu.CAMs gets a classifier of just those rows.
func (e *Engine) cams(one *model.Program, tap model.CAMTap, feats []float32, top [][]model.Prediction) ([][]model.CAM, error) {
	s := one.Tensors[tap.Features].Shape
	f := &model.Tensor{Shape: []int{len(top), s[1], s[2], s[3]}, Data: feats}
	name := one.Ops[tap.FC].Name
	w, b, local, err := e.classRows(name, top)
	if err != nil {
		return nil, fmt.Errorf("wasm-simd engine: cam: %w", err)
	}
	maps, err := cpu.CAMs(f, w, b, local)
	if err != nil {
		return nil, fmt.Errorf("wasm-simd engine: %w", err)
	}
	for i := range maps {
		for j := range maps[i] {
			maps[i][j].Class = top[i][j].Index
		}
	}
	return maps, nil
}

// classRows is the classifier name cut down to the classes of top: its
// int8 rows read out of the packed panels, their scales and biases, and
// top with each class numbered by its row there.
func (e *Engine) classRows(name string, top [][]model.Prediction) (w, b *weights.Tensor, local [][]model.Prediction, err error) {
	fw, fb := e.m.Weight(name)
	pk := e.conv[name]
	if fw == nil || fb == nil || pk == nil || len(pk.w) != 1 {
		return nil, nil, nil, fmt.Errorf("no packed classifier %s", name)
	}
	bias := fb.Float()
	row := map[int]int{}
	w = &weights.Tensor{Name: fw.Name}
	b = &weights.Tensor{Name: fb.Name}
	var panel []int8
	for _, preds := range top {
		var l []model.Prediction
		for _, p := range preds {
			k := p.Index
			if k < 0 || k >= pk.n {
				return nil, nil, nil, fmt.Errorf("class %d is not one of %d", k, pk.n)
			}
			r, ok := row[k]
			if !ok {
				r = len(row)
				row[k] = r
				if e.opt.Int8Activations { // PackQ8: row k at k·kp
					panel = e.k.ReadI8Into(panel, pk.w[0]+uint32(k*pk.kp), pk.k)
					w.I8 = append(w.I8, panel...)
				} else { // PackI8: [n/4][k][4], row k every fourth byte of its panel
					panel = e.k.ReadI8Into(panel, pk.w[0]+uint32(k/4*pk.k*4), 4*pk.k)
					for j := range pk.k {
						w.I8 = append(w.I8, panel[4*j+k%4])
					}
				}
				w.Scale = append(w.Scale, fw.Scale[k])
				b.F32 = append(b.F32, bias[k])
			}
			p.Index = r
			l = append(l, p)
		}
		local = append(local, l)
	}
	w.Shape = []int{len(row), pk.k}
	b.Shape = []int{len(row)}
	return w, b, local, nil
}
