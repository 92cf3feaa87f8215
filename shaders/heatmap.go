package shaders

import (
	"fmt"

	"github.com/gogpu/wgpu"
	"github.com/residual-webgpu/residual/model"
)

// heatGeom is an inspected activation: b images of hw positions, each c
// channels stored in stride floats (NHWC).
type heatGeom struct{ B, C, Stride, HW int }

// per is the floats of the reductions heatmap.wgsl writes per image.
func (g heatGeom) per() int { return 2*g.HW + g.C + 1 }

const heatWG = 64

// heatSrc is what heatmap.wgsl is rendered with.
type heatSrc struct{ B, C, S, HW, PER, NXM, NXP, WG int }

// heatGrids are the dispatches of heatmap.wgsl's entry points, in order.
type heatGrids [3][2]uint32

// genHeatmap writes the heatmap module for g and its three grids.
func genHeatmap(g heatGeom) (string, heatGrids, error) {
	if g.B < 1 || g.C < 1 || g.Stride < g.C || g.HW < 1 {
		return "", heatGrids{}, fmt.Errorf("heatmap: bad geometry %+v", g)
	}
	var gr heatGrids
	gr[0][0], gr[0][1] = grid(g.B*g.C, heatWG)
	gr[1][0], gr[1][1] = grid(g.B, heatWG)
	gr[2][0], gr[2][1] = grid(g.B*g.HW, heatWG)
	src, err := render("heatmap.wgsl", heatSrc{B: g.B, C: g.C, S: g.Stride, HW: g.HW, PER: g.per(),
		NXM: int(gr[0][0]), NXP: int(gr[2][0]), WG: heatWG})
	return src, gr, err
}

// heatEntries are heatmap.wgsl's entry points, in dispatch order.
var heatEntries = [3]string{"means", "pick", "planes"}

// heatKernels compiles the three heatmap kernels for g.
func (d *Device) heatKernels(g heatGeom) ([3]*kernel, heatGrids, error) {
	var ks [3]*kernel
	src, gr, err := genHeatmap(g)
	if err != nil {
		return ks, gr, err
	}
	for i, e := range heatEntries {
		if ks[i], err = d.kernelEntry("heatmap "+e, src, e, []bool{false, true}); err != nil {
			return ks, gr, fmt.Errorf("heatmap: %w", err)
		}
	}
	return ks, gr, nil
}

// heatRegion is one inspected storage tensor of a plan and where its
// summary lands in the plan's heat buffer: a spatial map's reductions
// (computed by the kernels), or a vector's values (copied).
type heatRegion struct {
	slot   int // the storage tensor
	a      act
	off    int // floats into the heat buffer, aligned for binding
	floats int
	ks     [3]*kernel // nil for a vector
	grids  heatGrids
	bg     *wgpu.BindGroup
}

// heatPlan is a plan's inspection step (RunOptions.Inspect).
type heatPlan struct {
	regions []heatRegion
	floats  int
	buf     *wgpu.Buffer // the reductions, written during the run
	read    *wgpu.Buffer // their readback
}

// planHeat lays out the inspection of every storage tensor a stage row
// shows and compiles its kernels; align is the binding offset alignment
// in floats.
func (p *plan) planHeat(align int) (*heatPlan, error) {
	h := &heatPlan{}
	seen := map[int]bool{}
	for t, refs := range p.taps {
		a := p.lay.acts[t]
		if len(refs) == 0 || seen[a.slot] {
			continue
		}
		seen[a.slot] = true
		r := heatRegion{slot: a.slot, a: a, off: h.floats}
		if a.h*a.w == 1 {
			r.floats = a.floats(p.b)
		} else {
			g := heatGeom{B: p.b, C: a.c, Stride: a.stride(), HW: a.h * a.w}
			r.floats = p.b * g.per()
			var err error
			if r.ks, r.grids, err = p.d.heatKernels(g); err != nil {
				return nil, err
			}
		}
		h.floats += (r.floats + align - 1) / align * align
		h.regions = append(h.regions, r)
	}
	return h, nil
}

