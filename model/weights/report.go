package weights

import (
	"fmt"
	"math"
	"slices"
)

// LayerReport compares one conv or fc layer of a converted model against
// its reference: what it costs to store and how far its weights moved.
type LayerReport struct {
	Name       string  // state-dict prefix, e.g. "layer1.0.conv1", "fc"
	Params     int     // weight and bias elements
	Bytes      int     // bytes the converted model stores for the layer: weight, scales, bias
	MaxAbsErr  float64 // max |w − w_ref| over the (dequantized) weight
	MeanAbsErr float64 // mean |w − w_ref| over the weight
}

// Report compares every conv and fc weight of q (dequantized) with ref,
// layer by layer in forward order. Both must be valid models of the same
// network layout.
func Report(ref, q *Model) ([]LayerReport, error) {
	if ref == nil || q == nil {
		return nil, fmt.Errorf("report: nil model")
	}
	r, err := build(ref.Meta, ref.Tensors)
	if err != nil {
		return nil, fmt.Errorf("report: reference: %w", err)
	}
	c, err := build(q.Meta, q.Tensors)
	if err != nil {
		return nil, fmt.Errorf("report: converted: %w", err)
	}
	lr, lc := layers(r.Net), layers(c.Net)
	if !slices.EqualFunc(lr, lc, func(a, b layer) bool { return a.prefix == b.prefix && slices.Equal(a.wshape, b.wshape) }) {
		return nil, fmt.Errorf("report: %s and %s have different layers", r.Meta.Arch.Name, c.Meta.Arch.Name)
	}
	var out []LayerReport
	for _, l := range lc {
		rw, _ := r.Weight(l.prefix)
		cw, cb := c.Weight(l.prefix)
		want, got := rw.Float(), cw.Float()
		rep := LayerReport{Name: l.prefix, Params: len(got) + len(cb.F32)}
		if cw.I8 != nil {
			rep.Bytes = len(cw.I8) + 4*len(cw.Scale)
		} else {
			rep.Bytes = 4 * len(cw.F32)
		}
		rep.Bytes += 4 * len(cb.F32)
		sum := 0.0
		for i := range got {
			e := math.Abs(float64(got[i]) - float64(want[i]))
			sum += e
			rep.MaxAbsErr = math.Max(rep.MaxAbsErr, e)
		}
		if len(got) > 0 {
			rep.MeanAbsErr = sum / float64(len(got))
		}
		out = append(out, rep)
	}
	return out, nil
}
