package shaders

import (
	"context"
	"fmt"

	"github.com/residual-webgpu/residual/model"
)

// camGeom is a class activation map computation: features of hw
// positions, each c channels stored in stride floats (NHWC), weighed by
// an fc packed as packFC packs it for its np padded outputs.
type camGeom struct {
	C, Stride, HW, NP int
	F32               bool
}

const (
	camWG = 64
	camMY = 65535 // maps per z step: the per-dimension dispatch limit
)

// camSrc is what cam.wgsl is rendered with.
type camSrc struct {
	K4, XK, NP, HW, MY, WG int
	Vec, F32               bool
}

// genCAM writes the CAM kernel for g.
func genCAM(g camGeom) (string, error) {
	if g.C < 1 || g.Stride < g.C || g.HW < 1 || g.NP < 4 || g.NP%4 != 0 {
		return "", fmt.Errorf("cam: bad geometry %+v", g)
	}
	vec := g.Stride%4 == 0
	xk := g.Stride
	if vec {
		xk = g.Stride / 4
	}
	return render("cam.wgsl", camSrc{K4: (g.C + 3) / 4, XK: xk, NP: g.NP, HW: g.HW, MY: camMY, WG: camWG, Vec: vec, F32: g.F32})
}

// camKernel compiles the CAM kernel for g.
func (d *Device) camKernel(g camGeom) (*kernel, error) {
	src, err := genCAM(g)
	if err != nil {
		return nil, err
	}
	return d.kernel("cam", src, []bool{false, false, false, false, true})
}

// camGrid is the dispatch of n maps of hw positions.
func camGrid(hw, n int) (x, y, z uint32) {
	return uint32((hw + camWG - 1) / camWG), uint32(min(n, camMY)), uint32((n + camMY - 1) / camMY)
}

// camPlan is a plan's CAM step: the kernel and what it reads, bound per
// run since the maps it computes depend on the logits.
type camPlan struct {
	k        *kernel
	g        camGeom
	h, w     int
	feat     int    // the features' storage tensor (kept to the end of a run)
	fcW, fcE bufRef // the fc's packed weights and epilogue
}

// planCAM prepares the CAM step of the plan for its Program's CAMTap;
// fcW and fcE are where the fc's weights were placed.
func (p *plan) planCAM(tap model.CAMTap, fcW, fcE bufRef, f32 bool) (*camPlan, error) {
	a := p.lay.acts[tap.Features]
	fc := p.prog.Ops[tap.FC].FC
	g := camGeom{C: a.c, Stride: a.stride(), HW: a.h * a.w, NP: fcGeom{In: fc.In, Out: fc.Out}.np(), F32: f32}
	k, err := p.d.camKernel(g)
	if err != nil {
		return nil, fmt.Errorf("cam: %w", err)
	}
	return &camPlan{k: k, g: g, h: a.h, w: a.w, feat: a.slot, fcW: fcW, fcE: fcE}, nil
}

// cams computes the maps of each image's top k classes of logits (the
// order Result.Top has) from the features the run left in the arena: a
// second submission, since which maps are wanted is known only now.
func (p *plan) cams(ctx context.Context, logits [][]float32, k int) ([][]model.CAM, error) {
	c := p.cam
	if c == nil {
		return nil, fmt.Errorf("cam: %w", p.camErr)
	}
	var pairs []uint32
	var classes [][]int
	for i, row := range logits {
		var cs []int
		for _, pr := range model.TopK(row, nil, k) {
			pairs = append(pairs, uint32(i), uint32(pr.Index))
			cs = append(cs, pr.Index)
		}
		classes = append(classes, cs)
	}
	n := len(pairs) / 2
	d := p.d
	var o oneShot
	defer o.release()
	mb, err := o.upload(d, "cam maps", u32Bytes(pairs), 4*len(pairs))
	if err != nil {
		return nil, err
	}
	yb, err := o.upload(d, "cams", nil, 4*n*c.g.HW)
	if err != nil {
		return nil, err
	}
	bg, err := d.bind(c.k, whole(p.act(c.feat)), span{buf: p.weights[c.fcW.i], offset: c.fcW.offset, size: c.fcW.size},
		span{buf: p.ep, offset: c.fcE.offset, size: c.fcE.size}, whole(mb), whole(yb))
	if err != nil {
		return nil, fmt.Errorf("cam: %w", err)
	}
	defer bg.Release()
	x, y, z := camGrid(c.g.HW, n)
	out, err := d.runOnce(ctx, []dispatch{{k: c.k, bg: bg, x: x, y: y, z: z}}, yb, n*c.g.HW)
	if err != nil {
		return nil, fmt.Errorf("cam: %w", err)
	}
	res := make([][]model.CAM, len(classes))
	m := 0
	for i, cs := range classes {
		for _, cl := range cs {
			res[i] = append(res[i], model.CAM{Class: cl, W: c.w, H: c.h, Values: out[m*c.g.HW : (m+1)*c.g.HW]})
			m++
		}
	}
	return res, nil
}