// allocate makes the heat buffers and binds the kernels to the arena.
func (h *heatPlan) allocate(p *plan) error {
	d := p.d
	var err error
	if h.buf, err = d.newBuffer("heatmaps", uint64(4*max(h.floats, 1)), storageUsage); err != nil {
		return err
	}
	if h.read, err = d.newBuffer("heatmaps readback", uint64(4*max(h.floats, 1)), wgpu.BufferUsageMapRead|wgpu.BufferUsageCopyDst); err != nil {
		return err
	}
	for i := range h.regions {
		r := &h.regions[i]
		if r.ks[0] == nil {
			continue
		}
		if r.bg, err = d.bind(r.ks[0], whole(p.act(r.slot)), span{buf: h.buf, offset: uint64(4 * r.off), size: uint64(4 * r.floats)}); err != nil {
			return fmt.Errorf("heatmap: %w", err)
		}
	}
	return nil
}

// bytes is what the heat buffers hold on the GPU.
func (h *heatPlan) bytes() uint64 {
	if h == nil || h.buf == nil {
		return 0
	}
	return h.buf.Size() + h.read.Size()
}

// release frees the bind groups and buffers; releasing twice is harmless.
func (h *heatPlan) release() {
	if h == nil {
		return
	}
	for i := range h.regions {
		if h.regions[i].bg != nil {
			h.regions[i].bg.Release()
			h.regions[i].bg = nil
		}
	}
	for _, b := range []*wgpu.Buffer{h.buf, h.read} {
		if b != nil {
			b.Release()
		}
	}
	h.buf, h.read = nil, nil
}

// record adds the inspection to a run's segments: each region's kernels
// (or a vector's copy, straight into the readback buffer) in the segment
// that writes its tensor, before the arena reuses it.
func (h *heatPlan) record(p *plan, segs []segment) {
	for _, r := range h.regions {
		sg := &segs[p.writer[r.slot]]
		if r.ks[0] == nil {
			sg.copies = append(sg.copies, copyOp{src: p.act(r.slot), dst: h.read, dstOff: uint64(4 * r.off), size: uint64(4 * r.floats)})
			continue
		}
		for i, k := range r.ks {
			sg.ds = append(sg.ds, dispatch{k: k, bg: r.bg, x: r.grids[i][0], y: r.grids[i][1], z: 1})
		}
	}
}

// heatmaps turns the read-back reductions into every image's heatmap of
// each inspected storage tensor, by storage tensor.
func (h *heatPlan) heatmaps(data []float32, b int) map[int][]*model.Heatmap {
	out := map[int][]*model.Heatmap{}
	for _, r := range h.regions {
		a := r.a
		hs := make([]*model.Heatmap, b)
		reg := data[r.off : r.off+r.floats]
		for i := range hs {
			if r.ks[0] == nil {
				hs[i] = model.VectorHeatmap(reg[i*a.stride() : i*a.stride()+a.c])
				continue
			}
			hw := a.h * a.w
			g := reg[i*(2*hw+a.c+1):]
			mean, plane := make([]float64, hw), make([]float64, hw)
			for p := range hw {
				mean[p], plane[p] = float64(g[p]), float64(g[hw+p])
			}
			top := min(max(int(g[2*hw+a.c]), 0), a.c-1)
			hs[i] = model.SummaryHeatmap(mean, plane, a.h, a.w, a.c, top, float64(g[2*hw+top]))
		}
		out[r.slot] = hs
	}
	return out
}

// readCopies are the copies of the kernels' reductions into the readback
// buffer, for the end of a run. They are one per region, so as not to
// overwrite the vectors copied there: the encoder tracks a buffer's copy
// usage over its whole span, so the heat buffer cannot be a copy's
// destination and another's source in one submission.
func (h *heatPlan) readCopies() []copyOp {
	var cs []copyOp
	for _, r := range h.regions {
		if r.ks[0] != nil {
			cs = append(cs, copyOp{src: h.buf, srcOff: uint64(4 * r.off), dst: h.read, dstOff: uint64(4 * r.off), size: uint64(4 * r.floats)})
		}
	}
	return cs
}
