// Package weights is Residual's weight file: a safetensors container whose
// tensors are a folded (BatchNorm merged into each conv) ResNet under
// torchvision's state-dict names, and whose __metadata__ says everything
// needed to run it: architecture, preprocessing, quantization and labels.
package weights

import (
	"github.com/residual-webgpu/residual/model"
)

// FormatVersion is the version of the weight file layout this package writes.
const FormatVersion = 1

// Scheme is how conv and fc weights are stored.
type Scheme string

// Storage schemes. Biases are always F32.
const (
	// F32 stores every weight as float32: the reference.
	F32 Scheme = "f32"
	// Int8 stores each conv/fc weight as I8, symmetric, one F32 scale per
	// output channel in a tensor named <weight name>+ScaleSuffix.
	Int8 Scheme = "int8"
	// Int4 is reserved for group-wise 4-bit weights (scale tensor
	// [Cout, groups]); no reader or writer yet.
	Int4 Scheme = "int4"
)

// ScaleSuffix names the scale tensor beside a quantized weight:
// "layer1.0.conv1.weight" → "layer1.0.conv1.weight_scale".
const ScaleSuffix = "_scale"

// Preprocess says how to turn an RGB image into the network's input.
// A pixel p in [0,255] of channel c (channels in ChannelOrder) becomes
// (p/255*InputScale - Mean[c]) / Std[c].
type Preprocess struct {
	Resize       int        `json:"resize"`        // shorter side resized to this (antialiased bilinear)
	Crop         int        `json:"crop"`          // then centre-cropped to Crop×Crop
	ChannelOrder string     `json:"channel_order"` // "RGB" (torchvision) or "BGR" (Caffe)
	InputScale   float32    `json:"input_scale"`   // 1 (torchvision) or 255 (Caffe)
	Mean         [3]float32 `json:"mean"`          // in ChannelOrder
	Std          [3]float32 `json:"std"`           // in ChannelOrder
}

// TorchvisionPreprocess is the ImageNet preprocessing of torchvision's weights.
var TorchvisionPreprocess = Preprocess{Resize: 256, Crop: 224, ChannelOrder: "RGB", InputScale: 1,
	Mean: [3]float32{0.485, 0.456, 0.406}, Std: [3]float32{0.229, 0.224, 0.225}}

// CaffePreprocess is the preprocessing of the original Caffe ResNet-50 and
// its Keras port: BGR, 0–255, mean subtracted, no std.
var CaffePreprocess = Preprocess{Resize: 256, Crop: 224, ChannelOrder: "BGR", InputScale: 255,
	Mean: [3]float32{103.939, 116.779, 123.68}, Std: [3]float32{1, 1, 1}}

// Metadata is what a weight file's __metadata__ carries.
type Metadata struct {
	FormatVersion int        `json:"format_version"`
	Arch          model.Arch `json:"arch"`
	Preprocess    Preprocess `json:"preprocess"`
	Scheme        Scheme     `json:"scheme"`
	Labels        []string   `json:"labels"`
	Source        string     `json:"source"`        // what it was converted from, for people
	SourceSHA256  string     `json:"source_sha256"` // sha256 of the source checkpoint file(s)
}

// Tensor is one stored weight. Exactly one of F32 and I8 is set; an I8
// tensor has one Scale per output channel (its first dimension), and its
// real value is I8[i] * Scale[channel of i].
type Tensor struct {
	Name  string
	Shape []int
	F32   []float32
	I8    []int8
	Scale []float32
}

// Len is the number of elements the shape holds.
func (t *Tensor) Len() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Float returns the tensor's real values as float32 (dequantizing an I8
// tensor), in a new slice for I8 and the stored slice for F32.
func (t *Tensor) Float() []float32 {
	if t.I8 == nil {
		return t.F32
	}
	out := make([]float32, len(t.I8))
	per := len(t.I8) / len(t.Scale)
	for i, q := range t.I8 {
		out[i] = float32(q) * t.Scale[i/per]
	}
	return out
}

// Model is a loaded weight file: its metadata, the network layout its
// architecture implies, and the tensors by name (scale tensors are folded
// into their weight's Tensor.Scale, not listed separately).
type Model struct {
	Meta    Metadata
	Net     model.Net
	Tensors map[string]*Tensor
}

// Weight returns the weight and bias of the conv or linear layer with the
// given state-dict prefix (e.g. "layer1.0.conv1", "fc"). Both exist in any
// model that Load or New accepted.
func (m *Model) Weight(prefix string) (w, b *Tensor) {
	return m.Tensors[prefix+".weight"], m.Tensors[prefix+".bias"]
}
