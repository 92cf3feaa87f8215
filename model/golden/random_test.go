package golden

import (
	"slices"
	"testing"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/weights"
)

// Random, layer by layer, gives exactly Model's weights, folded and
// quantized as a whole network, for both block types, groups, the v1
// stride and conv biases; and reports every layer.
func TestRandomEqualsModel(t *testing.T) {
	basic, _ := model.ByName("resnet18")
	basic.BaseChannels, basic.NumClasses = 4, 10
	grouped, _ := model.ByName("resnext50_32x4d")
	grouped.Groups, grouped.WidthPerGroup, grouped.BaseChannels, grouped.NumClasses = 2, 64, 8, 7
	v1 := grouped
	v1.Variant, v1.ConvBias, v1.Groups = model.V1, true, 1
	for _, a := range []model.Arch{basic, grouped, v1} {
		for _, s := range []weights.Scheme{weights.F32, weights.Int8} {
			want, err := Model(a, 5, 1e-5, s)
			if err != nil {
				t.Fatal(err)
			}
			var calls, last, total int
			got, err := Random(a, 5, 1e-5, s, func(done, n int) { calls, last, total = calls+1, done, n })
			if err != nil {
				t.Fatal(err)
			}
			layers := len(want.Net.Convs()) + 1
			if calls != layers || last != layers || total != layers {
				t.Errorf("%s %s: %d progress calls ending %d of %d, want %d ending %d of %d", a.Name, s, calls, last, total, layers, layers, layers)
			}
			if got.Meta.Scheme != s || len(got.Tensors) != len(want.Tensors) || len(got.Meta.Labels) != a.NumClasses {
				t.Fatalf("%s %s: scheme %s, %d tensors (want %d), %d labels", a.Name, s, got.Meta.Scheme, len(got.Tensors), len(want.Tensors), len(got.Meta.Labels))
			}
			for name, w := range want.Tensors {
				g := got.Tensors[name]
				if g == nil || !slices.Equal(g.Shape, w.Shape) || !slices.Equal(g.F32, w.F32) || !slices.Equal(g.I8, w.I8) || !slices.Equal(g.Scale, w.Scale) {
					t.Errorf("%s %s: tensor %s differs from Model's", a.Name, s, name)
				}
			}
		}
	}
	if _, err := Random(basic, 1, 1e-5, weights.Int4, nil); err == nil {
		t.Error("int4 accepted")
	}
	bad := basic
	bad.Layers[0] = 0
	if _, err := Random(bad, 1, 1e-5, weights.F32, nil); err == nil {
		t.Error("an invalid architecture accepted")
	}
}
