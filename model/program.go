package model

import (
	"fmt"
	"slices"
)

// OpKind names what an Op computes.
type OpKind string

// The operations a ResNet is made of. An engine handles every kind in
// OpKinds (each engine's tests check that it does), so adding a kind here
// is the one place a new operation starts. Two of them carry weights:
const (
	// OpConv is a convolution with its BatchNorm folded in: the weights
	// Conv.Name+".weight" and ".bias", then the epilogue: add the
	// Residual tensor when there is one, then ReLU when asked.
	OpConv OpKind = "conv"
	// OpFC is the classifier: FC.Name+".weight" [Out,In] and ".bias".
	OpFC OpKind = "fc"
)

// The others only move or reduce values.
const (
	// OpReLU is max(x, 0) alone: the stem's, kept apart from conv1 so that
	// the conv1 row shows the conv's own output (engines may fuse it).
	OpReLU OpKind = "relu"
	// OpMaxPool is the stem's pooling: 3×3, stride 2, padding 1.
	OpMaxPool OpKind = "maxpool"
	// OpAvgPool is the global average over H and W: [B,C,H,W] → [B,C,1,1].
	OpAvgPool OpKind = "avgpool"
	// OpFlatten is [B,C,1,1] → [B,C]: a view of its input, no copy.
	OpFlatten OpKind = "flatten"
)

// OpKinds lists every OpKind.
var OpKinds = []OpKind{OpConv, OpReLU, OpMaxPool, OpAvgPool, OpFlatten, OpFC}

// Op is one operation of a Program, over numbered tensors.
type Op struct {
	Kind OpKind
	// Name is the weights' prefix for conv and fc ("layer1.0.conv1",
	// "fc"), else the stage it computes ("bn1+relu", "maxpool").
	Name     string
	In       int    // the tensor it reads
	Residual int    // OpConv: the tensor its epilogue adds, or -1
	Out      int    // the tensor it writes
	ReLU     bool   // OpConv: ReLU at the end of the epilogue
	Conv     Conv   // OpConv: the layout (kernel, stride, padding, groups)
	FC       Linear // OpFC
	Params   int64  // trainable parameters, counted as torchvision does
	MACs     int64  // multiply-accumulates over the whole batch
	// Stage is the index in Program.Stages of the row whose time this op
	// counts in; Block the index of the block within that row, or -1.
	Stage, Block int
}

// TensorInfo is one tensor of a Program.
type TensorInfo struct {
	Shape    []int // [B,C,H,W], or [B,N] after flatten
	Producer int   // the op that writes it; -1 for the input
	// LastUse is the last op that reads it or a view of it; len(Ops) for
	// the output, which is read after the run. A tensor's storage may be
	// reused once LastUse is done.
	LastUse int
	// ViewOf is the tensor whose storage this one shares (a flatten's
	// output), or -1.
	ViewOf int
}

// Elems is the number of values of the tensor.
func (t TensorInfo) Elems() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// The largest input a Program lays out.
const (
	MaxBatch = 1 << 12 // images
	MaxSide  = 1 << 15 // pixels
)

// Program is a network applied to one input size: the forward pass as an
// ordered list of ops over numbered tensors, with each tensor's shape and
// liveness, and the inspector's stage table (every row names the tensor
// it shows). It is the only description of the forward pass: the CPU
// engine interprets it, the GPU plan compiles it, the inspector shows it.
type Program struct {
	Net           Net
	Batch, H, W   int
	Ops           []Op
	Tensors       []TensorInfo
	Input, Output int // the tensors read before and after the run
	Stages        []Stage
}

