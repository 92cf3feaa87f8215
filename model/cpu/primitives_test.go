package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/residual-webgpu/residual/model"
)

// convCases are awkward geometries: odd sizes, channel counts that are not
// multiples of the register block, strides, groups, batches, and sizes past
// the cache blocks (K > blockK, Cout > blockM, H·W > blockN).
var convCases = []struct {
	b, cin, cout, k, stride, pad, groups, h, w int
	residual, relu                             bool
}{
	{3, 5, 7, 3, 1, 1, 1, 9, 11, false, true},
	{2, 6, 10, 3, 2, 1, 2, 13, 8, true, true},
	{3, 7, 9, 1, 2, 0, 1, 13, 15, false, false},
	{1, 9, 6, 1, 1, 0, 1, 7, 5, true, true},
	{2, 3, 8, 7, 2, 3, 1, 37, 41, false, true},
	{1, 8, 12, 3, 1, 1, 4, 6, 7, true, false},
	{1, 40, 70, 3, 1, 1, 1, 17, 19, true, true},
	{2, 300, 5, 1, 1, 0, 1, 3, 3, false, false},
	{1, 4, 4, 3, 2, 1, 1, 1, 1, false, true},
	{1, 3, 5, 7, 2, 3, 1, 3, 2, false, false},
	{3, 64, 64, 3, 2, 1, 32, 10, 9, true, true},
}

func TestConv2DMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i, tc := range convCases {
		for _, i8 := range []bool{false, true} {
			name := fmt.Sprintf("case%d/%dx%d_k%d_s%d_g%d_i8=%v", i, tc.cin, tc.cout, tc.k, tc.stride, tc.groups, i8)
			t.Run(name, func(t *testing.T) {
				c := model.Conv{Name: "c", Cin: tc.cin, Cout: tc.cout, Kernel: tc.k, Stride: tc.stride, Pad: tc.pad, Groups: tc.groups}
				x := randTensor(r, tc.b, tc.cin, tc.h, tc.w)
				w := randWeight(r, "c.weight", i8, c.WeightShape()...)
				b := randBias(r, "c.bias", tc.cout)
				var res *model.Tensor
				if tc.residual {
					res = randTensor(r, tc.b, tc.cout, c.OutSize(tc.h), c.OutSize(tc.w))
				}
				got, err := Conv2D(x, w, b, c, res, tc.relu)
				if err != nil {
					t.Fatal(err)
				}
				want := naiveConv(x, w, b, c, res, tc.relu)
				if e := maxRelErr(t, got, want); e > 1e-5 {
					t.Errorf("max relative error %g", e)
				}
				if tc.relu {
					for _, v := range got.Data {
						if v < 0 {
							t.Fatalf("negative value %g after ReLU", v)
						}
					}
				}
			})
		}
	}
}

// Int8 weights must give exactly what their dequantized float32 gives: the
// GPU engine and the golden tests rely on the two paths agreeing.
func TestConv2DInt8EqualsDequantized(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i, tc := range convCases {
		c := model.Conv{Name: "c", Cin: tc.cin, Cout: tc.cout, Kernel: tc.k, Stride: tc.stride, Pad: tc.pad, Groups: tc.groups}
		x := randTensor(r, tc.b, tc.cin, tc.h, tc.w)
		w := randWeight(r, "c.weight", true, c.WeightShape()...)
		wf := *w
		wf.F32, wf.I8, wf.Scale = w.Float(), nil, nil
		b := randBias(r, "c.bias", tc.cout)
		q, err := Conv2D(x, w, b, c, nil, tc.relu)
		if err != nil {
			t.Fatal(err)
		}
		f, err := Conv2D(x, &wf, b, c, nil, tc.relu)
		if err != nil {
			t.Fatal(err)
		}
		for j := range q.Data {
			if q.Data[j] != f.Data[j] {
				t.Fatalf("case %d: value %d: int8 %g, float32 %g", i, j, q.Data[j], f.Data[j])
			}
		}
	}
}

func TestMaxPoolMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, s := range [][4]int{{2, 3, 9, 11}, {1, 5, 1, 1}, {3, 2, 2, 3}, {1, 4, 112, 112}, {2, 1, 8, 7}} {
		x := randTensor(r, s[0], s[1], s[2], s[3])
		got, err := MaxPool(x)
		if err != nil {
			t.Fatal(err)
		}
		if e := maxRelErr(t, got, naiveMaxPool(x)); e != 0 {
			t.Errorf("%v: max relative error %g, want exact", s, e)
		}
	}
	// All-negative input: the -inf padding must never win (a zero padding would).
	x := model.NewTensor(1, 1, 4, 4)
	for i := range x.Data {
		x.Data[i] = -1 - float32(i)
	}
	got, err := MaxPool(x)
	if err != nil {
		t.Fatal(err)
	}
	if want := []float32{-1, -2, -5, -6}; fmt.Sprint(got.Data) != fmt.Sprint(want) {
		t.Errorf("all-negative maxpool: got %v, want %v", got.Data, want)
	}
	// NaN propagates, as in PyTorch.
	x.Data[5] = float32(math.NaN())
	got, _ = MaxPool(x)
	if !math.IsNaN(float64(got.Data[0])) {
		t.Errorf("NaN in window gave %g", got.Data[0])
	}
}

func TestAvgPoolMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	x := randTensor(r, 3, 5, 7, 9)
	got, err := AvgPool(x)
	if err != nil {
		t.Fatal(err)
	}
	if e := maxRelErr(t, got, naiveAvgPool(x)); e > 1e-7 {
		t.Errorf("max relative error %g", e)
	}
}

func TestLinearMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, s := range [][3]int{{1, 7, 5}, {3, 300, 70}, {2, 2048, 10}, {5, 1, 1}} {
		for _, i8 := range []bool{false, true} {
			x := randTensor(r, s[0], s[1])
			w := randWeight(r, "fc.weight", i8, s[2], s[1])
			b := randBias(r, "fc.bias", s[2])
			got, err := Linear(x, w, b)
			if err != nil {
				t.Fatal(err)
			}
			if e := maxRelErr(t, got, naiveLinear(x, w, b)); e > 1e-5 {
				t.Errorf("%v i8=%v: max relative error %g", s, i8, e)
			}
		}
	}
}

func TestPrimitivesRejectBadInput(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	c := model.Conv{Name: "c", Cin: 4, Cout: 6, Kernel: 3, Stride: 1, Pad: 1, Groups: 2}
	x := randTensor(r, 1, 4, 5, 5)
	w := randWeight(r, "c.weight", true, c.WeightShape()...)
	b := randBias(r, "c.bias", 6)
	bad := []struct {
		name string
		run  func() error
	}{
		{"nil input", func() error { _, err := Conv2D(nil, w, b, c, nil, true); return err }},
		{"wrong channels", func() error { _, err := Conv2D(randTensor(r, 1, 3, 5, 5), w, b, c, nil, true); return err }},
		{"short data", func() error {
			_, err := Conv2D(&model.Tensor{Shape: []int{1, 4, 5, 5}, Data: make([]float32, 10)}, w, b, c, nil, true)
			return err
		}},
		{"wrong weight shape", func() error {
			_, err := Conv2D(x, randWeight(r, "c.weight", false, 6, 4, 3, 3), b, c, nil, true)
			return err
		}},
		{"missing scales", func() error {
			w2 := *w
			w2.Scale = w2.Scale[:2]
			_, err := Conv2D(x, &w2, b, c, nil, true)
			return err
		}},
		{"nil bias", func() error { _, err := Conv2D(x, w, nil, c, nil, true); return err }},
		{"bad groups", func() error {
			c2 := c
			c2.Groups = 3
			_, err := Conv2D(x, w, b, c2, nil, true)
			return err
		}},
		{"residual shape", func() error { _, err := Conv2D(x, w, b, c, randTensor(r, 1, 6, 4, 5), true); return err }},
		{"too small", func() error {
			c2 := c
			c2.Pad = 0
			_, err := Conv2D(randTensor(r, 1, 4, 2, 2), w, b, c2, nil, true)
			return err
		}},
		{"maxpool 3d", func() error { _, err := MaxPool(randTensor(r, 4, 5, 5)); return err }},
		{"avgpool nil", func() error { _, err := AvgPool(nil); return err }},
		{"linear in mismatch", func() error {
			_, err := Linear(randTensor(r, 2, 5), randWeight(r, "w", false, 3, 4), randBias(r, "b", 3))
			return err
		}},
		{"linear 4d", func() error {
			_, err := Linear(randTensor(r, 2, 4, 1, 1), randWeight(r, "w", false, 3, 4), randBias(r, "b", 3))
			return err
		}},
	}
	for _, tc := range bad {
		if err := tc.run(); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}
