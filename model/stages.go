package model

import "fmt"

// StageKind says what a stage of the inspector table computes.
type StageKind string

// The stage kinds, in the order a forward pass meets them.
const (
	KindInput   StageKind = "input"
	KindConv    StageKind = "conv"
	KindBNReLU  StageKind = "bn+relu"
	KindMaxPool StageKind = "maxpool"
	KindLayer   StageKind = "layer"
	KindBlock   StageKind = "block"
	KindAvgPool StageKind = "avgpool"
	KindFlatten StageKind = "flatten"
	KindFC      StageKind = "fc"
)

// Stage is one row of the network walk: input, conv1, bn1+relu, maxpool,
// layer1 … layer4 (each with its blocks), avgpool, flatten, fc.
type Stage struct {
	Name   string    `json:"name"`
	Kind   StageKind `json:"kind"`
	Shape  []int     `json:"shape"`  // output shape, [B,C,H,W] or [B,N]
	Params int64     `json:"params"` // trainable parameters, counted as torchvision does
	MACs   int64     `json:"macs"`   // multiply-accumulates of convs and fc for the whole batch
	// Blocks are the stages inside a layer; Stride and Downsample describe a block.
	Blocks     []Stage `json:"blocks,omitempty"`
	Stride     int     `json:"stride,omitempty"`
	Downsample bool    `json:"downsample,omitempty"`
}

// convParams counts a conv's weight, optional bias and its BatchNorm's
// weight and bias (running statistics are buffers, not parameters).
func (n Net) convParams(c Conv) int64 {
	p := int64(c.Cout) * int64(c.Cin/c.Groups) * int64(c.Kernel*c.Kernel)
	if n.Arch.ConvBias {
		p += int64(c.Cout)
	}
	return p + 2*int64(c.Cout)
}

func convMACs(c Conv, b, hout, wout int) int64 {
	return int64(b) * int64(hout) * int64(wout) * int64(c.Cout) * int64(c.Cin/c.Groups) * int64(c.Kernel*c.Kernel)
}

// MaxPool is the stem's pooling: kernel 3, stride 2, padding 1.
const (
	PoolKernel = 3
	PoolStride = 2
	PoolPad    = 1
)

// PoolOutSize is the max pool's output size for an input of size in.
func PoolOutSize(in int) int { return (in+2*PoolPad-PoolKernel)/PoolStride + 1 }

// Stages infers every stage's output shape, parameters and MACs for a batch
// of b images of h×w pixels. It fails when the input is too small for the
// network to keep a spatial extent of at least 1.
func (n Net) Stages(b, h, w int) ([]Stage, error) {
	if b < 1 || h < 1 || w < 1 {
		return nil, fmt.Errorf("stages: input [%d,3,%d,%d] must be positive", b, h, w)
	}
	if h > 1<<15 || w > 1<<15 || b > 1<<12 {
		return nil, fmt.Errorf("stages: input [%d,3,%d,%d] too large", b, h, w)
	}
	st := []Stage{{Name: "input", Kind: KindInput, Shape: []int{b, 3, h, w}}}
	conv := func(c Conv, hin, win int) (int, int, int64) {
		ho, wo := c.OutSize(hin), c.OutSize(win)
		return ho, wo, convMACs(c, b, ho, wo)
	}
	h, w, macs := conv(n.Stem, h, w)
	if h < 1 || w < 1 {
		return nil, fmt.Errorf("stages: input too small for conv1")
	}
	c := n.Stem.Cout
	st = append(st,
		Stage{Name: n.Stem.Name, Kind: KindConv, Shape: []int{b, c, h, w}, Params: n.convParams(n.Stem) - 2*int64(c), MACs: macs},
		Stage{Name: n.Stem.BN + "+relu", Kind: KindBNReLU, Shape: []int{b, c, h, w}, Params: 2 * int64(c)})
	h, w = PoolOutSize(h), PoolOutSize(w)
	st = append(st, Stage{Name: "maxpool", Kind: KindMaxPool, Shape: []int{b, c, h, w}})
	for _, l := range n.Layers {
		ls := Stage{Name: l.Name, Kind: KindLayer}
		for _, blk := range l.Blocks {
			bs := Stage{Name: blk.Name, Kind: KindBlock, Stride: blk.Stride, Downsample: blk.Downsample != nil}
			bh, bw := h, w
			for _, cv := range blk.Convs {
				var m int64
				bh, bw, m = conv(cv, bh, bw)
				bs.MACs += m
				bs.Params += n.convParams(cv)
			}
			if d := blk.Downsample; d != nil {
				dh, dw, m := conv(*d, h, w)
				if dh != bh || dw != bw {
					return nil, fmt.Errorf("stages: %s: shortcut %dx%d does not match branch %dx%d", blk.Name, dh, dw, bh, bw)
				}
				bs.MACs += m
				bs.Params += n.convParams(*d)
			}
			if bh < 1 || bw < 1 {
				return nil, fmt.Errorf("stages: input too small: %s would be %dx%d", blk.Name, bh, bw)
			}
			h, w, c = bh, bw, blk.Cout
			bs.Shape = []int{b, c, h, w}
			ls.Params += bs.Params
			ls.MACs += bs.MACs
			ls.Blocks = append(ls.Blocks, bs)
		}
		ls.Shape = []int{b, c, h, w}
		st = append(st, ls)
	}
	fc := n.FC
	st = append(st,
		Stage{Name: "avgpool", Kind: KindAvgPool, Shape: []int{b, c, 1, 1}},
		Stage{Name: "flatten", Kind: KindFlatten, Shape: []int{b, c}},
		Stage{Name: fc.Name, Kind: KindFC, Shape: []int{b, fc.Out}, Params: int64(fc.In)*int64(fc.Out) + int64(fc.Out), MACs: int64(b) * int64(fc.In) * int64(fc.Out)})
	return st, nil
}

// Totals sums parameters and MACs over the top-level stages.
func Totals(stages []Stage) (params, macs int64) {
	for _, s := range stages {
		params += s.Params
		macs += s.MACs
	}
	return
}
