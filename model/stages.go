package model

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
