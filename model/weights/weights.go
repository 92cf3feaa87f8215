// Package weights is Residual's weight file: a safetensors container whose
// tensors are a folded (BatchNorm merged into each conv) ResNet under
// torchvision's state-dict names, and whose __metadata__ says everything
// needed to run it: architecture, preprocessing, quantization and labels.
package weights

import (
	"fmt"
	"io"
	"unsafe"

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

// Tensor is one stored weight. Exactly one of F32 and I8 is set, except
// for an int8 weight that DecodeAt left in its file, which has neither
// (read it with Int8). An int8 tensor has one Scale per output channel
// (its first dimension), and its real value is I8[i] * Scale[channel of i].
type Tensor struct {
	Name  string
	Shape []int
	F32   []float32
	I8    []int8
	Scale []float32

	at *stored // where an int8 weight's bytes are when I8 is nil
}

// stored is an int8 weight's place in the file DecodeAt read.
type stored struct {
	r   io.ReaderAt
	off int64
	n   int
}

// Quantized reports whether the tensor's values are int8 (held in I8 or
// left in the file).
func (t *Tensor) Quantized() bool { return t.I8 != nil || t.at != nil }

// Int8 returns an int8 tensor's values, one per element of its shape:
// I8, or for a weight DecodeAt left in its file, its bytes read from
// there into a new slice (an engine packs it and drops it). A float32
// tensor gives nil.
func (t *Tensor) Int8() ([]int8, error) { return t.Int8Into(nil) }

// Int8Into is Int8 for an engine that packs one layer after another: a
// weight left in its file is read into buf, grown when too small, not
// into a new slice, so that packing a model allocates its largest
// layer's bytes once rather than every layer's (a browser's Go heap never
// shrinks). The result is I8 itself or aliases buf: use it before the
// next call.
func (t *Tensor) Int8Into(buf []int8) ([]int8, error) { return t.Int8Range(buf, 0, t.Len()) }

// Int8Range is values [from, from+n) of an int8 tensor (in element
// order): a slice of I8, or for a weight left in its file those bytes
// read into buf (grown when too small), so that an engine can pack a
// layer a few rows at a time through one small buffer. A float32 tensor
// gives nil.
func (t *Tensor) Int8Range(buf []int8, from, n int) ([]int8, error) {
	if !t.Quantized() {
		return nil, nil
	}
	stored := len(t.I8)
	if t.I8 == nil {
		stored = t.at.n
	}
	if stored != t.Len() {
		return nil, fmt.Errorf("tensor %s: %d int8 values for shape %v", t.Name, stored, t.Shape)
	}
	if from < 0 || n < 0 || from+n > stored {
		return nil, fmt.Errorf("tensor %s: values %d to %d of %d", t.Name, from, from+n, stored)
	}
	if t.I8 != nil {
		return t.I8[from : from+n : from+n], nil
	}
	if cap(buf) < n {
		buf = make([]int8, n)
	}
	q := buf[:n]
	if _, err := t.at.r.ReadAt(bytesOf(q), t.at.off+int64(from)); err != nil {
		return nil, fmt.Errorf("tensor %s: read %d bytes at %d: %w", t.Name, n, t.at.off+int64(from), err)
	}
	return q, nil
}

// bytesOf views int8s as bytes (no copy).
func bytesOf(q []int8) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(q))), len(q))
}

// int8s views bytes as int8s (no copy), capacity clipped so that an
// append cannot write past them.
func int8s(b []byte) []int8 {
	return unsafe.Slice((*int8)(unsafe.Pointer(unsafe.SliceData(b))), len(b))[:len(b):len(b)]
}

// Len is the number of elements the shape holds.
func (t *Tensor) Len() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Float returns the tensor's real values as float32 (dequantizing an
// int8 tensor), in a new slice for int8 and the stored slice for F32. An
// int8 weight left in a file that cannot be read gives nil.
func (t *Tensor) Float() []float32 {
	if !t.Quantized() {
		return t.F32
	}
	q, err := t.Int8()
	if err != nil {
		return nil
	}
	out := make([]float32, len(q))
	per := len(q) / len(t.Scale)
	for i, q := range q {
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

// Held returns m with every int8 weight in memory: m itself when DecodeAt
// left none in the file, else a copy whose weights were read from it, for
// an engine that reads them on every run (the Go CPU engine).
func (m *Model) Held() (*Model, error) {
	out := *m
	out.Tensors = make(map[string]*Tensor, len(m.Tensors))
	read := false
	for name, t := range m.Tensors {
		if t.I8 == nil && t.at != nil {
			q, err := t.Int8()
			if err != nil {
				return nil, err
			}
			c := *t
			c.I8, c.at = q, nil
			t, read = &c, true
		}
		out.Tensors[name] = t
	}
	if !read {
		return m, nil
	}
	return &out, nil
}
