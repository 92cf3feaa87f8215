package cpu

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/residual-webgpu/residual/model"
)

// Run classifies a batch: x is the preprocessed input [B,3,H,W] (any
// size the network keeps at least 1×1). It returns the float32 logits
// (accumulated in float32, in order), the top predictions labelled from
// the model's metadata, and every row of the Program's stage table:
// conv1 is the folded conv+BN, bn1+relu the ReLU alone, a layer's time is
// the sum of its blocks', flatten takes no time. A batch whose
// activations exceed maxActivationBytes runs in sub-batches.
func (e *Engine) Run(ctx context.Context, x *model.Tensor, opt model.RunOptions) (*model.Result, error) {
	full, err := e.program(x)
	if err != nil {
		return nil, err
	}
	per := full.PeakBytes() / int64(full.Batch)
	if n := int(maxActivationBytes / max(per, 1)); n < full.Batch {
		return model.RunInBatches(ctx, full.Batch, n, full, func(ctx context.Context, lo, hi int) (*model.Result, error) {
			part := x.Images(lo, hi)
			p, err := e.program(part)
			if err != nil {
				return nil, err
			}
			return e.run(ctx, p, part, opt, nil)
		})
	}
	return e.run(ctx, full, x, opt, nil)
}

// Trace is Run in one batch that also calls f with each stage's output as
// it is computed (blocks before their layer), for comparing another
// engine stage by stage. Run never modifies a tensor after passing it; f
// must not modify it either, and may keep it.
func (e *Engine) Trace(ctx context.Context, x *model.Tensor, opt model.RunOptions, f func(stage string, y *model.Tensor)) (*model.Result, error) {
	p, err := e.program(x)
	if err != nil {
		return nil, err
	}
	return e.run(ctx, p, x, opt, f)
}

// program checks the input and lays out the network for it.
func (e *Engine) program(x *model.Tensor) (*model.Program, error) {
	if err := checkActivation(x, 3); err != nil {
		return nil, fmt.Errorf("cpu engine: input: %w", err)
	}
	p, err := e.net.Program(x.Shape[0], x.Shape[2], x.Shape[3])
	if err != nil {
		return nil, fmt.Errorf("cpu engine: %w", err)
	}
	return p, nil
}

// run interprets p on x: each op in order, its output kept until its last
// use; each stage row is timed, traced and inspected as its tensor
// appears.
func (e *Engine) run(ctx context.Context, p *model.Program, x *model.Tensor, opt model.RunOptions, trace func(string, *model.Tensor)) (*model.Result, error) {
	res := model.NewResult(p)
	res.Engine = EngineName
	taps := p.Taps()
	vals := make([]*model.Tensor, len(p.Tensors))
	show := func(t int) {
		var hs []*model.Heatmap
		if opt.Inspect && len(taps[t]) > 0 {
			hs = model.TensorHeatmaps(vals[t].Shape, vals[t].Data)
		}
		for _, r := range taps[t] {
			row := res.Row(r)
			if opt.Inspect {
				row.SetHeatmaps(hs)
			}
			if trace != nil {
				trace(row.Name, vals[t])
			}
		}
	}
	var tap model.CAMTap
	var feats *model.Tensor // kept past its last use for the maps
	if opt.CAM {
		var err error
		if tap, err = p.CAMTap(); err != nil {
			return nil, fmt.Errorf("cpu engine: %w", err)
		}
	}
	vals[p.Input] = x
	show(p.Input)
	lastYield := time.Now()
	for i, op := range p.Ops {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		start := time.Now()
		y, err := e.exec(op, vals, p.Tensors[op.Out].Shape)
		if err != nil {
			return nil, fmt.Errorf("cpu engine: %s: %w", op.Name, err)
		}
		if opt.Profile {
			res.AddTime(op.Stage, op.Block, ms(start))
		}
		if !slices.Equal(y.Shape, p.Tensors[op.Out].Shape) {
			return nil, fmt.Errorf("cpu engine: %s gave shape %v, the program says %v", op.Name, y.Shape, p.Tensors[op.Out].Shape)
		}
		vals[op.Out] = y
		show(op.Out)
		if opt.CAM && op.Out == tap.Features {
			feats = y
		}
		// Dead tensors go to the collector, so that memory follows the
		// program's liveness (the bound Run splits batches by).
		for _, t := range []int{op.In, op.Residual} {
			if t >= 0 && p.Tensors[t].LastUse == i {
				vals[t] = nil
			}
		}
		if e.yield != nil && time.Since(lastYield) >= e.yieldEvery {
			e.yield()
			lastYield = time.Now()
		}
	}
	y := vals[p.Output]
	classes := y.Shape[1]
	for i := 0; i < y.Shape[0]; i++ {
		res.Logits = append(res.Logits, y.Data[i*classes:(i+1)*classes])
	}
	res.SetTop(e.m.Meta.Labels, opt.K())
	if opt.CAM {
		w, b := e.m.Weight(p.Ops[tap.FC].Name)
		var err error
		if res.CAMs, err = CAMs(feats, w, b, res.Top); err != nil {
			return nil, fmt.Errorf("cpu engine: %w", err)
		}
	}
	return res, nil
}

