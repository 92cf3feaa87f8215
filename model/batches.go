package model

import (
	"context"
	"fmt"
)

// Images returns images lo to hi-1 of the batch x, sharing its data.
func (x *Tensor) Images(lo, hi int) *Tensor {
	per := len(x.Data) / x.Shape[0]
	return &Tensor{Shape: append([]int{hi - lo}, x.Shape[1:]...), Data: x.Data[lo*per : hi*per]}
}

// PeakBytes is the most float32 activation bytes a run of p holds at
// once, when each tensor is freed after its last use (views share their
// storage): what an engine that keeps every live tensor needs.
func (p *Program) PeakBytes() int64 {
	var peak int64
	for i := range p.Ops {
		var live int64
		for _, t := range p.Tensors {
			if t.ViewOf < 0 && t.Producer <= i && i <= t.LastUse {
				live += 4 * int64(t.Elems())
			}
		}
		peak = max(peak, live)
	}
	return peak
}

// RunInBatches runs a batch of b images through run in sub-batches of at
// most n (images lo to hi-1 of the batch at a time) and joins their answers into the one Result the whole batch
// would have: logits, top-k and class activation maps in order, the stage table of full (the
// Program of the whole batch) with each row's time summed over the
// sub-batches, and every image's heatmaps in order (those a part has past
// its hi-lo images, a padded sub-batch's blanks, are dropped). Engines use it when a batch does not fit their memory.
func RunInBatches(ctx context.Context, b, n int, full *Program, run func(ctx context.Context, lo, hi int) (*Result, error)) (*Result, error) {
	if n < 1 {
		return nil, fmt.Errorf("not even one image of %dx%d fits", full.H, full.W)
	}
	out := NewResult(full)
	for lo := 0; lo < b; lo += n {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hi := min(b, lo+n)
		part, err := run(ctx, lo, hi)
		if err != nil {
			return nil, fmt.Errorf("images %d to %d of %d: %w", lo+1, hi, b, err)
		}
		if len(part.Logits) != hi-lo || len(part.Stages) != len(out.Stages) {
			return nil, fmt.Errorf("images %d to %d of %d: %d answers, %d stages", lo+1, hi, b, len(part.Logits), len(part.Stages))
		}
		out.Logits = append(out.Logits, part.Logits...)
		out.Top = append(out.Top, part.Top...)
		if part.CAMs != nil {
			out.CAMs = append(out.CAMs, part.CAMs...)
		}
		out.Engine = part.Engine
		for i, s := range part.Stages {
			o := &out.Stages[i]
			o.SetHeatmaps(appendHeatmaps(o.Heatmaps, s, hi-lo))
			if len(o.Blocks) == 0 {
				out.AddTime(i, -1, s.Ms)
			}
			for j := range o.Blocks {
				out.AddTime(i, j, s.Blocks[j].Ms)
				o.Blocks[j].SetHeatmaps(appendHeatmaps(o.Blocks[j].Heatmaps, s.Blocks[j], hi-lo))
			}
		}
	}
	return out, nil
}

// appendHeatmaps adds the heatmaps of a part's first n images to hs; a
// part with none (no Inspect) keeps hs as it is.
func appendHeatmaps(hs []*Heatmap, part StageResult, n int) []*Heatmap {
	if len(part.Heatmaps) == 0 {
		return hs
	}
	return append(hs, part.Heatmaps[:min(n, len(part.Heatmaps))]...)
}
