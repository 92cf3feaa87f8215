package shaders

import (
	"fmt"
	"time"

	"github.com/gogpu/wgpu"
	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/weights"
)

// plan is a model's Program compiled for one input size: every
// pipeline, weight and activation buffer and bind group made up front, so
// a run only uploads the input, records the dispatches and reads back.
type plan struct {
	d       *Device
	b, h, w int
	classes int
	prog    *model.Program

	weights []*wgpu.Buffer // packed weights, in chunks within the binding limit
	ep      *wgpu.Buffer   // scales and biases
	params  *wgpu.Buffer   // conv shapes
	acts    []*wgpu.Buffer // the activation arena (NHWC tensors, reused by liveness)
	bufOf   []int          // each storage tensor's arena buffer, by tensor id
	lay     layout         // where each program tensor lives
	staging *wgpu.Buffer   // logits readback
	probe   *wgpu.Buffer   // 16-byte readback used to wait for a profiled stage

	pix     *wgpu.Buffer // RunImage's RGBA bytes
	lut     *wgpu.Buffer // and the normalisation table
	lutData []float32
	norm    step  // the preprocessing dispatch (RunImage), writing the input tensor
	normErr error // why the model's preprocessing cannot run on the GPU

	heat   *heatPlan // the inspector's heatmaps (RunOptions.Inspect)
	cam    *camPlan  // class activation maps (RunOptions.CAM)
	camErr error     // why there are none
	fcW    bufRef    // the fc's weights and epilogue, which the CAM kernel reads too
	fcE    bufRef

	slots []slot // the ops' dispatches grouped by stage row, in program order
	// taps are the stage rows showing each tensor (Program.Taps);
	// writer is the segment of a run that writes each storage tensor: 0
	// for the input, slot i's at i+1.
	taps   [][]model.StageRef
	writer map[int]int
	mem    Memory
}

// scratch lists the plan's buffers that are neither weights nor arena.
func (p *plan) scratch() []*wgpu.Buffer {
	var out []*wgpu.Buffer
	for _, b := range []*wgpu.Buffer{p.staging, p.probe, p.pix, p.lut} {
		if b != nil {
			out = append(out, b)
		}
	}
	return out
}

// slot is the dispatches of consecutive ops that count in the same row
// of the stage table (a block's convs, a pool), for timing.
type slot struct {
	at    model.StageRef
	steps []step
	out   int // storage tensor of the last op's output (a profiled run waits for it)
}

// step is one dispatch, resolved to a bind group when the plan is built.
type step struct {
	k     *kernel
	bufs  []bufRef
	x, y  uint32
	bg    *wgpu.BindGroup
	layer string // the conv or op it runs, for errors
}

// bufRef names a buffer of the plan before buffers exist: an arena slot
// (all of it), or a byte range of a weight chunk or of the epilogue buffer.
type bufRef struct {
	kind         int // refAct, refWeights, refEp
	i            int
	offset, size uint64
}

const (
	refAct = iota
	refWeights
	refEp
	refParams
)

func actRef(slot int) bufRef { return bufRef{kind: refAct, i: slot} }

// builder accumulates a plan's packed weights, epilogues and conv shapes.
type builder struct {
	p        *plan
	m        *weights.Model
	dry      bool  // compile the pipelines only: no weights packed
	chunks   []int // each weight chunk's size in words
	packs    []pending
	chunkMax int // words per chunk
	align    int // words: storage binding offset alignment
	ep       []float32
	params   []byte // conv shapes (uniforms)
	ualign   int    // bytes: uniform binding offset alignment
	scratch  packScratch
}

// pending is one layer's weights, placed but not packed yet: allocate
// packs and uploads the layers one at a time into buffers of their final
// size, so the Go heap (which in a browser never shrinks) holds one
// layer's packed copy at a time, not the whole network's beside the
// model's own.
type pending struct {
	name  string
	w     bufRef // its range of a weight chunk
	words int    // without the padding to the binding alignment
	ep    int    // its floats' offset in the epilogue
	pack  func() (words []uint32, ep []float32, err error)
}

// packScratch is what packing reuses from one layer to the next: a few
// output channels of the layer's int8 weights read from the file (about
// packChunk bytes), and its packed words, the largest layer's size (2.4
// MB in ResNet-50). Allocated anew for every layer they would add 25 MB
// each to the Go allocations of a load, and grown to fit they would take
// a new span at each larger layer (some 11 MB more Go heap, which in a
// browser never shrinks). A nil *packScratch allocates afresh.
type packScratch struct {
	raw   []int8
	words []uint32
}

