package weights

import (
	"fmt"
	"math"

	"github.com/residual-webgpu/residual/model"
)

// FoldBN merges each conv's BatchNorm into the conv, turning a torchvision
// state dict (flattened float tensors under the names and shapes of
// net.StateDictTensors(); other entries such as num_batches_tracked are
// ignored) into the F32 tensors of net.FoldedTensors(). For output channel
// c, with s = gamma[c]/sqrt(running_var[c]+eps):
//
//	W'[c,…] = W[c,…]·s
//	b'[c]   = (b_conv[c] − running_mean[c])·s + beta[c]
//
// where b_conv is the conv's own bias when the state dict has one (it must
// when net.Arch.ConvBias) and 0 otherwise. Arithmetic is float64, results
// float32. The fc tensors are copied. Errors name the missing or
// wrong-length tensor.
func FoldBN(net model.Net, sd map[string][]float32, eps float64) (map[string]*Tensor, error) {
	out, err := foldBN(net, sd, eps)
	if err != nil {
		return nil, fmt.Errorf("fold batchnorm of %s: %w", net.Arch.Name, err)
	}
	return out, nil
}

func foldBN(net model.Net, sd map[string][]float32, eps float64) (map[string]*Tensor, error) {
	if math.IsNaN(eps) || math.IsInf(eps, 0) || eps < 0 {
		return nil, fmt.Errorf("eps %v must be finite and non-negative", eps)
	}
	get := func(name string, shape []int, optional bool) ([]float32, error) {
		v, ok := sd[name]
		if !ok {
			if optional {
				return nil, nil
			}
			return nil, fmt.Errorf("tensor %s: missing", name)
		}
		if n := product(shape); len(v) != n {
			return nil, fmt.Errorf("tensor %s: %d values, want %d (shape %v)", name, len(v), n, shape)
		}
		return v, nil
	}
	out := map[string]*Tensor{}
	for _, c := range net.Convs() {
		shape := c.WeightShape()
		cout := []int{c.Cout}
		w, err := get(c.Name+".weight", shape, false)
		if err != nil {
			return nil, err
		}
		bias, err := get(c.Name+".bias", cout, !net.Arch.ConvBias)
		if err != nil {
			return nil, err
		}
		var bn [4][]float32 // weight (gamma), bias (beta), running_mean, running_var
		for i, p := range []string{"weight", "bias", "running_mean", "running_var"} {
			if bn[i], err = get(c.BN+"."+p, cout, false); err != nil {
				return nil, err
			}
		}
		gamma, beta, mean, vari := bn[0], bn[1], bn[2], bn[3]
		fw := make([]float32, len(w))
		fb := make([]float32, c.Cout)
		per := len(w) / c.Cout
		for o := range c.Cout {
			d := float64(vari[o]) + eps
			if !(d > 0) {
				return nil, fmt.Errorf("tensor %s.running_var: channel %d: variance %v + eps %v is not positive", c.BN, o, vari[o], eps)
			}
			s := float64(gamma[o]) / math.Sqrt(d)
			for i := o * per; i < (o+1)*per; i++ {
				fw[i] = float32(float64(w[i]) * s)
			}
			b := 0.0
			if bias != nil {
				b = float64(bias[o])
			}
			fb[o] = float32((b-float64(mean[o]))*s + float64(beta[o]))
		}
		out[c.Name+".weight"] = &Tensor{Name: c.Name + ".weight", Shape: shape, F32: fw}
		out[c.Name+".bias"] = &Tensor{Name: c.Name + ".bias", Shape: cout, F32: fb}
	}
	fc := net.FC
	for _, t := range []struct {
		name  string
		shape []int
	}{{fc.Name + ".weight", []int{fc.Out, fc.In}}, {fc.Name + ".bias", []int{fc.Out}}} {
		v, err := get(t.name, t.shape, false)
		if err != nil {
			return nil, err
		}
		out[t.name] = &Tensor{Name: t.name, Shape: t.shape, F32: append([]float32(nil), v...)}
	}
	return out, nil
}
