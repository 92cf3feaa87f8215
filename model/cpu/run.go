package cpu

import (
	"fmt"
	"time"

	"github.com/residual-webgpu/residual/model"
)

// DefaultTopK is how many predictions per image Run returns when
// Options.TopK is not positive.
const DefaultTopK = 5

// Options says what Run reports besides the logits.
type Options struct {
	TopK    int  // predictions per image, best first (DefaultTopK when ≤ 0)
	Inspect bool // fill every stage's Heatmap (first image of the batch)
	// Trace, when set, is called with each stage's output as it is
	// computed (blocks before their layer), for comparing another engine
	// stage by stage. Run never modifies a tensor after passing it; Trace
	// must not modify it either, and may keep it.
	Trace func(stage string, y *model.Tensor)
}

// Run classifies a batch: x is the preprocessed input [B,3,H,W] (any
// size the network keeps at least 1×1). It returns the float32 logits
// (accumulated in float32, in order), the top predictions labelled from
// the model's metadata, and every stage of Net.Stages with the time it
// took: conv1 is the folded conv+BN, bn1+relu the ReLU alone, a layer's
// time is the sum of its blocks', flatten takes no time.
func (e *Engine) Run(x *model.Tensor, opt Options) (*model.Result, error) {
	if err := checkActivation(x, 3); err != nil {
		return nil, fmt.Errorf("cpu engine: input: %w", err)
	}
	stages, err := e.net.Stages(x.Shape[0], x.Shape[2], x.Shape[3])
	if err != nil {
		return nil, fmt.Errorf("cpu engine: %w", err)
	}
	res := &model.Result{Engine: EngineName, Stages: make([]model.StageResult, len(stages))}
	for i, st := range stages {
		res.Stages[i].Stage = st
		for _, b := range st.Blocks {
			res.Stages[i].Blocks = append(res.Stages[i].Blocks, model.StageResult{Stage: b})
		}
	}
	// w walks res.Stages in step with the forward pass below, checking that
	// each stage is the one being computed.
	w := stageWalker{stages: res.Stages, inspect: opt.Inspect, trace: opt.Trace}
	conv := func(c model.Conv, in, residual *model.Tensor, relu bool) (*model.Tensor, error) {
		wt, b := e.m.Weight(c.Name)
		return Conv2D(in, wt, b, c, residual, relu)
	}

	start := time.Now()
	if err := w.done("input", model.KindInput, x, start); err != nil {
		return nil, err
	}

	start = time.Now()
	y, err := conv(e.net.Stem, x, nil, false)
	if err != nil {
		return nil, fmt.Errorf("cpu engine: %w", err)
	}
	if err := w.done(e.net.Stem.Name, model.KindConv, y, start); err != nil {
		return nil, err
	}

	start = time.Now()
	y = reluCopy(y) // not in place: conv1's output may be traced
	if err := w.done(e.net.Stem.BN+"+relu", model.KindBNReLU, y, start); err != nil {
		return nil, err
	}

	start = time.Now()
	if y, err = MaxPool(y); err != nil {
		return nil, fmt.Errorf("cpu engine: %w", err)
	}
	if err := w.done("maxpool", model.KindMaxPool, y, start); err != nil {
		return nil, err
	}

	for _, l := range e.net.Layers {
		layer, err := w.next(l.Name, model.KindLayer)
		if err != nil {
			return nil, err
		}
		for bi, blk := range l.Blocks {
			start = time.Now()
			shortcut := y
			if blk.Downsample != nil {
				if shortcut, err = conv(*blk.Downsample, y, nil, false); err != nil {
					return nil, fmt.Errorf("cpu engine: %w", err)
				}
			}
			// Main branch: ReLU after each conv; the last adds the
			// shortcut first.
			for i, c := range blk.Convs {
				last := i == len(blk.Convs)-1
				var add *model.Tensor
				if last {
					add = shortcut
				}
				if y, err = conv(c, y, add, true); err != nil {
					return nil, fmt.Errorf("cpu engine: %w", err)
				}
			}
			if bi >= len(layer.Blocks) || layer.Blocks[bi].Name != blk.Name {
				return nil, fmt.Errorf("cpu engine: stage walk out of step at block %s", blk.Name)
			}
			b := &layer.Blocks[bi]
			b.Ms = ms(start)
			if !sameShape(b.Shape, y.Shape) {
				return nil, fmt.Errorf("cpu engine: %s gave shape %v, stages say %v", blk.Name, y.Shape, b.Shape)
			}
			layer.Ms += b.Ms
			if opt.Inspect {
				b.Heatmap = heatmap(y)
			}
			if opt.Trace != nil {
				opt.Trace(blk.Name, y)
			}
		}
		if opt.Inspect {
			layer.Heatmap = heatmap(y)
		}
		if opt.Trace != nil {
			opt.Trace(l.Name, y)
		}
	}

	start = time.Now()
	if y, err = AvgPool(y); err != nil {
		return nil, fmt.Errorf("cpu engine: %w", err)
	}
	if err := w.done("avgpool", model.KindAvgPool, y, start); err != nil {
		return nil, err
	}

	start = time.Now()
	y = &model.Tensor{Shape: []int{y.Shape[0], y.Shape[1]}, Data: y.Data}
	if err := w.done("flatten", model.KindFlatten, y, start); err != nil {
		return nil, err
	}

	start = time.Now()
	fw, fb := e.m.Weight(e.net.FC.Name)
	if y, err = Linear(y, fw, fb); err != nil {
		return nil, fmt.Errorf("cpu engine: %w", err)
	}
	if err := w.done(e.net.FC.Name, model.KindFC, y, start); err != nil {
		return nil, err
	}
	if w.i != len(res.Stages) {
		return nil, fmt.Errorf("cpu engine: %d stages left unwalked", len(res.Stages)-w.i)
	}

	k := opt.TopK
	if k <= 0 {
		k = DefaultTopK
	}
	classes := y.Shape[1]
	for i := 0; i < y.Shape[0]; i++ {
		row := y.Data[i*classes : (i+1)*classes]
		res.Logits = append(res.Logits, row)
		res.Top = append(res.Top, model.TopK(row, e.m.Meta.Labels, k))
	}
	return res, nil
}