// packChunk is about how many bytes of int8 weights are read at a time.
const packChunk = 256 << 10

// rowsOf is a reader of w's int8 values an output channel (per values) at
// a time, channels asked for in increasing order: read from the file a
// chunk of channels at a time into s's buffer, or sliced out of the
// values the model holds.
func (s *packScratch) rowsOf(w *weights.Tensor, per int) func(n int) ([]int8, error) {
	var chunk []int8
	from, to := 0, 0
	return func(n int) ([]int8, error) {
		if n < from || n >= to {
			rows := min(max(1, packChunk/per), w.Shape[0]-n)
			var buf []int8
			if s != nil {
				buf = s.raw
			}
			q, err := w.Int8Range(buf, n*per, rows*per)
			if err != nil {
				return nil, err
			}
			if s != nil && w.I8 == nil {
				s.raw = q
			}
			chunk, from, to = q, n, n+rows
		}
		return chunk[(n-from)*per : (n-from+1)*per], nil
	}
}

// zeroed is n zero words.
func (s *packScratch) zeroed(n int) []uint32 {
	if s == nil {
		return make([]uint32, n)
	}
	if cap(s.words) < n {
		s.words = make([]uint32, n)
	}
	s.words = s.words[:n]
	clear(s.words)
	return s.words
}

// addWeights places a layer of n words in a chunk at a bindable offset
// and its nep epilogue floats (scales then biases), to be filled by pack.
func (bl *builder) addWeights(name string, n, nep int, pack func() ([]uint32, []float32, error)) (w, ep bufRef, err error) {
	size := (n + bl.align - 1) / bl.align * bl.align
	if size > bl.chunkMax {
		return bufRef{}, bufRef{}, fmt.Errorf("%d weight bytes exceed the device's storage binding size", 4*n)
	}
	last := len(bl.chunks) - 1
	if last < 0 || bl.chunks[last]+size > bl.chunkMax {
		bl.chunks = append(bl.chunks, 0)
		last++
	}
	w = bufRef{kind: refWeights, i: last, offset: uint64(4 * bl.chunks[last]), size: uint64(4 * size)}
	bl.chunks[last] += size
	off := len(bl.ep)
	ep = bl.addEp(make([]float32, nep))
	bl.packs = append(bl.packs, pending{name: name, w: w, words: n, ep: off, pack: pack})
	return w, ep, nil
}

// addEp places one layer's scales and biases at a bindable offset.
func (bl *builder) addEp(v ...[]float32) bufRef {
	off := len(bl.ep)
	for _, x := range v {
		bl.ep = append(bl.ep, x...)
	}
	for (len(bl.ep)-off)%bl.align != 0 {
		bl.ep = append(bl.ep, 0)
	}
	return bufRef{kind: refEp, offset: uint64(4 * off), size: uint64(4 * (len(bl.ep) - off))}
}

// addParams places one conv's shape uniform at a bindable offset.
func (bl *builder) addParams(b []byte) bufRef {
	off := len(bl.params)
	bl.params = append(bl.params, b...)
	for len(bl.params)%bl.ualign != 0 {
		bl.params = append(bl.params, 0)
	}
	return bufRef{kind: refParams, offset: uint64(off), size: uint64(len(b))}
}

// conv plans one convolution of in into out, optionally adding residual.
func (bl *builder) conv(c model.Conv, in act, residual *act, relu bool, out act) (step, error) {
	if in.c != c.Cin {
		return step{}, fmt.Errorf("conv %s takes %d channels but gets %d", c.Name, c.Cin, in.c)
	}
	g, err := newConvGeom(c, bl.p.b, in.h, in.w, residual != nil, relu)
	if err != nil {
		return step{}, err
	}
	g.XS = in.stride()
	g.F32 = bl.m.Meta.Scheme == weights.F32 // weights run as the file stores them
	if g.Cout != out.c || g.HO != out.h || g.WO != out.w {
		return step{}, fmt.Errorf("conv %s gives %dx%dx%d, the program says %dx%dx%d", c.Name, g.Cout, g.HO, g.WO, out.c, out.h, out.w)
	}
	if residual != nil && (residual.c != c.Cout || residual.h != g.HO || residual.w != g.WO) {
		return step{}, fmt.Errorf("conv %s: shortcut %dx%dx%d does not match output %dx%dx%d",
			c.Name, residual.c, residual.h, residual.w, c.Cout, g.HO, g.WO)
	}
	t := bl.p.d.tile(g)
	var wr, er bufRef
	if !bl.dry {
		w, b := bl.m.Weight(c.Name)
		n, nep := g.packedSize(t)
		var err error
		wr, er, err = bl.addWeights("conv "+c.Name, n, nep, func() ([]uint32, []float32, error) {
			cw, err := packConv(g, t, w, b, &bl.scratch)
			return cw.words, append(cw.scale, cw.bias...), err
		})
		if err != nil {
			return step{}, fmt.Errorf("conv %s: %w", c.Name, err)
		}
	}
	k, err := bl.p.d.convKernel(g, t)
	if err != nil {
		return step{}, fmt.Errorf("conv %s: %w", c.Name, err)
	}
	refs := []bufRef{actRef(in.slot), wr, er, actRef(out.slot), actRef(in.slot)}
	if residual != nil {
		refs[4] = actRef(residual.slot)
	}
	refs = append(refs, bl.addParams(convParams(g, t)))
	x, y := convGrid(g, t)
	if lim := bl.p.d.limits.MaxComputeWorkgroupsPerDimension; lim > 0 && (x > lim || y > lim) {
		return step{}, fmt.Errorf("conv %s: %dx%d workgroups exceed the device's %d per dimension", c.Name, x, y, lim)
	}
	return step{k: k, bufs: refs, x: x, y: y, layer: c.Name}, nil
}

