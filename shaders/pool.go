package shaders

import (
	"fmt"

	"github.com/residual-webgpu/residual/model"
)

// poolGeom is a pooling input [B][H][W][C] (NHWC).
type poolGeom struct{ B, H, W, C int }

const poolWG = 64

// units is the channel units per pixel: vec4s when C allows.
func (p poolGeom) units() int {
	if p.C%4 == 0 {
		return p.C / 4
	}
	return p.C
}

func (p poolGeom) outSize() (int, int) { return model.PoolOutSize(p.H), model.PoolOutSize(p.W) }

// grid wraps n invocations into a 2-D dispatch within the per-dimension limit.
func grid(n, wg int) (x, y uint32) {
	groups := (n + wg - 1) / wg
	if groups < 1 {
		groups = 1
	}
	const maxX = 65535
	if groups <= maxX {
		return uint32(groups), 1
	}
	return maxX, uint32((groups + maxX - 1) / maxX)
}

// poolSrc is what pool.wgsl is rendered with.
type poolSrc struct {
	B, H, W, CU, HO, WO, NX, WG int
	Vec                         bool // channels as vec4
}

// genPool writes the pooling module for a geometry; n is the invocation
// count of the entry point that will run (max pool: every output unit;
// average pool: B×units), which fixes the grid width the shader unwraps.
func genPool(p poolGeom, n int) (string, uint32, uint32, error) {
	if p.B < 1 || p.H < 1 || p.W < 1 || p.C < 1 {
		return "", 0, 0, fmt.Errorf("pool: bad input [%d,%d,%d,%d]", p.B, p.C, p.H, p.W)
	}
	ho, wo := p.outSize()
	gx, gy := grid(n, poolWG)
	src, err := render("pool.wgsl", poolSrc{B: p.B, H: p.H, W: p.W, CU: p.units(), HO: ho, WO: wo, NX: int(gx), WG: poolWG, Vec: p.C%4 == 0})
	return src, gx, gy, err
}

// maxPoolKernel compiles the stem's max pool for an input geometry.
func (d *Device) maxPoolKernel(p poolGeom) (*kernel, uint32, uint32, error) {
	ho, wo := p.outSize()
	src, gx, gy, err := genPool(p, p.B*ho*wo*p.units())
	if err != nil {
		return nil, 0, 0, err
	}
	k, err := d.kernelEntry("maxpool", src, "maxpool", []bool{false, true})
	return k, gx, gy, err
}

// avgPoolKernel compiles the global average pool for an input geometry.
func (d *Device) avgPoolKernel(p poolGeom) (*kernel, uint32, uint32, error) {
	src, gx, gy, err := genPool(p, p.B*p.units())
	if err != nil {
		return nil, 0, 0, err
	}
	k, err := d.kernelEntry("avgpool", src, "avgpool", []bool{false, true})
	return k, gx, gy, err
}
