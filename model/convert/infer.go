package convert

import (
	"fmt"
	"slices"
	"strings"

	"github.com/residual-webgpu/residual/model"
)

// InferArch works out the architecture of a torchvision-named state dict
// from its tensor shapes: blocks per layer from the layerN.M prefixes,
// bottleneck or basic from the presence of conv3, groups and width from the
// 3×3 convs, base width from conv1, classes from fc.weight, conv biases
// from conv1.bias. The variant (stride placement) leaves no trace in the
// weights: the result says V15 (torchvision's). The name is torchvision's
// when the structure matches one of model.Names() at base width 64, and a
// descriptive one otherwise. The result is checked with CheckStateDict.
// Another network's state dict is an error that says what it is (see
// checkResNet).
func InferArch(sd StateDict) (model.Arch, error) {
	get := func(name string, rank int) (*model.Tensor, error) {
		t := sd[name]
		if t == nil {
			return nil, fmt.Errorf("infer architecture: no %s", name)
		}
		if len(t.Shape) != rank {
			return nil, fmt.Errorf("infer architecture: %s has shape %v, want rank %d", name, t.Shape, rank)
		}
		return t, nil
	}
	a := model.Arch{Groups: 1, WidthPerGroup: 64, Variant: model.V15}
	shapes := make(map[string][]int, len(sd))
	for k, t := range sd {
		shapes[k] = t.Shape
	}
	if err := checkResNet(shapes); err != nil {
		return a, err
	}
	if sd["conv1.weight"] == nil && sd["layer1.0.conv1.weight"] == nil {
		return a, noResNetKeys(sd.Names())
	}
	stem, err := get("conv1.weight", 4)
	if err != nil {
		return a, err
	}
	a.BaseChannels = stem.Shape[0]
	_, a.ConvBias = sd["conv1.bias"]
	fc, err := get("fc.weight", 2)
	if err != nil {
		return a, err
	}
	a.NumClasses = fc.Shape[0]
	for li := range a.Layers {
		n := 0
		for sd[fmt.Sprintf("layer%d.%d.conv1.weight", li+1, n)] != nil {
			n++
		}
		if n == 0 {
			return a, fmt.Errorf("infer architecture: no layer%d.0.conv1.weight", li+1)
		}
		a.Layers[li] = n
	}
	a.Block = model.Basic
	if sd["layer1.0.conv3.weight"] != nil {
		a.Block = model.Bottleneck
		c2, err := get("layer1.0.conv2.weight", 4)
		if err != nil {
			return a, err
		}
		width, perGroup := c2.Shape[0], c2.Shape[1]
		if perGroup < 1 || width%perGroup != 0 {
			return a, fmt.Errorf("infer architecture: layer1.0.conv2.weight shape %v is not a grouped conv", c2.Shape)
		}
		a.Groups = width / perGroup
		// torchvision: width = int(planes * width_per_group/64) * groups,
		// with planes = BaseChannels in layer1.
		if a.BaseChannels < 1 || (perGroup*64)%a.BaseChannels != 0 {
			return a, fmt.Errorf("infer architecture: layer1 width %d per group does not fit base width %d", perGroup, a.BaseChannels)
		}
		a.WidthPerGroup = perGroup * 64 / a.BaseChannels
	}
	a.Name = archName(a)
	if err := a.Validate(); err != nil {
		return a, fmt.Errorf("infer architecture: %w", err)
	}
	return a, nil
}

// archName names an inferred architecture: torchvision's name when the
// structure is one of its constructors, else a description.
func archName(a model.Arch) string {
	for _, n := range model.Names() {
		k, _ := model.ByName(n)
		if k.Block == a.Block && k.Layers == a.Layers && k.Groups == a.Groups && k.WidthPerGroup == a.WidthPerGroup {
			if a.BaseChannels == k.BaseChannels {
				return n
			}
			return fmt.Sprintf("%s_base%d", n, a.BaseChannels)
		}
	}
	l := a.Layers
	name := fmt.Sprintf("resnet_%s_%d-%d-%d-%d", a.Block, l[0], l[1], l[2], l[3])
	if a.Groups != 1 || a.WidthPerGroup != 64 {
		name += fmt.Sprintf("_%dx%d", a.Groups, a.WidthPerGroup)
	}
	if a.BaseChannels != 64 {
		name += fmt.Sprintf("_base%d", a.BaseChannels)
	}
	return name
}

// CheckStateDict checks that sd holds exactly the tensors of net's
// torchvision state dict (model.Net.StateDictTensors), with the right shapes,
// and returns their data by name, ready for weights.FoldBN. Every problem is
// listed: missing tensors, unexpected ones, wrong shapes.
func CheckStateDict(net model.Net, sd StateDict) (map[string][]float32, error) {
	want := net.StateDictTensors()
	out := make(map[string][]float32, len(want))
	var missing, shapes []string
	seen := map[string]bool{}
	for _, ts := range want {
		seen[ts.Name] = true
		t := sd[ts.Name]
		if t == nil {
			missing = append(missing, ts.Name)
			continue
		}
		n := 1
		for _, d := range t.Shape {
			n *= d
		}
		if !slices.Equal(t.Shape, ts.Shape) || n != len(t.Data) {
			shapes = append(shapes, fmt.Sprintf("%s is %v, want %v", ts.Name, t.Shape, ts.Shape))
			continue
		}
		out[ts.Name] = t.Data
	}
	var extra []string
	for _, name := range sd.Names() {
		if !seen[name] {
			extra = append(extra, name)
		}
	}
	if len(missing)+len(extra)+len(shapes) == 0 {
		return out, nil
	}
	var parts []string
	if len(shapes) > 0 {
		parts = append(parts, fmt.Sprintf("%d wrong shapes: %s", len(shapes), abbrev(shapes)))
	}
	if len(missing) > 0 {
		parts = append(parts, fmt.Sprintf("%d missing tensors: %s", len(missing), abbrev(missing)))
	}
	if len(extra) > 0 {
		parts = append(parts, fmt.Sprintf("%d unexpected tensors: %s", len(extra), abbrev(extra)))
	}
	return nil, fmt.Errorf("state dict does not match %s: %s", net.Arch.Name, strings.Join(parts, "; "))
}

// abbrev joins the first few items of a list for an error message.
func abbrev(items []string) string {
	const max = 6
	if len(items) <= max {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:max], ", ") + fmt.Sprintf(", … (%d more)", len(items)-max)
}