// fc plans the classifier of in into out.
func (bl *builder) fc(l model.Linear, in, out act) (step, error) {
	f := fcGeom{B: bl.p.b, In: in.c, Out: l.Out, F32: bl.m.Meta.Scheme == weights.F32}
	if l.In != in.c || out.c != l.Out {
		return step{}, fmt.Errorf("%s takes %d features but gets %d", l.Name, l.In, in.c)
	}
	var wr, er bufRef
	if !bl.dry {
		fw, fb := bl.m.Weight(l.Name)
		n, nep := f.packedSize()
		var err error
		wr, er, err = bl.addWeights(l.Name, n, nep, func() ([]uint32, []float32, error) { return packFC(f, fw, fb, &bl.scratch) })
		if err != nil {
			return step{}, fmt.Errorf("%s: %w", l.Name, err)
		}
		bl.p.fcW, bl.p.fcE = wr, er
	}
	src, err := genFC(f)
	if err != nil {
		return step{}, err
	}
	k, err := bl.p.d.kernel(l.Name, src, []bool{false, false, false, true})
	if err != nil {
		return step{}, err
	}
	x, y := fcGrid(f)
	return step{k: k, bufs: []bufRef{actRef(in.slot), wr, er, actRef(out.slot)}, x: x, y: y, layer: l.Name}, nil
}

// pool plans a max pool (or a global average pool) of in into out.
func (bl *builder) pool(avg bool, in, out act) (step, error) {
	d := bl.p.d
	pg := poolGeom{B: bl.p.b, H: in.h, W: in.w, C: in.c}
	kernel, name := d.maxPoolKernel, "maxpool"
	if avg {
		kernel, name = d.avgPoolKernel, "avgpool"
	}
	k, x, y, err := kernel(pg)
	if err != nil {
		return step{}, err
	}
	return step{k: k, bufs: []bufRef{actRef(in.slot), actRef(out.slot)}, x: x, y: y, layer: name}, nil
}

// newPlan builds the plan of model m for batches of b images of h×w.
func newPlan(d *Device, m *weights.Model, b, h, w int) (*plan, error) {
	return buildPlan(d, m, b, h, w, false)
}

