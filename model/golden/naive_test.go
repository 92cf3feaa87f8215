package golden

import (
	"fmt"
	"math"
	"testing"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/weights"
)

// This file runs the fixtures through the most direct forward pass there
// is (loops straight from the definitions, no tiling) on BN-folded weights.
// It checks the fixtures and weights.FoldBN independently of model/cpu,
// and it compares torchvision's per-stage checksums, which the engines'
// Result does not expose.

// act is one activation tensor [B,C,H,W].
type act struct {
	b, c, h, w int
	v          []float32
}

func (a act) shape() []int { return []int{a.b, a.c, a.h, a.w} }

func naiveConv(x act, c model.Conv, w, bias []float32, relu bool) act {
	ho, wo := c.OutSize(x.h), c.OutSize(x.w)
	y := act{x.b, c.Cout, ho, wo, make([]float32, x.b*c.Cout*ho*wo)}
	cinG, coutG := c.Cin/c.Groups, c.Cout/c.Groups
	k := c.Kernel
	for n := 0; n < x.b; n++ {
		for co := 0; co < c.Cout; co++ {
			g := co / coutG
			for oy := 0; oy < ho; oy++ {
				for ox := 0; ox < wo; ox++ {
					s := bias[co]
					for ci := 0; ci < cinG; ci++ {
						xc := g*cinG + ci
						for ky := 0; ky < k; ky++ {
							iy := oy*c.Stride - c.Pad + ky
							if iy < 0 || iy >= x.h {
								continue
							}
							for kx := 0; kx < k; kx++ {
								ix := ox*c.Stride - c.Pad + kx
								if ix < 0 || ix >= x.w {
									continue
								}
								s += x.v[((n*x.c+xc)*x.h+iy)*x.w+ix] * w[((co*cinG+ci)*k+ky)*k+kx]
							}
						}
					}
					if relu && s < 0 {
						s = 0
					}
					y.v[((n*c.Cout+co)*ho+oy)*wo+ox] = s
				}
			}
		}
	}
	return y
}

func naiveMaxPool(x act) act {
	ho, wo := model.PoolOutSize(x.h), model.PoolOutSize(x.w)
	y := act{x.b, x.c, ho, wo, make([]float32, x.b*x.c*ho*wo)}
	for p := 0; p < x.b*x.c; p++ {
		for oy := 0; oy < ho; oy++ {
			for ox := 0; ox < wo; ox++ {
				m := float32(math.Inf(-1))
				for ky := 0; ky < model.PoolKernel; ky++ {
					for kx := 0; kx < model.PoolKernel; kx++ {
						iy, ix := oy*model.PoolStride-model.PoolPad+ky, ox*model.PoolStride-model.PoolPad+kx
						if iy >= 0 && iy < x.h && ix >= 0 && ix < x.w {
							m = max(m, x.v[(p*x.h+iy)*x.w+ix])
						}
					}
				}
				y.v[(p*ho+oy)*wo+ox] = m
			}
		}
	}
	return y
}

// naiveForward returns the logits [B][K] and the stage sums in the order
// of the fixture's stages (blocks inside their layers).
func naiveForward(net model.Net, t map[string]*weights.Tensor, in *model.Tensor) ([][]float32, []StageSum) {
	x := act{in.Shape[0], in.Shape[1], in.Shape[2], in.Shape[3], in.Data}
	conv := func(x act, c model.Conv, relu bool) act {
		return naiveConv(x, c, t[c.Name+".weight"].F32, t[c.Name+".bias"].F32, relu)
	}
	st := []StageSum{sums("input", x.shape(), x.v)}
	x = conv(x, net.Stem, true)
	st = append(st, StageSum{Name: "conv1", Shape: x.shape()}, sums("bn1+relu", x.shape(), x.v))
	x = naiveMaxPool(x)
	st = append(st, sums("maxpool", x.shape(), x.v))
	for _, l := range net.Layers {
		var blocks []StageSum
		for _, b := range l.Blocks {
			y := x
			for i, c := range b.Convs {
				y = conv(y, c, i < len(b.Convs)-1)
			}
			sc := x
			if b.Downsample != nil {
				sc = conv(x, *b.Downsample, false)
			}
			for i := range y.v {
				y.v[i] = max(y.v[i]+sc.v[i], 0)
			}
			x = y
			blocks = append(blocks, sums(b.Name, x.shape(), x.v))
		}
		s := sums(l.Name, x.shape(), x.v)
		s.Blocks = blocks
		st = append(st, s)
	}
	pooled := make([]float32, x.b*x.c)
	for p := range pooled {
		var s float32
		for _, v := range x.v[p*x.h*x.w : (p+1)*x.h*x.w] {
			s += v
		}
		pooled[p] = s / float32(x.h*x.w)
	}
	st = append(st, sums("avgpool", []int{x.b, x.c, 1, 1}, pooled), sums("flatten", []int{x.b, x.c}, pooled))
	w, bias := t["fc.weight"].F32, t["fc.bias"].F32
	logits := make([][]float32, x.b)
	var flat []float32
	for n := range logits {
		logits[n] = make([]float32, net.FC.Out)
		for o := range logits[n] {
			s := bias[o]
			for i := 0; i < net.FC.In; i++ {
				s += pooled[n*x.c+i] * w[o*net.FC.In+i]
			}
			logits[n][o] = s
		}
		flat = append(flat, logits[n]...)
	}
	return logits, append(st, sums("fc", []int{x.b, net.FC.Out}, flat))
}

