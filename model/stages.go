package model

import (
	"fmt"
	"strings"
)

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
	// Path is a block's computation, main branch then shortcut:
	// "1×1 → 3×3 → 1×1, + 1×1/2 conv shortcut → add → ReLU" (BlockPath).
	Path string `json:"path,omitempty"`
	// Out is the Program tensor the row shows.
	Out int `json:"-"`
}

// MaxPool is the stem's pooling: kernel 3, stride 2, padding 1.
const (
	PoolKernel = 3
	PoolStride = 2
	PoolPad    = 1
)

// PoolOutSize is the max pool's output size for an input of size in.
func PoolOutSize(in int) int { return (in+2*PoolPad-PoolKernel)/PoolStride + 1 }

// Stages is the stage table of Program(b, h, w): every row's output
// shape, parameters and MACs for a batch of b images of h×w pixels. It
// fails when the input is too small for the network to keep a spatial
// extent of at least 1.
func (n Net) Stages(b, h, w int) ([]Stage, error) {
	p, err := n.Program(b, h, w)
	if err != nil {
		return nil, err
	}
	return p.Stages, nil
}

// Totals sums parameters and MACs over the top-level stages.
func Totals(stages []Stage) (params, macs int64) {
	for _, s := range stages {
		params += s.Params
		macs += s.MACs
	}
	return
}

// BlockPath describes what a block computes, from its convs: the main
// branch's convs in order (kernel, "/2" when strided, "g32" when
// grouped), the shortcut it adds (the block's input, or the downsample's
// conv), then the add and the ReLU, e.g.
// "1×1 → 3×3 → 1×1 + identity → add → ReLU" or
// "1×1/2 → 3×3 → 1×1 + 1×1/2 conv (downsample) → add → ReLU".
func BlockPath(b Block) string {
	var s strings.Builder
	for i, c := range b.Convs {
		if i > 0 {
			s.WriteString(" → ")
		}
		s.WriteString(convLabel(c))
	}
	if b.Downsample != nil {
		s.WriteString(" + " + convLabel(*b.Downsample) + " conv (downsample)")
	} else {
		s.WriteString(" + identity")
	}
	s.WriteString(" → add → ReLU")
	return s.String()
}

// convLabel is a conv's kernel, stride and groups: "3×3", "1×1/2", "3×3 g32".
func convLabel(c Conv) string {
	l := fmt.Sprintf("%d×%d", c.Kernel, c.Kernel)
	if c.Stride > 1 {
		l += fmt.Sprintf("/%d", c.Stride)
	}
	if c.Groups > 1 {
		l += fmt.Sprintf(" g%d", c.Groups)
	}
	return l
}