// buildPlan compiles m's Program for batches of b images of h×w: one
// pipeline choice per op, the arena from the program's liveness. When
// dry, it only compiles the plan's pipelines (m needs no tensors) and
// returns a plan without buffers, not to be run.
func buildPlan(d *Device, m *weights.Model, b, h, w int, dry bool) (*plan, error) {
	prog, err := m.Net.Program(b, h, w)
	if err != nil {
		return nil, err
	}
	p := &plan{d: d, b: b, h: h, w: w, classes: m.Net.FC.Out, prog: prog, lay: newLayout(prog), taps: prog.Taps()}
	maxBind := min(d.limits.MaxStorageBufferBindingSize, d.limits.MaxBufferSize)
	align := max(256, int(d.limits.MinStorageBufferOffsetAlignment)) / 4
	bl := &builder{p: p, m: m, dry: dry, align: align, chunkMax: int(min(maxBind, 1<<30)/4) / align * align,
		ualign: max(256, int(d.limits.MinUniformBufferOffsetAlignment))}
	ok := false
	defer func() {
		if !ok {
			p.close()
		}
	}()

	acts := p.lay.acts
	p.writer = map[int]int{acts[prog.Input].slot: 0}
	// RunImage fills the input from bytes; a model whose preprocessing
	// the kernel cannot do still runs from float tensors.
	if p.lutData, p.normErr = normTable(m.Meta.Preprocess); p.normErr == nil {
		k, x, y, err := d.normalizeKernel(m.Meta.Preprocess, b*h*w)
		if err != nil {
			return nil, err
		}
		p.norm = step{k: k, bufs: []bufRef{actRef(acts[prog.Input].slot)}, x: x, y: y, layer: "normalize"}
	}
	stepName, total := StepUploading, len(prog.Ops)+1 // the upload is the last step
	if dry {
		stepName, total = StepCompiling, len(prog.Ops)
	}
	last := time.Now()
	for i, op := range prog.Ops {
		d.report(stepName, i, total)
		if i > 0 {
			d.pause(&last)
		}
		in, out := acts[op.In], acts[op.Out]
		var st step
		var err error
		switch op.Kind {
		case model.OpConv:
			var res *act
			if op.Residual >= 0 {
				res = &acts[op.Residual]
			}
			st, err = bl.conv(op.Conv, in, res, p.lay.relu(prog, i), out)
		case model.OpReLU:
			if !p.lay.fused[i] {
				err = fmt.Errorf("a ReLU runs on the GPU only in the epilogue of the conv before it, whose output it alone reads")
			}
		case model.OpMaxPool, model.OpAvgPool:
			st, err = bl.pool(op.Kind == model.OpAvgPool, in, out)
		case model.OpFlatten:
			// A view: the next op reads the pooled features as they are.
		case model.OpFC:
			st, err = bl.fc(op.FC, in, out)
		default:
			err = fmt.Errorf("op kind %q is not supported on the GPU", op.Kind)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op.Name, err)
		}
		if st.k == nil {
			continue // no dispatch of its own
		}
		at := model.StageRef{Stage: op.Stage, Block: op.Block}
		if n := len(p.slots); n == 0 || p.slots[n-1].at != at {
			p.slots = append(p.slots, slot{at: at})
		}
		sl := &p.slots[len(p.slots)-1]
		sl.steps = append(sl.steps, st)
		sl.out = out.slot
		p.writer[out.slot] = len(p.slots)
	}
	// The CAM kernel is compiled with the rest, so that a first run
	// asking for maps pays no compile (SwiftShader's are slow).
	if tap, err := prog.CAMTap(); err != nil {
		p.camErr = err
	} else if p.cam, err = p.planCAM(tap, p.fcW, p.fcE, bl.m.Meta.Scheme == weights.F32); err != nil {
		return nil, err
	}
	// So are the heatmaps' kernels.
	if p.heat, err = p.planHeat(align); err != nil {
		return nil, err
	}
	if dry {
		d.report(stepName, total, total)
		return p, nil // nothing to free: no buffer was made
	}

	d.report(stepName, total-1, total)
	d.pause(&last)
	if err := p.allocate(bl); err != nil {
		return nil, err
	}
	d.report(stepName, total, total)
	p.measure()
	ok = true
	return p, nil
}

// act is the arena buffer holding tensor id.
func (p *plan) act(id int) *wgpu.Buffer { return p.acts[p.bufOf[id]] }

