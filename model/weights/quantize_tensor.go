package weights

import "fmt"

// QuantizeInt8 quantizes one F32 conv or fc weight (its first dimension
// is the output channels) exactly as Quantize does for Int8: symmetric,
// one scale per output channel. It lets a generator quantize a network
// layer by layer instead of holding all of it in float32 first.
func QuantizeInt8(w *Tensor) (*Tensor, error) {
	switch {
	case w == nil:
		return nil, fmt.Errorf("quantize int8: nil tensor")
	case w.F32 == nil || w.I8 != nil:
		return nil, fmt.Errorf("quantize int8: tensor %s is not F32", w.Name)
	case len(w.Shape) == 0 || w.Shape[0] < 1:
		return nil, fmt.Errorf("quantize int8: tensor %s has shape %v, want output channels first", w.Name, w.Shape)
	case w.Len() != len(w.F32):
		return nil, fmt.Errorf("quantize int8: tensor %s has %d values for shape %v", w.Name, len(w.F32), w.Shape)
	}
	return quantizeInt8(w), nil
}
