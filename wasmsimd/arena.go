package wasmsimd

import (
	"slices"

	"github.com/residual-webgpu/residual/model"
)

// arenaPlan places the tensors of the one-image program p, and the
// scratch of temp[i] bytes each op i needs while it runs, in one block of
// module memory: each at a 16-aligned offset clear of everything live at
// the same time (a tensor from the op that makes it to its last use; a
// view, a flatten's output, shares its source's place). It returns each
// tensor's offset, each op's scratch's, and the block's size.
// A block planned once holds a run's activations at the size of what is
// live at the busiest op, where allocating tensor by tensor from free
// lists left a ResNet-50's at 224×224 a third larger (10.2 MB for 7.2).
func arenaPlan(p *model.Program, temp []int) (off, tmp []int, total int) {
	type span struct{ t, from, to, size int } // live from op from to op to, inclusive; t ≥ len(Tensors): op t-len(Tensors)'s scratch
	var spans []span
	for t, ti := range p.Tensors {
		if ti.ViewOf >= 0 {
			continue
		}
		from := ti.Producer // -1: the input, there before the first op
		if t == p.Input {
			from = -1
		}
		spans = append(spans, span{t, from, ti.LastUse, (4*floats(ti.Shape) + 15) &^ 15})
	}
	nt := len(p.Tensors)
	for i, n := range temp {
		if n > 0 {
			spans = append(spans, span{nt + i, i, i, (n + 15) &^ 15})
		}
	}
	// The largest first, each at the lowest offset clear of every tensor
	// placed so far that is live at the same time (as TFLite's
	// greedy-by-size planner does; in op order, first fit left the
	// block as large as the free lists did).
	slices.SortStableFunc(spans, func(a, b span) int { return b.size - a.size })
	off = make([]int, nt+len(temp))
	var placed []span
	var busy [][2]int
	for _, s := range spans {
		busy = busy[:0]
		for _, q := range placed {
			if q.from <= s.to && s.from <= q.to {
				busy = append(busy, [2]int{off[q.t], off[q.t] + q.size})
			}
		}
		slices.SortFunc(busy, func(a, b [2]int) int { return a[0] - b[0] })
		at := 0
		for _, b := range busy {
			if b[0]-at >= s.size {
				break
			}
			at = max(at, b[1])
		}
		off[s.t] = at
		placed = append(placed, s)
		total = max(total, at+s.size)
	}
	for t := range p.Tensors {
		r := t
		for p.Tensors[r].ViewOf >= 0 {
			r = p.Tensors[r].ViewOf
		}
		off[t] = off[r]
	}
	return off[:nt], off[nt:], total
}