// Program lays out the forward pass of a batch of b images of h×w pixels,
// following torchvision's ResNet.forward: conv1, bn1+relu, maxpool, the
// blocks of layer1 … layer4 (each: the main branch's convs with ReLU after
// each, the last adding the shortcut — the block's input, or its
// downsample conv — before its ReLU), avgpool, flatten, fc. It fails when
// the layout does not chain up or the input is too small for the network
// to keep a spatial extent of at least 1.
func (n Net) Program(b, h, w int) (*Program, error) {
	if b < 1 || h < 1 || w < 1 {
		return nil, fmt.Errorf("program: input [%d,3,%d,%d] must be positive", b, h, w)
	}
	if h > MaxSide || w > MaxSide || b > MaxBatch {
		return nil, fmt.Errorf("program: input [%d,3,%d,%d] too large", b, h, w)
	}
	if len(n.Layers) == 0 {
		return nil, fmt.Errorf("program: network has no layers (Net not laid out?)")
	}
	p := &Program{Net: n, Batch: b, H: h, W: w}
	pb := progBuilder{p: p}
	x := pb.tensor(-1, b, 3, h, w)
	p.Input = x
	pb.stage(Stage{Name: "input", Kind: KindInput}, x)

	convParams := func(c Conv) int64 { // weight, optional bias, BatchNorm's weight and bias
		p := int64(c.Cout) * int64(c.Cin/c.Groups) * int64(c.Kernel*c.Kernel)
		if n.Arch.ConvBias {
			p += int64(c.Cout)
		}
		return p + 2*int64(c.Cout)
	}
	stem := n.Stem
	st := pb.stage(Stage{Name: stem.Name, Kind: KindConv}, -1)
	y, err := pb.conv(stem, x, -1, false, convParams(stem)-2*int64(stem.Cout), st, -1)
	if err != nil {
		return nil, err
	}
	p.Stages[st].Out = y
	st = pb.stage(Stage{Name: stem.BN + "+relu", Kind: KindBNReLU}, -1)
	y = pb.op(Op{Kind: OpReLU, Name: stem.BN + "+relu", In: y, Params: 2 * int64(stem.Cout), Stage: st, Block: -1}, p.Tensors[y].Shape...)
	p.Stages[st].Out = y
	st = pb.stage(Stage{Name: "maxpool", Kind: KindMaxPool}, -1)
	s := p.Tensors[y].Shape
	y = pb.op(Op{Kind: OpMaxPool, Name: "maxpool", In: y, Stage: st, Block: -1}, b, s[1], PoolOutSize(s[2]), PoolOutSize(s[3]))
	p.Stages[st].Out = y

	for _, l := range n.Layers {
		if len(l.Blocks) == 0 {
			return nil, fmt.Errorf("program: %s has no blocks", l.Name)
		}
		st = pb.stage(Stage{Name: l.Name, Kind: KindLayer}, -1)
		for bi, blk := range l.Blocks {
			if len(blk.Convs) == 0 {
				return nil, fmt.Errorf("program: block %s has no convs", blk.Name)
			}
			p.Stages[st].Blocks = append(p.Stages[st].Blocks, Stage{Name: blk.Name, Kind: KindBlock, Stride: blk.Stride, Downsample: blk.Downsample != nil, Path: BlockPath(blk)})
			in, shortcut := y, y
			if d := blk.Downsample; d != nil {
				if shortcut, err = pb.conv(*d, in, -1, false, convParams(*d), st, bi); err != nil {
					return nil, err
				}
			}
			for i, c := range blk.Convs {
				res := -1
				if i == len(blk.Convs)-1 {
					res = shortcut
				}
				if y, err = pb.conv(c, y, res, true, convParams(c), st, bi); err != nil {
					return nil, err
				}
			}
			p.Stages[st].Blocks[bi].Out = y
		}
		p.Stages[st].Out = y
	}

	st = pb.stage(Stage{Name: "avgpool", Kind: KindAvgPool}, -1)
	s = p.Tensors[y].Shape
	y = pb.op(Op{Kind: OpAvgPool, Name: "avgpool", In: y, Stage: st, Block: -1}, b, s[1], 1, 1)
	p.Stages[st].Out = y
	st = pb.stage(Stage{Name: "flatten", Kind: KindFlatten}, -1)
	y = pb.op(Op{Kind: OpFlatten, Name: "flatten", In: y, Stage: st, Block: -1}, b, s[1])
	p.Tensors[y].ViewOf = p.Ops[len(p.Ops)-1].In
	p.Stages[st].Out = y
	fc := n.FC
	if fc.In != s[1] || fc.Out < 1 {
		return nil, fmt.Errorf("program: %s is %d→%d after %d channels", fc.Name, fc.In, fc.Out, s[1])
	}
	st = pb.stage(Stage{Name: fc.Name, Kind: KindFC}, -1)
	y = pb.op(Op{Kind: OpFC, Name: fc.Name, In: y, FC: fc, Params: int64(fc.In)*int64(fc.Out) + int64(fc.Out),
		MACs: int64(b) * int64(fc.In) * int64(fc.Out), Stage: st, Block: -1}, b, fc.Out)
	p.Stages[st].Out = y
	p.Output = y

	pb.finish()
	return p, nil
}

// progBuilder appends ops and tensors to a Program.
type progBuilder struct{ p *Program }

// tensor adds a tensor written by op producer.
func (pb progBuilder) tensor(producer int, shape ...int) int {
	pb.p.Tensors = append(pb.p.Tensors, TensorInfo{Shape: shape, Producer: producer, ViewOf: -1})
	return len(pb.p.Tensors) - 1
}

// stage adds a row to the stage table showing tensor out (-1: set later).
func (pb progBuilder) stage(s Stage, out int) int {
	s.Out = out
	pb.p.Stages = append(pb.p.Stages, s)
	return len(pb.p.Stages) - 1
}

