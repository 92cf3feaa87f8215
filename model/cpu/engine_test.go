package cpu

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/residual-webgpu/residual/model"
)

// tinyArchs cover both block types, both stride placements, grouped convs
// and projection shortcuts, at widths that run in milliseconds.
var tinyArchs = []model.Arch{
	{Name: "tiny-basic", Block: model.Basic, Layers: [4]int{1, 2, 1, 1}, Groups: 1, WidthPerGroup: 64, NumClasses: 10, Variant: model.V15, BaseChannels: 4},
	{Name: "tiny-bottleneck-v15-g2", Block: model.Bottleneck, Layers: [4]int{2, 1, 1, 2}, Groups: 2, WidthPerGroup: 32, NumClasses: 7, Variant: model.V15, BaseChannels: 8},
	{Name: "tiny-bottleneck-v1", Block: model.Bottleneck, Layers: [4]int{1, 1, 2, 1}, Groups: 1, WidthPerGroup: 64, NumClasses: 12, Variant: model.V1, BaseChannels: 6},
	{Name: "tiny-resnext-v1-g2", Block: model.Bottleneck, Layers: [4]int{1, 1, 1, 1}, Groups: 2, WidthPerGroup: 64, NumClasses: 5, Variant: model.V1, BaseChannels: 5},
}

func TestRunMatchesNaiveForward(t *testing.T) {
	for ai, a := range tinyArchs {
		sizes := [][2]int{{32, 32}, {37, 41}}
		if ai == 0 {
			sizes = append(sizes, [2]int{1, 1}, [2]int{5, 64})
		}
		for _, size := range sizes {
			for _, i8 := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%dx%d/i8=%v", a.Name, size[0], size[1], i8), func(t *testing.T) {
					m := randModel(t, a, uint64(ai), i8)
					e, err := New(m)
					if err != nil {
						t.Fatal(err)
					}
					x := randTensor(rand.New(rand.NewPCG(uint64(ai), 99)), 2, 3, size[0], size[1])
					res, err := e.Run(context.Background(), x, model.RunOptions{TopK: 3})
					if err != nil {
						t.Fatal(err)
					}
					want := naiveForward(m, x)
					got := model.NewTensor(want.Shape...)
					if len(res.Logits) != 2 {
						t.Fatalf("%d logit rows, want 2", len(res.Logits))
					}
					for i, row := range res.Logits {
						if len(row) != a.NumClasses {
							t.Fatalf("row %d has %d logits, want %d", i, len(row), a.NumClasses)
						}
						copy(got.Data[i*a.NumClasses:], row)
					}
					if e := maxRelErr(t, got, want); e > 1e-4 {
						t.Errorf("logits max relative error %g", e)
					}
					// The logits must not be degenerate, or the comparison
					// above proves little.
					if spread(want.Data) < 1e-3 {
						t.Errorf("naive logits nearly constant: %v", want.Data)
					}
				})
			}
		}
	}
}

func spread(v []float32) float32 {
	lo, hi := v[0], v[0]
	for _, x := range v {
		lo, hi = min(lo, x), max(hi, x)
	}
	return hi - lo
}