func sums(name string, shape []int, v []float32) StageSum {
	s := StageSum{Name: name, Shape: append([]int(nil), shape...)}
	for _, x := range v {
		s.Sum += float64(x)
		s.AbsSum += math.Abs(float64(x))
	}
	return s
}

// compareLogits checks the golden criterion, max|Δ| ≤ 1e-4·max|logit|,
// and returns the ratio max|Δ|/max|logit| it saw.
func compareLogits(got, want [][]float32) (float64, error) {
	if len(got) != len(want) {
		return 0, fmt.Errorf("%d rows of logits, torchvision %d", len(got), len(want))
	}
	var maxAbs, maxDiff float64
	at := [2]int{}
	for r := range want {
		if len(got[r]) != len(want[r]) {
			return 0, fmt.Errorf("row %d: %d logits, torchvision %d", r, len(got[r]), len(want[r]))
		}
		for c, w := range want[r] {
			maxAbs = math.Max(maxAbs, math.Abs(float64(w)))
			if d := math.Abs(float64(got[r][c]) - float64(w)); d > maxDiff || math.IsNaN(d) {
				maxDiff, at = d, [2]int{r, c}
			}
		}
	}
	ratio := maxDiff / maxAbs
	if !(maxDiff <= 1e-4*maxAbs) {
		return ratio, fmt.Errorf("max |Δlogit| %.3g at [%d][%d] (%v vs torchvision %v) exceeds 1e-4·max|logit| = %.3g",
			maxDiff, at[0], at[1], got[at[0]][at[1]], want[at[0]][at[1]], 1e-4*maxAbs)
	}
	return ratio, nil
}

// compareStage checks shape and, where the fixture's stage is computable
// from folded weights (all but conv1, whose torch output precedes BN), the
// sums: abs_sum to 1e-4 relative, sum to 1e-4 of abs_sum (sums cancel).
func compareStage(got, want StageSum, withSums bool) error {
	if got.Name != want.Name || !sameShape(got.Shape, want.Shape) {
		return fmt.Errorf("stage %s %v, torchvision %s %v", got.Name, got.Shape, want.Name, want.Shape)
	}
	if !withSums {
		return nil
	}
	tol := 1e-4 * want.AbsSum
	if math.Abs(got.AbsSum-want.AbsSum) > tol || math.Abs(got.Sum-want.Sum) > tol {
		return fmt.Errorf("stage %s: sum %.7g abs %.7g, torchvision %.7g %.7g", got.Name, got.Sum, got.AbsSum, want.Sum, want.AbsSum)
	}
	return nil
}

// foldFixture generates the fixture's state dict and folds its BatchNorms.
func foldFixture(t *testing.T, f *Fixture) (model.Net, map[string]*weights.Tensor) {
	t.Helper()
	net, err := f.Net()
	if err != nil {
		t.Fatal(err)
	}
	folded, err := weights.FoldBN(net, Fill(net, f.Seed), f.BNEps)
	if err != nil {
		t.Fatal(err)
	}
	return net, folded
}

// fixtureMACs is the fixture's conv+fc work, to keep naive runs affordable.
func fixtureMACs(t *testing.T, f *Fixture) int64 {
	t.Helper()
	net, err := f.Net()
	if err != nil {
		t.Fatal(err)
	}
	st, err := net.Stages(f.InputShape[0], f.InputShape[2], f.InputShape[3])
	if err != nil {
		t.Fatal(err)
	}
	_, m := model.Totals(st)
	return m
}

func TestNaiveMatchesTorchvision(t *testing.T) {
	// resnet18 at 64×64 (0.3 GMAC) takes about a second; the bigger nets
	// are model/cpu's job (TestCPUEngineMatchesTorchvision).
	budget := int64(350e6)
	if testing.Short() {
		budget = 20e6 // the tiny nets
	}
	ran := 0
	for _, f := range fixtures(t) {
		if m := fixtureMACs(t, f); m > budget {
			t.Logf("%s: %.2f GMAC, beyond the naive loop's budget %.2f GMAC (covered by the model/cpu golden test)", fixtureID(f), float64(m)/1e9, float64(budget)/1e9)
			continue
		}
		ran++
		t.Run(fixtureID(f), func(t *testing.T) {
			net, folded := foldFixture(t, f)
			logits, stages := naiveForward(net, folded, f.Input())
			ratio, err := compareLogits(logits, f.Logits)
			if err != nil {
				t.Error(err)
			}
			t.Logf("max|Δlogit|/max|logit| = %.2g", ratio)
			if len(stages) != len(f.Stages) {
				t.Fatalf("%d stages, torchvision %d", len(stages), len(f.Stages))
			}
			for i, s := range stages {
				w := f.Stages[i]
				if err := compareStage(s, w, s.Name != "conv1"); err != nil {
					t.Error(err)
				}
				if len(s.Blocks) != len(w.Blocks) {
					t.Fatalf("%s: %d blocks, torchvision %d", s.Name, len(s.Blocks), len(w.Blocks))
				}
				for j := range s.Blocks {
					if err := compareStage(s.Blocks[j], w.Blocks[j], true); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	if ran < 4 {
		t.Errorf("only %d fixtures fit the naive budget; the tiny ones must always run", ran)
	}
}
