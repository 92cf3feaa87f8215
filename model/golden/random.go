package golden

import (
	"fmt"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/weights"
)

// Random builds a weight file in memory for arch with the same values as
// Model(arch, seed, eps, s) — Fill's He-uniform state dict, BatchNorm
// folded with eps, stored with scheme s — but generated, folded and (for
// Int8) quantized one layer at a time. Memory then holds the result and
// one layer in float32, where Model holds the whole state dict twice in
// float32 (about 1 GB for wide_resnet101_2). each, when set, is called
// after every layer with done of total layers (conv and fc), so a caller
// can show progress or give its thread back.
func Random(arch model.Arch, seed uint64, eps float64, s weights.Scheme, each func(done, total int)) (*weights.Model, error) {
	if s != weights.F32 && s != weights.Int8 {
		return nil, fmt.Errorf("random weights for %s: scheme %q (want %s or %s)", arch.Name, s, weights.F32, weights.Int8)
	}
	net, err := arch.Net()
	if err != nil {
		return nil, fmt.Errorf("random weights: %w", err)
	}
	dists := Dists(net)
	gen := func(name string, n int) []float32 { return dists[name].Values(name, seed, n) }
	convs := net.Convs()
	total := len(convs) + 1
	out := make(map[string]*weights.Tensor, 2*total)
	store := func(t *weights.Tensor) error {
		if s == weights.Int8 && len(t.Shape) > 1 { // weights; biases stay F32
			q, err := weights.QuantizeInt8(t)
			if err != nil {
				return err
			}
			t = q
		}
		out[t.Name] = t
		return nil
	}
	for i, c := range convs {
		// FoldBN folds the convs a Net lists: a Net whose only conv is c
		// (as its stem, with an empty fc) folds this one layer with
		// exactly the arithmetic it uses for the whole network.
		one := model.Net{Arch: arch, Stem: c, FC: model.Linear{Name: net.FC.Name}}
		sd := map[string][]float32{net.FC.Name + ".weight": nil, net.FC.Name + ".bias": nil}
		for _, ts := range one.StateDictTensors()[:len(one.StateDictTensors())-2] {
			sd[ts.Name] = gen(ts.Name, numel(ts.Shape))
		}
		folded, err := weights.FoldBN(one, sd, eps)
		if err != nil {
			return nil, fmt.Errorf("random weights for %s: %w", arch.Name, err)
		}
		for _, name := range []string{c.Name + ".weight", c.Name + ".bias"} {
			if err := store(folded[name]); err != nil {
				return nil, fmt.Errorf("random weights for %s: %w", arch.Name, err)
			}
		}
		if each != nil {
			each(i+1, total)
		}
	}
	fc := net.FC
	for _, ts := range []model.TensorSpec{{Name: fc.Name + ".weight", Shape: []int{fc.Out, fc.In}}, {Name: fc.Name + ".bias", Shape: []int{fc.Out}}} {
		if err := store(&weights.Tensor{Name: ts.Name, Shape: ts.Shape, F32: gen(ts.Name, numel(ts.Shape))}); err != nil {
			return nil, fmt.Errorf("random weights for %s: %w", arch.Name, err)
		}
	}
	if each != nil {
		each(total, total)
	}
	labels := make([]string, arch.NumClasses)
	for i := range labels {
		labels[i] = fmt.Sprintf("class %d", i)
	}
	return weights.New(weights.Metadata{Arch: arch, Preprocess: weights.TorchvisionPreprocess, Scheme: s,
		Labels: labels, Source: fmt.Sprintf("random weights (golden generator, seed %d)", seed)}, out)
}