// A quantized model gives bit for bit what its dequantized float32 twin
// gives, and a batch gives bit for bit what its images give one by one.
func TestRunInt8EqualsDequantizedAndBatchEqualsSingles(t *testing.T) {
	a := tinyArchs[1]
	m := randModel(t, a, 42, true)
	eq, err := New(m)
	if err != nil {
		t.Fatal(err)
	}
	ef, err := New(dequantized(m))
	if err != nil {
		t.Fatal(err)
	}
	x := randTensor(rand.New(rand.NewPCG(5, 5)), 3, 3, 33, 35)
	rq, err := eq.Run(context.Background(), x, model.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rf, err := ef.Run(context.Background(), x, model.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n := 3 * 33 * 35
	for i := range rq.Logits {
		for j := range rq.Logits[i] {
			if rq.Logits[i][j] != rf.Logits[i][j] {
				t.Fatalf("image %d logit %d: int8 %g, float32 %g", i, j, rq.Logits[i][j], rf.Logits[i][j])
			}
		}
		one := &model.Tensor{Shape: []int{1, 3, 33, 35}, Data: x.Data[i*n : (i+1)*n]}
		r1, err := eq.Run(context.Background(), one, model.RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for j := range r1.Logits[0] {
			if r1.Logits[0][j] != rq.Logits[i][j] {
				t.Fatalf("image %d logit %d: alone %g, in batch %g", i, j, r1.Logits[0][j], rq.Logits[i][j])
			}
		}
	}
}

func TestRunStagesAndPredictions(t *testing.T) {
	a := tinyArchs[2]
	m := randModel(t, a, 7, true)
	e, err := New(m)
	if err != nil {
		t.Fatal(err)
	}
	x := randTensor(rand.New(rand.NewPCG(1, 1)), 2, 3, 40, 30)
	want, err := m.Net.Stages(2, 40, 30)
	if err != nil {
		t.Fatal(err)
	}
	for _, inspect := range []bool{false, true} {
		res, err := e.Run(context.Background(), x, model.RunOptions{TopK: 4, Inspect: inspect, Profile: true})
		if err != nil {
			t.Fatal(err)
		}
		if res.Engine != EngineName {
			t.Errorf("engine %q", res.Engine)
		}
		if len(res.Stages) != len(want) {
			t.Fatalf("%d stages, want %d", len(res.Stages), len(want))
		}
		var total float64
		for i, s := range res.Stages {
			if fmt.Sprint(s.Stage) != fmt.Sprint(want[i]) {
				t.Errorf("stage %d is %v, want %v", i, s.Stage, want[i])
			}
			if s.Ms < 0 || (inspect != (s.Heatmap != nil)) {
				t.Errorf("stage %s: ms %g, heatmap %v with inspect %v", s.Name, s.Ms, s.Heatmap != nil, inspect)
			}
			if len(s.Blocks) != len(want[i].Blocks) {
				t.Errorf("stage %s: %d block results, want %d", s.Name, len(s.Blocks), len(want[i].Blocks))
			}
			var sum float64
			for _, b := range s.Blocks {
				sum += b.Ms
				if b.Ms < 0 || (inspect != (b.Heatmap != nil)) {
					t.Errorf("block %s: ms %g, heatmap %v with inspect %v", b.Name, b.Ms, b.Heatmap != nil, inspect)
				}
			}
			if s.Kind == model.KindLayer && s.Ms != sum {
				t.Errorf("layer %s: %g ms but its blocks sum to %g", s.Name, s.Ms, sum)
			}
			total += s.Ms
		}
		if total <= 0 {
			t.Errorf("no time measured")
		}
		if inspect {
			for _, s := range res.Stages {
				h := s.Heatmap
				if h.W < 1 || h.H < 1 || h.W > model.HeatmapSize || h.H > model.HeatmapSize || len(h.Values) != h.W*h.H {
					t.Errorf("stage %s: heatmap %dx%d with %d values", s.Name, h.W, h.H, len(h.Values))
				}
			}
		}
		if len(res.Top) != 2 {
			t.Fatalf("%d top rows", len(res.Top))
		}
		for i, top := range res.Top {
			if len(top) != 4 {
				t.Fatalf("image %d: %d predictions, want 4", i, len(top))
			}
			best := 0
			for j, v := range res.Logits[i] {
				if v > res.Logits[i][best] {
					best = j
				}
			}
			if top[0].Index != best || top[0].Label != m.Meta.Labels[best] {
				t.Errorf("image %d: top %+v, want class %d %q", i, top[0], best, m.Meta.Labels[best])
			}
			for j := 1; j < len(top); j++ {
				if top[j].Prob > top[j-1].Prob {
					t.Errorf("image %d: predictions not sorted: %+v", i, top)
				}
			}
		}
	}
	res, err := e.Run(context.Background(), x, model.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Top[0]) != model.DefaultTopK {
		t.Errorf("default top-k gave %d predictions", len(res.Top[0]))
	}
}

func TestNewRejectsBrokenModels(t *testing.T) {
	a := tinyArchs[0]
	breakers := []struct {
		name string
		f    func(t *testing.T) error
	}{
		{"missing conv weight", func(t *testing.T) error {
			m := randModel(t, a, 1, true)
			delete(m.Tensors, "layer2.0.conv1.weight")
			_, err := New(m)
			return err
		}},
		{"missing downsample bias", func(t *testing.T) error {
			m := randModel(t, a, 1, false)
			delete(m.Tensors, "layer3.0.downsample.0.bias")
			_, err := New(m)
			return err
		}},
		{"wrong fc shape", func(t *testing.T) error {
			m := randModel(t, a, 1, false)
			m.Tensors["fc.weight"] = randWeight(rand.New(rand.NewPCG(1, 1)), "fc.weight", false, 10, 7)
			_, err := New(m)
			return err
		}},
		{"scales missing", func(t *testing.T) error {
			m := randModel(t, a, 1, true)
			m.Tensors["conv1.weight"].Scale = nil
			_, err := New(m)
			return err
		}},
		{"no net", func(t *testing.T) error {
			m := randModel(t, a, 1, true)
			m.Net = model.Net{}
			_, err := New(m)
			return err
		}},
		{"nil", func(t *testing.T) error { _, err := New(nil); return err }},
	}
	for _, b := range breakers {
		if err := b.f(t); err == nil {
			t.Errorf("%s: no error", b.name)
		}
	}
}

func TestRunRejectsBadInput(t *testing.T) {
	e, err := New(randModel(t, tinyArchs[0], 1, true))
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(2, 2))
	for name, x := range map[string]*model.Tensor{
		"nil":           nil,
		"one channel":   randTensor(r, 1, 1, 32, 32),
		"three dims":    randTensor(r, 3, 32, 32),
		"short data":    {Shape: []int{1, 3, 32, 32}, Data: make([]float32, 100)},
		"zero batch":    {Shape: []int{0, 3, 32, 32}},
		"negative size": {Shape: []int{1, 3, -4, 32}},
	} {
		if _, err := e.Run(context.Background(), x, model.RunOptions{}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestRunTrace(t *testing.T) {
	a := tinyArchs[0]
	m := randModel(t, a, 3, false)
	e, err := New(m)
	if err != nil {
		t.Fatal(err)
	}
	x := randTensor(rand.New(rand.NewPCG(4, 4)), 2, 3, 29, 31)
	var names []string
	got := map[string]*model.Tensor{}
	res, err := e.Trace(context.Background(), x, model.RunOptions{}, func(s string, y *model.Tensor) {
		names = append(names, s)
		got[s] = y
	})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, s := range res.Stages {
		for _, b := range s.Blocks {
			want = append(want, b.Name)
		}
		want = append(want, s.Name)
	}
	if fmt.Sprint(names) != fmt.Sprint(want) {
		t.Fatalf("traced %v, want %v", names, want)
	}
	for _, s := range res.Stages {
		if !slices.Equal(got[s.Name].Shape, s.Shape) {
			t.Errorf("%s traced shape %v, want %v", s.Name, got[s.Name].Shape, s.Shape)
		}
	}
	if got["input"] != x {
		t.Errorf("input stage is not the input")
	}
	// conv1 is before the ReLU, bn1+relu after it, maxpool of that.
	neg := 0
	for i, v := range got["conv1"].Data {
		if v < 0 {
			neg++
		}
		if r := got["bn1+relu"].Data[i]; r != max(v, 0) {
			t.Fatalf("bn1+relu[%d] = %g for conv1 %g", i, r, v)
		}
	}
	if neg == 0 {
		t.Errorf("conv1 output has no negative values: traced after the ReLU?")
	}
	if e := maxRelErr(t, got["maxpool"], naiveMaxPool(got["bn1+relu"])); e != 0 {
		t.Errorf("maxpool differs from naive by %g", e)
	}
	w, b := m.Weight("conv1")
	if e := maxRelErr(t, got["conv1"], naiveConv(x, w, b, m.Net.Stem, nil, false)); e > 1e-5 {
		t.Errorf("conv1 differs from naive by %g", e)
	}
	for i, row := range res.Logits {
		for j, v := range row {
			if got["fc"].Data[i*len(row)+j] != v {
				t.Fatalf("fc trace differs from logits")
			}
		}
	}
}

// A full-width torchvision architecture (32 groups, 1000 classes) on a
// small input, so that the real channel counts and tile shapes are covered.
func TestRunResNeXt50MatchesNaive(t *testing.T) {
	a, err := model.ByName("resnext50_32x4d")
	if err != nil {
		t.Fatal(err)
	}
	m := randModel(t, a, 11, true)
	e, err := New(m)
	if err != nil {
		t.Fatal(err)
	}
	x := randTensor(rand.New(rand.NewPCG(6, 6)), 1, 3, 32, 40)
	res, err := e.Run(context.Background(), x, model.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := naiveForward(m, x)
	got := &model.Tensor{Shape: want.Shape, Data: res.Logits[0]}
	if e := maxRelErr(t, got, want); e > 1e-4 {
		t.Errorf("logits max relative error %g", e)
	}
	if spread(want.Data) < 1e-3 {
		t.Errorf("naive logits nearly constant")
	}
}
