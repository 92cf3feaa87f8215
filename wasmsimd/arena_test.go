package wasmsimd

import (
	"testing"

	"github.com/residual-webgpu/residual/model"
)

// TestArenaPlan: no two things live at the same op share a byte of the
// block (tensors from the op that makes them to their last use, each
// op's scratch during it), a view sits where its source does, and the
// block is within 15% of what is live at the busiest op.
func TestArenaPlan(t *testing.T) {
	for _, name := range []string{"resnet18", "resnet50", "resnext50_32x4d"} {
		a, err := model.ByName(name)
		if err != nil {
			t.Fatal(err)
		}
		n, err := a.Net()
		if err != nil {
			t.Fatal(err)
		}
		for _, side := range []int{64, 224, 321} {
			p, err := n.Program(1, side, side)
			if err != nil {
				t.Fatal(err)
			}
			temp := make([]int, len(p.Ops))
			for i, op := range p.Ops {
				if op.Kind == model.OpConv {
					temp[i] = 1000 + 17*i // odd sizes
				}
			}
			off, tmp, total := arenaPlan(p, temp)
			type use struct{ from, to, lo, hi int }
			var uses []use
			root := func(t int) int {
				for p.Tensors[t].ViewOf >= 0 {
					t = p.Tensors[t].ViewOf
				}
				return t
			}
			for ti, tn := range p.Tensors {
				if r := root(ti); r != ti {
					if off[ti] != off[r] {
						t.Errorf("%s %d: view %d at %d, its source %d at %d", name, side, ti, off[ti], r, off[r])
					}
					continue
				}
				from := tn.Producer
				if ti == p.Input {
					from = -1
				}
				uses = append(uses, use{from, tn.LastUse, off[ti], off[ti] + 4*floats(tn.Shape)})
			}
			for i, n := range temp {
				if n > 0 {
					uses = append(uses, use{i, i, tmp[i], tmp[i] + n})
				}
			}
			peak := 0
			for i := -1; i < len(p.Ops); i++ {
				live := 0
				for _, u := range uses {
					if u.from <= i && i <= u.to {
						live += (u.hi - u.lo + 15) &^ 15
					}
				}
				peak = max(peak, live)
			}
			for x, u := range uses {
				if u.lo%16 != 0 || u.hi > total {
					t.Fatalf("%s %d: a block at [%d, %d) of %d", name, side, u.lo, u.hi, total)
				}
				for _, v := range uses[x+1:] {
					if u.from <= v.to && v.from <= u.to && u.lo < v.hi && v.lo < u.hi {
						t.Fatalf("%s %d: [%d, %d) and [%d, %d) overlap while both are live", name, side, u.lo, u.hi, v.lo, v.hi)
					}
				}
			}
			// Greedy by size is not always optimal, but close.
			if float64(total) > 1.15*float64(peak) {
				t.Errorf("%s %d: a %d-byte block for %d bytes live at the busiest op", name, side, total, peak)
			}
			t.Logf("%s %d: a %.2f MB block, %.2f MB live at the busiest op", name, side, float64(total)/1e6, float64(peak)/1e6)
		}
	}
}