// stageWalker hands out the stages of a Result in forward order.
type stageWalker struct {
	stages  []model.StageResult
	i       int
	inspect bool
	trace   func(string, *model.Tensor)
}

// next returns the next stage, which must be the named one.
func (w *stageWalker) next(name string, kind model.StageKind) (*model.StageResult, error) {
	if w.i >= len(w.stages) || w.stages[w.i].Name != name || w.stages[w.i].Kind != kind {
		return nil, fmt.Errorf("cpu engine: stage walk out of step at %s", name)
	}
	w.i++
	return &w.stages[w.i-1], nil
}

// done records the next stage, which must be the named one, as finished
// with output y, its time counted from start.
func (w *stageWalker) done(name string, kind model.StageKind, y *model.Tensor, start time.Time) error {
	s, err := w.next(name, kind)
	if err != nil {
		return err
	}
	s.Ms = ms(start)
	if !sameShape(s.Shape, y.Shape) {
		return fmt.Errorf("cpu engine: %s gave shape %v, stages say %v", name, y.Shape, s.Shape)
	}
	if w.inspect {
		s.Heatmap = heatmap(y)
	}
	if w.trace != nil {
		w.trace(name, y)
	}
	return nil
}

// heatmap summarises the first image of an activation: NCHW as its
// spatial map, a vector ([B,C,1,1] or [B,N]) as a strip of its values.
func heatmap(y *model.Tensor) *model.Heatmap {
	if len(y.Shape) == 4 && (y.Shape[2] > 1 || y.Shape[3] > 1) {
		return model.MakeHeatmap(y.Data, y.Shape[1], y.Shape[2], y.Shape[3])
	}
	return model.MakeHeatmap(y.Data, 1, 1, len(y.Data)/y.Shape[0])
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
