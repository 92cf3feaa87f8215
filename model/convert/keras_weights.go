package convert

import (
	"fmt"
	"strings"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/weights"
)

// stateDict assembles the torchvision state dict from the Keras weights
// (raw, by "layer/param"), infers the architecture, reads the variant from
// the strides, and checks every conv's kernel, stride, padding and groups,
// the max pool and the number of residual adds against the layout that
// architecture implies.
func (t *kerasTopology) stateDict(raw map[string]*model.Tensor) (*Checkpoint, error) {
	weightsOf := map[string]map[string]*model.Tensor{}
	for name, w := range raw {
		parts := strings.Split(name, "/")
		if len(parts) < 2 {
			return nil, fmt.Errorf("weight %s: name is not layer/param", name)
		}
		layer, param := parts[len(parts)-2], parts[len(parts)-1]
		if weightsOf[layer] == nil {
			weightsOf[layer] = map[string]*model.Tensor{}
		}
		if _, dup := weightsOf[layer][param]; dup {
			return nil, fmt.Errorf("weight %s: layer %s has two %s", name, layer, param)
		}
		weightsOf[layer][param] = w
	}
	used := map[string]bool{}
	take := func(layer, param string, rank int) (*model.Tensor, error) {
		w := weightsOf[layer][param]
		if w == nil {
			return nil, fmt.Errorf("layer %s: missing weight %s/%s", layer, layer, param)
		}
		if len(w.Shape) != rank {
			return nil, fmt.Errorf("weight %s/%s has shape %v, want rank %d", layer, param, w.Shape, rank)
		}
		used[layer+"/"+param] = true
		return w, nil
	}
	sd := StateDict{}
	put := func(name string, tt *model.Tensor) error {
		if sd[name] != nil {
			return fmt.Errorf("two Keras layers map to %s", name)
		}
		sd[name] = tt
		return nil
	}
	convBias := 0
	for _, c := range t.convs {
		k, err := take(c.layer, "kernel", 4)
		if err != nil {
			return nil, err
		}
		kh, kw, cin, cout := k.Shape[0], k.Shape[1], k.Shape[2], k.Shape[3]
		if kh != c.kernel || kw != c.kernel || cout != c.filters {
			return nil, fmt.Errorf("weight %s/kernel has shape %v, but the layer has %d filters of %d×%d", c.layer, k.Shape, c.filters, c.kernel, c.kernel)
		}
		// HWIO → OIHW.
		w := model.NewTensor(cout, cin, kh, kw)
		for y := 0; y < kh; y++ {
			for x := 0; x < kw; x++ {
				for i := 0; i < cin; i++ {
					src := k.Data[((y*kw+x)*cin+i)*cout:]
					for o := 0; o < cout; o++ {
						w.Data[((o*cin+i)*kh+y)*kw+x] = src[o]
					}
				}
			}
		}
		if err := put(c.prefix+".weight", w); err != nil {
			return nil, err
		}
		if c.useBias {
			convBias++
			b, err := take(c.layer, "bias", 1)
			if err != nil {
				return nil, err
			}
			if err := put(c.prefix+".bias", b); err != nil {
				return nil, err
			}
		}
	}
	if convBias != 0 && convBias != len(t.convs) {
		return nil, fmt.Errorf("%d of %d convs have a bias: mixed conv biases are not supported", convBias, len(t.convs))
	}
	eps := 0.0
	for _, b := range t.bns {
		if eps != 0 && b.eps != eps {
			return nil, fmt.Errorf("layer %s: BatchNorm epsilon %g differs from the others' %g", b.layer, b.eps, eps)
		}
		eps = b.eps
		mean, err := take(b.layer, "moving_mean", 1)
		if err != nil {
			return nil, err
		}
		variance, err := take(b.layer, "moving_variance", 1)
		if err != nil {
			return nil, err
		}
		n := mean.Shape[0]
		gamma, beta := fill(n, 1), fill(n, 0)
		if b.scale {
			if gamma, err = take(b.layer, "gamma", 1); err != nil {
				return nil, err
			}
		}
		if b.center {
			if beta, err = take(b.layer, "beta", 1); err != nil {
				return nil, err
			}
		}
		for p, v := range map[string]*model.Tensor{"weight": gamma, "bias": beta, "running_mean": mean, "running_var": variance} {
			if err := put(b.prefix+"."+p, v); err != nil {
				return nil, err
			}
		}
	}
	d := t.dense
	k, err := take(d.layer, "kernel", 2)
	if err != nil {
		return nil, err
	}
	in, out := k.Shape[0], k.Shape[1]
	if out != d.units {
		return nil, fmt.Errorf("weight %s/kernel has shape %v, but the layer has %d units", d.layer, k.Shape, d.units)
	}
	fc := model.NewTensor(out, in) // [in, out] → [out, in]
	for i := 0; i < in; i++ {
		for o := 0; o < out; o++ {
			fc.Data[o*in+i] = k.Data[i*out+o]
		}
	}
	sd["fc.weight"] = fc
	sd["fc.bias"] = fill(out, 0)
	if d.useBias {
		if sd["fc.bias"], err = take(d.layer, "bias", 1); err != nil {
			return nil, err
		}
	}
	var unused []string
	for _, name := range sortedKeys(raw) {
		if !used[strings.Join(lastTwo(name), "/")] {
			unused = append(unused, name)
		}
	}
	if len(unused) > 0 {
		return nil, fmt.Errorf("%d weights belong to no ResNet layer: %s", len(unused), abbrev(unused))
	}
	if eps == 0 {
		return nil, fmt.Errorf("model_config: no BatchNormalization layers")
	}

	arch, err := InferArch(sd)
	if err != nil {
		return nil, err
	}
	arch.ConvBias = convBias > 0
	if err := t.checkLayout(&arch); err != nil {
		return nil, err
	}
	return &Checkpoint{Format: TFJS, Tensors: sd, Arch: &arch, BNEps: eps, Preprocess: ptr(weights.CaffePreprocess)}, nil
}

// fill returns a 1-D tensor of n copies of v.
func fill(n int, v float32) *model.Tensor {
	t := model.NewTensor(n)
	for i := range t.Data {
		t.Data[i] = v
	}
	return t
}

// lastTwo returns the last two "/"-separated parts of a weight name.
func lastTwo(name string) []string {
	parts := strings.Split(name, "/")
	if len(parts) < 2 {
		return parts
	}
	return parts[len(parts)-2:]
}
