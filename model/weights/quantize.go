package weights

import (
	"fmt"
	"math"
	"slices"
)

// Quantize converts a model to scheme s and returns the new model (m is
// unchanged). To Int8 (from an F32 model): every conv and fc weight
// becomes symmetric per-output-channel int8 with scale = max|w|/127 over
// the channel (a channel of zeros gets scale 1) and q = w/scale rounded
// half away from zero, clamped to [−127, 127], so |w − q·scale| ≤ scale/2.
// To F32 (from any scheme): weights are dequantized. Biases stay F32.
func Quantize(m *Model, s Scheme) (*Model, error) {
	out, err := quantize(m, s)
	if err != nil {
		return nil, fmt.Errorf("quantize to %s: %w", s, err)
	}
	return out, nil
}

func quantize(m *Model, s Scheme) (*Model, error) {
	if m == nil {
		return nil, fmt.Errorf("nil model")
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	// Validating first means every lookup below finds a well-formed tensor.
	src, err := build(m.Meta, m.Tensors)
	if err != nil {
		return nil, err
	}
	if s == Int8 && src.Meta.Scheme != F32 {
		return nil, fmt.Errorf("source model has scheme %s, want %s", src.Meta.Scheme, F32)
	}
	meta := src.Meta
	meta.Scheme = s
	tensors := map[string]*Tensor{}
	for _, l := range layers(src.Net) {
		w, b := src.Weight(l.prefix)
		if s == Int8 {
			tensors[w.Name] = quantizeInt8(w)
		} else {
			tensors[w.Name] = &Tensor{Name: w.Name, Shape: slices.Clone(w.Shape), F32: slices.Clone(w.Float())}
		}
		tensors[b.Name] = &Tensor{Name: b.Name, Shape: slices.Clone(b.Shape), F32: slices.Clone(b.F32)}
	}
	return build(meta, tensors)
}

// quantizeInt8 quantizes an F32 weight symmetrically per output channel.
func quantizeInt8(w *Tensor) *Tensor {
	cout := w.Shape[0]
	per := len(w.F32) / cout
	q := &Tensor{Name: w.Name, Shape: slices.Clone(w.Shape), I8: make([]int8, len(w.F32)), Scale: make([]float32, cout)}
	for c := range cout {
		ch := w.F32[c*per : (c+1)*per]
		maxAbs := 0.0
		for _, v := range ch {
			maxAbs = math.Max(maxAbs, math.Abs(float64(v)))
		}
		scale := float32(maxAbs / 127)
		switch {
		case maxAbs == 0:
			scale = 1
		case scale == 0:
			// max|w| is so small that max|w|/127 underflows float32: the
			// smallest positive scale still keeps |q| well under 127.
			scale = math.SmallestNonzeroFloat32
		}
		q.Scale[c] = scale
		for i, v := range ch {
			// Divide by the stored float32 scale so the error bound holds
			// for the value a reader reconstructs.
			r := math.Round(float64(v) / float64(scale))
			q.I8[c*per+i] = int8(max(-127, min(127, r)))
		}
	}
	return q
}
