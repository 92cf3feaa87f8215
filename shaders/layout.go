package shaders

import "github.com/residual-webgpu/residual/model"

// act is a tensor on the GPU: its storage tensor's id (the arena buffer
// is chosen by that) and, per image, its NHWC shape c×h×w, each pixel's c
// values followed by pad zeros.
type act struct{ slot, c, h, w, pad int }

// stride is the floats per pixel of a.
func (a act) stride() int { return a.c + a.pad }

// floats is the size of a for a batch of b images.
func (a act) floats(b int) int { return b * a.h * a.w * a.stride() }

// inputPad is the network input's zero channels: stored as 3 channels and
// a zero, the stem reads whole vec4s, so it runs the same conv pipeline as
// the rest of the network (one compile fewer) and loads a pixel at once.
const inputPad = 1

// layout is where a Program's tensors live on the GPU. A tensor is stored
// on its own, or shares the storage of another: a flatten's output is its
// input, and a ReLU right after a conv that alone reads that conv's
// output runs in the conv's epilogue, writing the conv's storage (so on
// the GPU the stem's conv1 row shows the output after its ReLU).
type layout struct {
	acts  []act  // by tensor id
	fused []bool // by op: a ReLU done in the previous conv's epilogue
}

func newLayout(p *model.Program) layout {
	l := layout{acts: make([]act, len(p.Tensors)), fused: make([]bool, len(p.Ops))}
	l.acts[p.Input] = act{slot: p.Input, c: 3, pad: inputPad, h: p.H, w: p.W}
	for i, op := range p.Ops {
		store := op.Out
		switch op.Kind {
		case model.OpReLU:
			in := p.Tensors[op.In]
			if j := in.Producer; j >= 0 && p.Ops[j].Kind == model.OpConv && !p.Ops[j].ReLU && in.LastUse == i {
				l.fused[i] = true
				store = l.acts[op.In].slot
			}
		case model.OpFlatten:
			store = l.acts[op.In].slot
		}
		s := p.Tensors[op.Out].Shape
		a := act{slot: store, c: s[1], h: 1, w: 1}
		if len(s) == 4 {
			a.h, a.w = s[2], s[3]
		}
		l.acts[op.Out] = a
	}
	return l
}

// relu says whether conv op i ends with a ReLU: its own, or the next
// op's fused into it.
func (l layout) relu(p *model.Program, i int) bool {
	return p.Ops[i].ReLU || i+1 < len(p.Ops) && l.fused[i+1] && p.Ops[i+1].In == p.Ops[i].Out
}

// lives lists the storage tensors of p for batches of b images, with
// their bytes and the ops from their writer to their last reader (as op
// index + 1, the input being written at 0), for the arena (assign).
func (l layout) lives(p *model.Program, b int) (ids []int, lives []life) {
	// The features of the class activation maps are read after the run,
	// once the logits say which maps are wanted.
	keep := -1
	if tap, err := p.CAMTap(); err == nil {
		keep = l.acts[tap.Features].slot
	}
	at := map[int]int{}
	for t, a := range l.acts {
		i, ok := at[a.slot]
		if !ok {
			i = len(ids)
			at[a.slot] = i
			ids = append(ids, a.slot)
			lives = append(lives, life{bytes: 4*a.floats(b) + slack, def: p.Tensors[a.slot].Producer + 1})
		}
		end := p.Tensors[t].LastUse + 1
		if t == p.Output || a.slot == keep {
			end = -1 // read after the run
		}
		if lives[i].end >= 0 && (end < 0 || end > lives[i].end) {
			lives[i].end = end
		}
	}
	return ids, lives
}
