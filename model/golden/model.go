package golden

import (
	"fmt"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/weights"
)

// Model builds a complete weight file in memory for arch: the generated
// state dict of Fill, BatchNorm folded with eps, stored with scheme s.
// Tests and benchmarks use it wherever real weights are not the point.
func Model(arch model.Arch, seed uint64, eps float64, s weights.Scheme) (*weights.Model, error) {
	net, err := arch.Net()
	if err != nil {
		return nil, err
	}
	folded, err := weights.FoldBN(net, Fill(net, seed), eps)
	if err != nil {
		return nil, err
	}
	labels := make([]string, arch.NumClasses)
	for i := range labels {
		labels[i] = fmt.Sprintf("class %d", i)
	}
	m, err := weights.New(weights.Metadata{Arch: arch, Preprocess: weights.TorchvisionPreprocess, Scheme: weights.F32,
		Labels: labels, Source: fmt.Sprintf("golden generator, seed %d", seed)}, folded)
	if err != nil || s == weights.F32 {
		return m, err
	}
	return weights.Quantize(m, s)
}
