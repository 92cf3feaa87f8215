package weights

import (
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/residual-webgpu/residual/model"
)

// layer is one conv or linear layer of a network as a weight file holds it.
type layer struct {
	prefix string // e.g. "layer1.0.conv1", "fc"
	wshape []int  // weight shape; its first dimension is the output channels
}

func (l layer) cout() int { return l.wshape[0] }

// layers lists the network's convs (forward order) then fc.
func layers(net model.Net) []layer {
	var ls []layer
	for _, c := range net.Convs() {
		ls = append(ls, layer{c.Name, c.WeightShape()})
	}
	return append(ls, layer{net.FC.Name, []int{net.FC.Out, net.FC.In}})
}

// New builds a model in memory from metadata and tensors keyed by name
// (Tensor.Name may be empty; it is set from the key). It checks the same
// things Decode checks: the metadata (a zero FormatVersion means the
// current one), that the tensors are exactly Net.FoldedTensors() with the
// right shapes, the storage the scheme asks for (int8: I8 weights with one
// Scale per output channel, F32 biases; f32: all F32), finite values and
// positive scales. The model shares the tensors' data slices.
func New(meta Metadata, tensors map[string]*Tensor) (*Model, error) {
	if meta.FormatVersion == 0 {
		meta.FormatVersion = FormatVersion
	}
	m, err := build(meta, tensors)
	if err != nil {
		return nil, fmt.Errorf("weights: new %s: %w", meta.Arch.Name, err)
	}
	return m, nil
}

func build(meta Metadata, tensors map[string]*Tensor) (*Model, error) {
	net, err := meta.net()
	if err != nil {
		return nil, err
	}
	out := make(map[string]*Tensor, len(tensors))
	take := func(name string, shape []int, quantized bool) error {
		t := tensors[name]
		if t == nil {
			return fmt.Errorf("tensor %s: missing", name)
		}
		if t.Name != "" && t.Name != name {
			return fmt.Errorf("tensor %s: named %q", name, t.Name)
		}
		if !slices.Equal(t.Shape, shape) {
			return fmt.Errorf("tensor %s: shape %v, want %v", name, t.Shape, shape)
		}
		c := &Tensor{Name: name, Shape: slices.Clone(shape), F32: t.F32, I8: t.I8, Scale: t.Scale}
		n := product(shape)
		if quantized {
			if c.I8 == nil || c.F32 != nil {
				return fmt.Errorf("tensor %s: want I8 values only for scheme %s", name, meta.Scheme)
			}
			if len(c.I8) != n {
				return fmt.Errorf("tensor %s: %d values, shape %v needs %d", name, len(c.I8), shape, n)
			}
			if len(c.Scale) != shape[0] {
				return fmt.Errorf("tensor %s%s: %d scales, want %d (one per output channel)", name, ScaleSuffix, len(c.Scale), shape[0])
			}
		} else {
			if c.I8 != nil || c.Scale != nil {
				return fmt.Errorf("tensor %s: want F32 values only for scheme %s", name, meta.Scheme)
			}
			if len(c.F32) != n {
				return fmt.Errorf("tensor %s: %d values, shape %v needs %d", name, len(c.F32), shape, n)
			}
		}
		if err := checkValues(c); err != nil {
			return err
		}
		out[name] = c
		return nil
	}
	for _, l := range layers(net) {
		if err := take(l.prefix+".weight", l.wshape, meta.Scheme == Int8); err != nil {
			return nil, err
		}
		if err := take(l.prefix+".bias", []int{l.cout()}, false); err != nil {
			return nil, err
		}
	}
	if err := noExtra(tensors, out, meta); err != nil {
		return nil, err
	}
	meta.Labels = slices.Clone(meta.Labels)
	return &Model{Meta: meta, Net: net, Tensors: out}, nil
}

// noExtra fails on the first name (sorted) in have that the network does
// not expect.
func noExtra[T any](have map[string]T, want map[string]*Tensor, meta Metadata) error {
	var extra []string
	for name := range have {
		if want[name] == nil {
			extra = append(extra, name)
		}
	}
	if len(extra) == 0 {
		return nil
	}
	sort.Strings(extra)
	return fmt.Errorf("tensor %q: not a tensor of %s with scheme %s (%d unexpected tensors)", extra[0], meta.Arch.Name, meta.Scheme, len(extra))
}

// checkValues rejects NaN and infinite values and scales that are not
// positive: any of them would poison every prediction.
func checkValues(t *Tensor) error {
	for i, v := range t.F32 {
		if !finite(v) {
			return fmt.Errorf("tensor %s: value %d is %v", t.Name, i, v)
		}
	}
	for i, s := range t.Scale {
		if !finite(s) || s <= 0 {
			return fmt.Errorf("tensor %s%s: scale %d is %v, want positive and finite", t.Name, ScaleSuffix, i, s)
		}
	}
	return nil
}

// product multiplies the dimensions of a shape that a validated
// architecture produced; it saturates instead of overflowing so a length
// comparison against it simply fails.
func product(shape []int) int {
	n := 1
	for _, d := range shape {
		if d != 0 && n > math.MaxInt/d {
			return math.MaxInt
		}
		n *= d
	}
	return n
}