// allocate creates the buffers, uploads the weights and makes every bind group.
func (p *plan) allocate(bl *builder) error {
	d := p.d
	for i, size := range bl.chunks {
		buf, err := d.newBuffer(fmt.Sprintf("weights%d", i), uint64(4*size), storageUsage)
		if err != nil {
			return err
		}
		p.weights = append(p.weights, buf)
	}
	// The scratch at its largest from the start (see packScratch).
	most := 0
	for _, pk := range bl.packs {
		most = max(most, pk.words)
	}
	bl.scratch.words = make([]uint32, 0, most)
	if most > 0 && bl.m.Meta.Scheme == weights.Int8 {
		bl.scratch.raw = make([]int8, 0, packChunk)
	}
	last := time.Now()
	for i := range bl.packs {
		if i > 0 {
			d.pause(&last) // packing is the long part of a plan: let the page breathe
		}
		pk := &bl.packs[i]
		words, ep, err := pk.pack()
		if err != nil {
			return fmt.Errorf("%s: %w", pk.name, err)
		}
		if len(words) != pk.words || pk.ep+len(ep) > len(bl.ep) {
			return fmt.Errorf("%s: packed %d words and %d epilogue values, planned %d", pk.name, len(words), len(ep), pk.words)
		}
		copy(bl.ep[pk.ep:], ep)
		buf := p.weights[pk.w.i]
		if err := d.write(buf, pk.w.offset, wordBytes(words)); err != nil {
			return err
		}
		// Zero the padding too: not every native backend zeroes new buffers.
		if pad := int(pk.w.size) - 4*len(words); pad > 0 {
			if err := d.write(buf, pk.w.offset+uint64(4*len(words)), make([]byte, pad)); err != nil {
				return err
			}
		}
		pk.pack = nil // its packed copy is garbage once written
	}
	bl.scratch = packScratch{} // the largest layer's buffers: garbage now
	var err error
	if p.ep, err = d.newBuffer("epilogue", uint64(4*len(bl.ep)), storageUsage); err != nil {
		return err
	}
	if err := d.write(p.ep, 0, f32Bytes(bl.ep)); err != nil {
		return err
	}
	if p.params, err = d.newBuffer("params", uint64(len(bl.params)), wgpu.BufferUsageUniform|wgpu.BufferUsageCopyDst); err != nil {
		return err
	}
	if err := d.write(p.params, 0, bl.params); err != nil {
		return err
	}
	ids, lives := p.lay.lives(p.prog, p.b)
	sizes, of := assign(lives)
	p.bufOf = make([]int, len(p.prog.Tensors))
	for i, id := range ids {
		p.bufOf[id] = of[i]
	}
	for i, size := range sizes {
		if uint64(size) > d.limits.MaxStorageBufferBindingSize {
			return fmt.Errorf("an activation of %d bytes exceeds the device's storage binding size %d: use a smaller batch",
				size, d.limits.MaxStorageBufferBindingSize)
		}
		buf, err := d.newBuffer(fmt.Sprintf("act%d", i), uint64(size), storageUsage)
		if err != nil {
			return err
		}
		p.acts = append(p.acts, buf)
	}
	n := p.b * p.classes
	if p.staging, err = d.newBuffer("logits", uint64(4*n), wgpu.BufferUsageMapRead|wgpu.BufferUsageCopyDst); err != nil {
		return err
	}
	if p.probe, err = d.newBuffer("probe", 16, wgpu.BufferUsageMapRead|wgpu.BufferUsageCopyDst); err != nil {
		return err
	}
	if p.norm.k != nil {
		if p.pix, err = d.newBuffer("pixels", uint64(4*p.b*p.h*p.w), storageUsage); err != nil {
			return err
		}
		if p.lut, err = d.newBuffer("lut", uint64(4*len(p.lutData)), storageUsage); err != nil {
			return err
		}
		if err := d.write(p.lut, 0, f32Bytes(p.lutData)); err != nil {
			return err
		}
		if p.norm.bg, err = d.bind(p.norm.k, whole(p.pix), whole(p.lut), whole(p.act(p.norm.bufs[0].i))); err != nil {
			return fmt.Errorf("normalize: %w", err)
		}
	}
	if err := p.heat.allocate(p); err != nil {
		return err
	}
	for si := range p.slots {
		for ti := range p.slots[si].steps {
			st := &p.slots[si].steps[ti]
			spans := make([]span, len(st.bufs))
			for i, r := range st.bufs {
				switch r.kind {
				case refAct:
					spans[i] = whole(p.act(r.i))
				case refWeights:
					spans[i] = span{buf: p.weights[r.i], offset: r.offset, size: r.size}
				case refParams:
					spans[i] = span{buf: p.params, offset: r.offset, size: r.size}
				default:
					spans[i] = span{buf: p.ep, offset: r.offset, size: r.size}
				}
			}
			if st.bg, err = d.bind(st.k, spans...); err != nil {
				return fmt.Errorf("%s: %w", st.layer, err)
			}
		}
	}
	return nil
}

// close releases the plan's bind groups and buffers (pipelines belong to the device).
func (p *plan) close() {
	// Work of a failed run (say, one whose readback was canceled) may
	// still be queued: freeing its buffers under it crashes the driver.
	_ = p.d.dev.WaitIdle()
	for _, s := range p.slots {
		for _, st := range s.steps {
			if st.bg != nil {
				st.bg.Release()
			}
		}
	}
	if p.norm.bg != nil {
		p.norm.bg.Release()
	}
	p.heat.release()
	for _, b := range append(append(p.weights, p.acts...), p.ep, p.params, p.staging, p.probe, p.pix, p.lut) {
		if b != nil {
			b.Release()
		}
	}
	p.slots, p.weights, p.acts, p.ep, p.params, p.staging, p.probe, p.pix, p.lut = nil, nil, nil, nil, nil, nil, nil, nil, nil
	p.norm = step{}
}