// op appends o with a new output tensor of the given shape and returns
// the tensor.
func (pb progBuilder) op(o Op, shape ...int) int {
	if o.Kind != OpConv {
		o.Residual = -1
	}
	o.Out = pb.tensor(len(pb.p.Ops), shape...)
	pb.p.Ops = append(pb.p.Ops, o)
	return o.Out
}

// conv appends convolution c of tensor in (adding residual ≥ 0), checking
// that the channels chain up and the output keeps at least one pixel.
func (pb progBuilder) conv(c Conv, in, residual int, relu bool, params int64, stage, block int) (int, error) {
	s := pb.p.Tensors[in].Shape
	if c.Cin != s[1] {
		return 0, fmt.Errorf("program: conv %s takes %d channels but gets %d", c.Name, c.Cin, s[1])
	}
	if c.Groups < 1 || c.Cin%c.Groups != 0 || c.Cout%c.Groups != 0 || c.Kernel < 1 || c.Stride < 1 || c.Pad < 0 {
		return 0, fmt.Errorf("program: conv %s: bad layout cin %d cout %d groups %d kernel %d stride %d pad %d",
			c.Name, c.Cin, c.Cout, c.Groups, c.Kernel, c.Stride, c.Pad)
	}
	ho, wo := c.OutSize(s[2]), c.OutSize(s[3])
	if ho < 1 || wo < 1 {
		return 0, fmt.Errorf("program: input too small: %s would be %dx%d", c.Name, ho, wo)
	}
	out := []int{s[0], c.Cout, ho, wo}
	if residual >= 0 {
		if r := pb.p.Tensors[residual].Shape; !slices.Equal(r, out) {
			return 0, fmt.Errorf("program: %s: shortcut %v does not match branch %v", c.Name, r, out)
		}
	}
	macs := int64(s[0]) * int64(ho) * int64(wo) * int64(c.Cout) * int64(c.Cin/c.Groups) * int64(c.Kernel*c.Kernel)
	return pb.op(Op{Kind: OpConv, Name: c.Name, In: in, Residual: residual, ReLU: relu, Conv: c,
		Params: params, MACs: macs, Stage: stage, Block: block}, out...), nil
}

// finish derives liveness and the stage table's shapes, parameters and MACs.
func (pb progBuilder) finish() {
	p := pb.p
	root := func(t int) int {
		for p.Tensors[t].ViewOf >= 0 {
			t = p.Tensors[t].ViewOf
		}
		return t
	}
	use := func(t, i int) {
		for ; t >= 0; t = p.Tensors[t].ViewOf {
			p.Tensors[t].LastUse = max(p.Tensors[t].LastUse, i)
		}
	}
	for i := range p.Tensors {
		p.Tensors[i].LastUse = p.Tensors[i].Producer // written, maybe never read
	}
	for i, o := range p.Ops {
		use(o.In, i)
		if o.Residual >= 0 {
			use(o.Residual, i)
		}
	}
	use(p.Output, len(p.Ops))
	// A view lives as long as its storage.
	for i := range p.Tensors {
		p.Tensors[i].LastUse = max(p.Tensors[i].LastUse, p.Tensors[root(i)].LastUse)
	}
	for _, o := range p.Ops {
		s := &p.Stages[o.Stage]
		s.Params += o.Params
		s.MACs += o.MACs
		if o.Block >= 0 {
			s.Blocks[o.Block].Params += o.Params
			s.Blocks[o.Block].MACs += o.MACs
		}
	}
	for i := range p.Stages {
		s := &p.Stages[i]
		s.Shape = append([]int(nil), p.Tensors[s.Out].Shape...)
		for j := range s.Blocks {
			s.Blocks[j].Shape = append([]int(nil), p.Tensors[s.Blocks[j].Out].Shape...)
		}
	}
}

// Taps lists, for each tensor, the stage rows that show it, as
// (stage, block) pairs with block -1 for a top-level row; a layer's row
// comes after its last block's. Engines use it to time, trace and
// inspect each row once its tensor exists.
func (p *Program) Taps() [][]StageRef {
	taps := make([][]StageRef, len(p.Tensors))
	for i, s := range p.Stages {
		for j, b := range s.Blocks {
			taps[b.Out] = append(taps[b.Out], StageRef{Stage: i, Block: j})
		}
		taps[s.Out] = append(taps[s.Out], StageRef{Stage: i, Block: -1})
	}
	return taps
}

// StageRef points at a row of the stage table: a stage, or a block of it.
type StageRef struct{ Stage, Block int }

// Layout is the network's Program for one 1×1 image, a size every ResNet
// keeps: its ops, their weights and wiring without meaningful sizes, for
// code that needs the structure alone (checking weights or a checkpoint's
// graph).
func (n Net) Layout() (*Program, error) { return n.Program(1, 1, 1) }
