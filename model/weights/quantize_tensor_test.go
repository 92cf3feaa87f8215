package weights

import (
	"slices"
	"testing"
)

// QuantizeInt8 is Quantize's per-layer rule, and refuses what is not an
// F32 weight.
func TestQuantizeInt8Tensor(t *testing.T) {
	w := &Tensor{Name: "fc.weight", Shape: []int{2, 3}, F32: []float32{0.5, -1, 0.25, 0, 0, 0}}
	q, err := QuantizeInt8(w)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(q.I8, []int8{64, -127, 32, 0, 0, 0}) || q.Scale[0] != float32(1.0/127) || q.Scale[1] != 1 || q.F32 != nil {
		t.Errorf("got %v scales %v", q.I8, q.Scale)
	}
	for _, bad := range []*Tensor{nil, {Name: "a", Shape: []int{2}, I8: []int8{1, 2}}, {Name: "b", Shape: nil, F32: []float32{1}},
		{Name: "c", Shape: []int{2, 2}, F32: []float32{1}}, {Name: "d", Shape: []int{0}, F32: []float32{}}} {
		if _, err := QuantizeInt8(bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
