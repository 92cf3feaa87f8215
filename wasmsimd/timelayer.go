package wasmsimd

import (
	"context"
	"fmt"
	"time"

	"github.com/residual-webgpu/residual/model"
)

var _ model.LayerTimer = (*Engine)(nil)

// TimeLayer runs the conv (or fc) named name once on blank tensors of a
// batch of b images of h×w and returns how long it took in ms
// (model.LayerTimer): the page's probe of which engine is faster. The
// engine runs images one after another, so the time is one image's
// times b.
func (e *Engine) TimeLayer(ctx context.Context, name string, b, h, w int) (float64, error) {
	p, err := e.net.Program(1, h, w)
	if err != nil {
		return 0, fmt.Errorf("wasm-simd engine: time %s: %w", name, err)
	}
	for _, op := range p.Ops {
		if op.Name != name || (op.Kind != model.OpConv && op.Kind != model.OpFC) {
			continue
		}
		at := make([]uint32, len(p.Tensors))
		var held []int
		defer func() {
			for _, t := range held {
				e.k.Free(at[t], 4*floats(p.Tensors[t].Shape))
			}
		}()
		for _, t := range []int{op.In, op.Residual, op.Out} {
			if t < 0 {
				continue
			}
			n := 4 * floats(p.Tensors[t].Shape)
			if at[t], err = e.k.Alloc(n); err != nil {
				return 0, err
			}
			held = append(held, t)
			e.k.WriteF32(at[t], make([]float32, n/4))
		}
		var buf scratchBuf
		defer buf.free(e.k)
		start := time.Now()
		if err := e.exec(ctx, op, p, at, &buf); err != nil {
			return 0, fmt.Errorf("wasm-simd engine: time %s: %w", name, err)
		}
		return float64(b) * float64(time.Since(start).Microseconds()) / 1000, nil
	}
	return 0, fmt.Errorf("wasm-simd engine: time %s: no such conv or fc layer", name)
}
