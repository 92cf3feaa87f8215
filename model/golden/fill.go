package golden

import (
	"github.com/residual-webgpu/residual/model"
)

// Dists gives the distribution of every tensor net.StateDictTensors lists,
// the same rules gen.py applies to torchvision's modules.
func Dists(net model.Net) map[string]Dist {
	closing := map[string]bool{}
	for _, l := range net.Layers {
		for _, b := range l.Blocks {
			if len(b.Convs) > 0 {
				closing[b.Convs[len(b.Convs)-1].Name] = true
			}
		}
	}
	d := map[string]Dist{}
	for _, c := range net.Convs() {
		d[c.Name+".weight"] = ConvDist(c.Cin/max(c.Groups, 1)*c.Kernel*c.Kernel, closing[c.Name])
		if net.Arch.ConvBias {
			d[c.Name+".bias"] = ConvBiasDist
		}
		d[c.BN+".weight"] = BNWeightDist
		d[c.BN+".bias"] = BNBiasDist
		d[c.BN+".running_mean"] = RunningMeanDist
		d[c.BN+".running_var"] = RunningVarDist
	}
	d[net.FC.Name+".weight"] = FCDist(net.FC.In)
	d[net.FC.Name+".bias"] = FCBiasDist
	return d
}

// Fill generates the torchvision state dict of net (every tensor of
// net.StateDictTensors, num_batches_tracked excluded) exactly as gen.py
// loads it into torchvision before running the fixtures.
func Fill(net model.Net, seed uint64) map[string][]float32 {
	dists := Dists(net)
	sd := map[string][]float32{}
	for _, ts := range net.StateDictTensors() {
		sd[ts.Name] = dists[ts.Name].Values(ts.Name, seed, numel(ts.Shape))
	}
	return sd
}

// Input generates the input batch (NCHW) gen.py feeds torchvision: the
// stream named "input", uniform in [-1, 1). Negative dimensions count as 0.
func Input(shape []int, seed uint64) *model.Tensor {
	return &model.Tensor{Shape: append([]int(nil), shape...), Data: InputDist.Values("input", seed, numel(shape))}
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= max(d, 0)
	}
	return n
}