// exec runs one op on the tensors computed so far.
func (e *Engine) exec(op model.Op, vals []*model.Tensor, shape []int) (*model.Tensor, error) {
	in := vals[op.In]
	switch op.Kind {
	case model.OpConv:
		w, b := e.m.Weight(op.Name)
		var res *model.Tensor
		if op.Residual >= 0 {
			res = vals[op.Residual]
		}
		return Conv2D(in, w, b, op.Conv, res, op.ReLU)
	case model.OpReLU:
		return reluCopy(in), nil // not in place: its input may be traced
	case model.OpMaxPool:
		return MaxPool(in)
	case model.OpAvgPool:
		return AvgPool(in)
	case model.OpFlatten:
		return &model.Tensor{Shape: shape, Data: in.Data}, nil
	case model.OpFC:
		w, b := e.m.Weight(op.Name)
		return Linear(in, w, b)
	}
	return nil, fmt.Errorf("op kind %q is not supported", op.Kind)
}

// reluCopy returns max(x, 0) in a new tensor (NaN stays NaN, as in PyTorch).
func reluCopy(x *model.Tensor) *model.Tensor {
	y := model.NewTensor(x.Shape...)
	for i, v := range x.Data {
		if v < 0 {
			v = 0
		}
		y.Data[i] = v
	}
	return y
}

func ms(start time.Time) float64 { return float64(time.Since(start).Nanoseconds()) / 1e6 }

// TimeLayer runs the named op (a conv or the fc) of the network for
// batches of b images of h×w once on blank inputs and returns how long it
// took in ms (model.LayerTimer): a probe of this machine's speed.
func (e *Engine) TimeLayer(ctx context.Context, name string, b, h, w int) (float64, error) {
	p, err := e.net.Program(b, h, w)
	if err != nil {
		return 0, fmt.Errorf("cpu engine: time %s: %w", name, err)
	}
	for _, op := range p.Ops {
		if op.Name != name || (op.Kind != model.OpConv && op.Kind != model.OpFC) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		vals := make([]*model.Tensor, len(p.Tensors))
		for _, t := range []int{op.In, op.Residual} {
			if t >= 0 {
				vals[t] = model.NewTensor(p.Tensors[t].Shape...)
			}
		}
		start := time.Now()
		if _, err := e.exec(op, vals, p.Tensors[op.Out].Shape); err != nil {
			return 0, fmt.Errorf("cpu engine: time %s: %w", name, err)
		}
		return ms(start), nil
	}
	return 0, fmt.Errorf("cpu engine: time %s: no such conv or fc layer", name)
}
