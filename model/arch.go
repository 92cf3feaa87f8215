// Package model describes the ResNet family as data: the architecture
// (torchvision's constructor arguments), the layout of every convolution and
// block it implies, and shape, parameter and MAC inference for any input.
// The CPU reference, the GPU plan and the inspector all read this one
// description.
package model

import (
	"fmt"
	"sort"
)

// BlockKind is the residual block type of a network.
type BlockKind string

// The two block types of torchvision's ResNet.
const (
	Basic      BlockKind = "basic"      // two 3×3 convs (ResNet-18/34)
	Bottleneck BlockKind = "bottleneck" // 1×1, 3×3, 1×1 with expansion 4 (ResNet-50 and up)
)

// Variant says where a bottleneck puts its stride.
type Variant string

// Stride placements. Basic blocks ignore the variant: their stride is always
// on the first 3×3.
const (
	// V15 is torchvision's placement: the stride is on the bottleneck's 3×3.
	V15 Variant = "v1.5"
	// V1 is the paper's (and the Caffe/Keras weights'): the stride is on the
	// bottleneck's first 1×1.
	V1 Variant = "v1"
)

// Arch is one network of the ResNet family, given as torchvision's
// ResNet constructor arguments plus the stride variant.
type Arch struct {
	Name          string    `json:"name"`
	Block         BlockKind `json:"block"`
	Layers        [4]int    `json:"layers"`
	Groups        int       `json:"groups"`
	WidthPerGroup int       `json:"width_per_group"`
	NumClasses    int       `json:"num_classes"`
	Variant       Variant   `json:"variant"`
	// BaseChannels is the stem's output width and layer1's planes (64 in
	// every torchvision model; layer i has BaseChannels<<(i-1) planes).
	// Smaller values give tiny networks for fast tests.
	BaseChannels int `json:"base_channels"`
	// ConvBias records that the source network's convolutions carry biases
	// (the Keras port does). It changes the parameter count only: weight
	// files always hold a folded bias per conv.
	ConvBias bool `json:"conv_bias,omitempty"`
}

func arch(name string, b BlockKind, layers [4]int, groups, wpg int) Arch {
	return Arch{Name: name, Block: b, Layers: layers, Groups: groups, WidthPerGroup: wpg, NumClasses: 1000, Variant: V15, BaseChannels: 64}
}

// The torchvision constructors, with ImageNet's 1000 classes and the v1.5 stride.
var known = map[string]Arch{
	"resnet18":         arch("resnet18", Basic, [4]int{2, 2, 2, 2}, 1, 64),
	"resnet34":         arch("resnet34", Basic, [4]int{3, 4, 6, 3}, 1, 64),
	"resnet50":         arch("resnet50", Bottleneck, [4]int{3, 4, 6, 3}, 1, 64),
	"resnet101":        arch("resnet101", Bottleneck, [4]int{3, 4, 23, 3}, 1, 64),
	"resnet152":        arch("resnet152", Bottleneck, [4]int{3, 8, 36, 3}, 1, 64),
	"resnext50_32x4d":  arch("resnext50_32x4d", Bottleneck, [4]int{3, 4, 6, 3}, 32, 4),
	"resnext101_32x8d": arch("resnext101_32x8d", Bottleneck, [4]int{3, 4, 23, 3}, 32, 8),
	"wide_resnet50_2":  arch("wide_resnet50_2", Bottleneck, [4]int{3, 4, 6, 3}, 1, 128),
	"wide_resnet101_2": arch("wide_resnet101_2", Bottleneck, [4]int{3, 4, 23, 3}, 1, 128),
	"resnext101_64x4d": arch("resnext101_64x4d", Bottleneck, [4]int{3, 4, 23, 3}, 64, 4),
}

// ByName returns the architecture torchvision builds under name
// (e.g. "resnet50", "resnext50_32x4d"), with 1000 classes and the v1.5 stride.
func ByName(name string) (Arch, error) {
	a, ok := known[name]
	if !ok {
		return Arch{}, fmt.Errorf("unknown architecture %q (known: %v)", name, Names())
	}
	return a, nil
}

// Names lists the architectures ByName knows, sorted.
func Names() []string {
	var n []string
	for k := range known {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// Expansion is the ratio of a block's output channels to its planes.
func (a Arch) Expansion() int {
	if a.Block == Bottleneck {
		return 4
	}
	return 1
}

// Validate reports whether the architecture is one this package can lay out.
func (a Arch) Validate() error {
	switch a.Block {
	case Basic:
		if a.Groups != 1 || a.WidthPerGroup != 64 {
			return fmt.Errorf("arch %s: basic blocks support only groups=1 and width_per_group=64, got %d and %d", a.Name, a.Groups, a.WidthPerGroup)
		}
	case Bottleneck:
	default:
		return fmt.Errorf("arch %s: unknown block type %q", a.Name, a.Block)
	}
	for i, n := range a.Layers {
		if n < 1 || n > 1000 {
			return fmt.Errorf("arch %s: layer%d has %d blocks", a.Name, i+1, n)
		}
	}
	if a.Groups < 1 || a.Groups > 4096 || a.WidthPerGroup < 1 || a.WidthPerGroup > 4096 {
		return fmt.Errorf("arch %s: groups %d, width_per_group %d out of range", a.Name, a.Groups, a.WidthPerGroup)
	}
	if a.BaseChannels < 1 || a.BaseChannels > 4096 {
		return fmt.Errorf("arch %s: base_channels %d out of range", a.Name, a.BaseChannels)
	}
	if a.NumClasses < 1 || a.NumClasses > 1<<20 {
		return fmt.Errorf("arch %s: num_classes %d out of range", a.Name, a.NumClasses)
	}
	if a.Variant != V1 && a.Variant != V15 {
		return fmt.Errorf("arch %s: unknown variant %q (want %q or %q)", a.Name, a.Variant, V1, V15)
	}
	return nil
}
