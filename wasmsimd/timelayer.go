package wasmsimd

import (
	"context"
	"fmt"
	"time"

	"github.com/residual-webgpu/residual/model"
)

var _ model.LayerTimer = (*Engine)(nil)

// TimeLayer runs the conv (or fc) named name once on tensors of a batch
// of b images of h×w (whatever the activations' block holds: the
// kernels' time does not depend on the values) and returns how long it
// took in ms (model.LayerTimer): the page's probe of which engine is
// faster. The engine runs images one after another, so the time is one
// image's times b.
func (e *Engine) TimeLayer(ctx context.Context, name string, b, h, w int) (float64, error) {
	p, err := e.net.Program(1, h, w)
	if err != nil {
		return 0, fmt.Errorf("wasm-simd engine: time %s: %w", name, err)
	}
	for i, op := range p.Ops {
		if op.Name != name || (op.Kind != model.OpConv && op.Kind != model.OpFC) {
			continue
		}
		// In the block a run of this size uses (grown to fit), not
		// blocks of its own that a run would leave behind.
		at, col, err := e.layout(p)
		if err != nil {
			return 0, fmt.Errorf("wasm-simd engine: time %s: %w", name, err)
		}
		start := time.Now()
		if err := e.exec(ctx, op, p, at, col[i]); err != nil {
			return 0, fmt.Errorf("wasm-simd engine: time %s: %w", name, err)
		}
		return float64(b) * float64(time.Since(start).Microseconds()) / 1000, nil
	}
	return 0, fmt.Errorf("wasm-simd engine: time %s: no such conv or fc layer", name)
}
