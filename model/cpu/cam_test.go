package cpu

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/residual-webgpu/residual/model"
)

// TestCAMs checks the maps against their definition, computed here from
// the traced layer4 output and the dequantized fc: Σ_c w[class,c]·f[c] +
// b, so that each map's mean is its class's logit.
func TestCAMs(t *testing.T) {
	for ai, a := range tinyArchs {
		for _, i8 := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/i8=%v", a.Name, i8), func(t *testing.T) {
				m := randModel(t, a, uint64(ai), i8)
				e, err := New(m)
				if err != nil {
					t.Fatal(err)
				}
				x := randTensor(rand.New(rand.NewPCG(uint64(ai), 7)), 2, 3, 37, 41)
				var feats *model.Tensor
				res, err := e.Trace(context.Background(), x, model.RunOptions{TopK: 3, CAM: true}, func(s string, y *model.Tensor) {
					if s == "layer4" { // the test's own independent way to the features
						feats = y
					}
				})
				if err != nil {
					t.Fatal(err)
				}
				if len(res.CAMs) != 2 {
					t.Fatalf("%d images of maps, want 2", len(res.CAMs))
				}
				w, b := m.Weight("fc")
				wf := w.Float()
				c, h, wd := feats.Shape[1], feats.Shape[2], feats.Shape[3]
				for i, maps := range res.CAMs {
					if len(maps) != 3 {
						t.Fatalf("image %d: %d maps, want 3", i, len(maps))
					}
					for r, cm := range maps {
						k := res.Top[i][r].Index
						if cm.Class != k || cm.W != wd || cm.H != h || len(cm.Values) != h*wd {
							t.Fatalf("image %d rank %d: map of class %d %dx%d (%d values), want class %d %dx%d", i, r, cm.Class, cm.W, cm.H, len(cm.Values), k, wd, h)
						}
						var mean, worst, big float64
						for p, v := range cm.Values {
							want := float64(b.F32[k])
							for ch := range c {
								want += float64(wf[k*c+ch]) * float64(feats.Data[(i*c+ch)*h*wd+p])
							}
							worst = math.Max(worst, math.Abs(float64(v)-want))
							big = math.Max(big, math.Abs(want))
							mean += float64(v)
						}
						if worst > 1e-5*math.Max(big, 1) {
							t.Errorf("image %d rank %d: off by %g (largest value %g)", i, r, worst, big)
						}
						mean /= float64(h * wd)
						if logit := float64(res.Logits[i][k]); math.Abs(mean-logit) > 1e-4*math.Max(1, math.Abs(logit)) {
							t.Errorf("image %d rank %d: mean %g, logit %g", i, r, mean, logit)
						}
						if spread(cm.Values) < 1e-6 {
							t.Errorf("image %d rank %d: flat map %v", i, r, cm.Values)
						}
					}
				}
			})
		}
	}
}

// TestCAMsInSubBatches: a batch run in parts gives each image the maps
// it gets in one batch.
func TestCAMsInSubBatches(t *testing.T) {
	m := randModel(t, tinyArchs[0], 3, true)
	e, err := New(m)
	if err != nil {
		t.Fatal(err)
	}
	x := randTensor(rand.New(rand.NewPCG(3, 3)), 5, 3, 32, 32)
	opt := model.RunOptions{TopK: 2, CAM: true}
	whole, err := e.Run(context.Background(), x, opt)
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.Net.Program(1, 32, 32)
	if err != nil {
		t.Fatal(err)
	}
	saved := maxActivationBytes
	maxActivationBytes = 2 * p.PeakBytes()
	defer func() { maxActivationBytes = saved }()
	parts, err := e.Run(context.Background(), x, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts.CAMs) != 5 {
		t.Fatalf("%d images of maps, want 5", len(parts.CAMs))
	}
	for i := range whole.CAMs {
		for r := range whole.CAMs[i] {
			a, b := whole.CAMs[i][r], parts.CAMs[i][r]
			if a.Class != b.Class || len(a.Values) != len(b.Values) {
				t.Fatalf("image %d rank %d: class %d vs %d", i, r, a.Class, b.Class)
			}
			for j := range a.Values {
				if a.Values[j] != b.Values[j] {
					t.Fatalf("image %d rank %d: value %d is %g in one batch, %g in parts", i, r, j, a.Values[j], b.Values[j])
				}
			}
		}
	}
}

// TestCAMsRefuseBadInput: wrong class indices or shapes are errors.
func TestCAMsRefuseBadInput(t *testing.T) {
	m := randModel(t, tinyArchs[0], 1, true)
	w, b := m.Weight("fc")
	f := model.NewTensor(1, w.Shape[1], 2, 2)
	if _, err := CAMs(f, w, b, [][]model.Prediction{{{Index: w.Shape[0]}}}); err == nil {
		t.Error("class out of range accepted")
	}
	if _, err := CAMs(model.NewTensor(1, w.Shape[1]+1, 2, 2), w, b, [][]model.Prediction{{{Index: 0}}}); err == nil {
		t.Error("features of the wrong width accepted")
	}
	if _, err := CAMs(f, w, b, nil); err == nil {
		t.Error("missing classes accepted")
	}
}
