package model

import "fmt"

// Conv is one convolution of the network with its BatchNorm, named as in
// torchvision's state dict. Weight files hold it folded: Name+".weight"
// [Cout, Cin/Groups, Kernel, Kernel] and Name+".bias" [Cout].
type Conv struct {
	Name   string // state-dict prefix of the conv, e.g. "layer1.0.conv1"
	BN     string // state-dict prefix of its BatchNorm, e.g. "layer1.0.bn1"
	Cin    int
	Cout   int
	Kernel int
	Stride int
	Pad    int
	Groups int
}

// OutSize is the spatial output size of the conv for an input of size in.
func (c Conv) OutSize(in int) int { return (in+2*c.Pad-c.Kernel)/c.Stride + 1 }

// WeightShape is the shape of the conv's weight tensor, as torchvision's.
func (c Conv) WeightShape() []int { return []int{c.Cout, c.Cin / c.Groups, c.Kernel, c.Kernel} }

// Block is one residual block: the main branch's convs in order (ReLU after
// each but the last), an optional projection shortcut, then add and ReLU.
type Block struct {
	Name       string // e.g. "layer2.0"
	Convs      []Conv
	Downsample *Conv // nil: identity shortcut
	Cin, Cout  int
	Stride     int
}

// Layer is one of the four stages, layer1 … layer4.
type Layer struct {
	Name   string
	Blocks []Block
}

// Linear is the classifier head.
type Linear struct {
	Name    string // "fc"
	In, Out int
}

// Net is the complete layout an Arch implies: stem conv, max pool, four
// layers of blocks, global average pool, fc.
type Net struct {
	Arch   Arch
	Stem   Conv
	Layers []Layer
	FC     Linear
}

// Net lays the architecture out block by block, following torchvision's
// ResNet.__init__ and _make_layer.
func (a Arch) Net() (Net, error) {
	if err := a.Validate(); err != nil {
		return Net{}, err
	}
	n := Net{Arch: a}
	n.Stem = Conv{Name: "conv1", BN: "bn1", Cin: 3, Cout: a.BaseChannels, Kernel: 7, Stride: 2, Pad: 3, Groups: 1}
	inplanes := a.BaseChannels
	exp := a.Expansion()
	for li, blocks := range a.Layers {
		planes := a.BaseChannels << li
		stride := 1
		if li > 0 {
			stride = 2
		}
		layer := Layer{Name: fmt.Sprintf("layer%d", li+1)}
		for bi := 0; bi < blocks; bi++ {
			s := 1
			if bi == 0 {
				s = stride
			}
			name := fmt.Sprintf("%s.%d", layer.Name, bi)
			b := Block{Name: name, Cin: inplanes, Cout: planes * exp, Stride: s}
			conv := func(i, cin, cout, k, stride, groups int) Conv {
				return Conv{Name: fmt.Sprintf("%s.conv%d", name, i), BN: fmt.Sprintf("%s.bn%d", name, i),
					Cin: cin, Cout: cout, Kernel: k, Stride: stride, Pad: k / 2, Groups: groups}
			}
			if a.Block == Basic {
				b.Convs = []Conv{conv(1, inplanes, planes, 3, s, 1), conv(2, planes, planes, 3, 1, 1)}
			} else {
				width := int(float64(planes)*(float64(a.WidthPerGroup)/64.0)) * a.Groups
				s1, s2 := 1, s
				if a.Variant == V1 {
					s1, s2 = s, 1
				}
				b.Convs = []Conv{
					conv(1, inplanes, width, 1, s1, 1),
					conv(2, width, width, 3, s2, a.Groups),
					conv(3, width, planes*exp, 1, 1, 1),
				}
			}
			if bi == 0 && (s != 1 || inplanes != planes*exp) {
				b.Downsample = &Conv{Name: name + ".downsample.0", BN: name + ".downsample.1",
					Cin: inplanes, Cout: planes * exp, Kernel: 1, Stride: s, Pad: 0, Groups: 1}
			}
			layer.Blocks = append(layer.Blocks, b)
			inplanes = planes * exp
		}
		n.Layers = append(n.Layers, layer)
	}
	n.FC = Linear{Name: "fc", In: inplanes, Out: a.NumClasses}
	return n, nil
}

// Convs lists every convolution in forward order: the stem, then each block's
// main-branch convs followed by its downsample conv.
func (n Net) Convs() []Conv {
	cs := []Conv{n.Stem}
	for _, l := range n.Layers {
		for _, b := range l.Blocks {
			cs = append(cs, b.Convs...)
			if b.Downsample != nil {
				cs = append(cs, *b.Downsample)
			}
		}
	}
	return cs
}

// TensorSpec names one tensor of a state dict and its shape.
type TensorSpec struct {
	Name  string
	Shape []int
}

// FoldedTensors lists the tensors of a folded (BatchNorm merged) network:
// every conv's weight and bias, then fc.weight and fc.bias.
func (n Net) FoldedTensors() []TensorSpec {
	var ts []TensorSpec
	for _, c := range n.Convs() {
		ts = append(ts, TensorSpec{c.Name + ".weight", c.WeightShape()}, TensorSpec{c.Name + ".bias", []int{c.Cout}})
	}
	return append(ts, TensorSpec{n.FC.Name + ".weight", []int{n.FC.Out, n.FC.In}}, TensorSpec{n.FC.Name + ".bias", []int{n.FC.Out}})
}

// StateDictTensors lists the float tensors of torchvision's state dict for
// this network (num_batches_tracked excluded): conv weights (and biases when
// Arch.ConvBias), BatchNorm weight, bias, running_mean, running_var, and fc.
func (n Net) StateDictTensors() []TensorSpec {
	var ts []TensorSpec
	for _, c := range n.Convs() {
		ts = append(ts, TensorSpec{c.Name + ".weight", c.WeightShape()})
		if n.Arch.ConvBias {
			ts = append(ts, TensorSpec{c.Name + ".bias", []int{c.Cout}})
		}
		for _, p := range []string{"weight", "bias", "running_mean", "running_var"} {
			ts = append(ts, TensorSpec{c.BN + "." + p, []int{c.Cout}})
		}
	}
	return append(ts, TensorSpec{n.FC.Name + ".weight", []int{n.FC.Out, n.FC.In}}, TensorSpec{n.FC.Name + ".bias", []int{n.FC.Out}})
}
