package shaders

import (
	"fmt"
	"math"
	"sort"

	"github.com/gogpu/wgpu"
	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/weights"
)

// plan is a model's forward pass compiled for one input size: every
// pipeline, weight and activation buffer and bind group made up front, so
// a run only uploads the input, records the dispatches and reads back.
type plan struct {
	d       *Device
	b, h, w int
	classes int
	stages  []model.Stage

	weights []*wgpu.Buffer // packed int8 weights, in chunks within the binding limit
	ep      *wgpu.Buffer   // scales and biases
	params  *wgpu.Buffer   // conv shapes
	acts    []*wgpu.Buffer // the activation arena (NHWC tensors, reused by liveness)
	bufOf   []int          // each tensor's arena buffer, by tensor id
	logits  int            // tensor id of the logits
	staging *wgpu.Buffer   // logits readback
	probe   *wgpu.Buffer   // 16-byte readback used to wait for a profiled stage

	pix     *wgpu.Buffer // RunImage's RGBA bytes
	lut     *wgpu.Buffer // and the normalisation table
	lutData []float32
	norm    step  // the preprocessing dispatch (RunImage), writing the input tensor
	normErr error // why the model's preprocessing cannot run on the GPU

	slots   []slot // in forward order, one per stage or block that runs
	tensors []int  // floats of every tensor a run makes (conv outputs inside blocks too)
	mem     Memory
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

// slot is the work of one stage (or one block of a layer) and where its
// output lives, for timing and inspection.
type slot struct {
	stage, block int // index in stages; block index within a layer stage, or -1
	steps        []step
	out          int // tensor id of the output
	c, h, w      int // output per image (channels, height, width)
	pad          int // zero channels after each pixel's c
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

// builder accumulates a plan: packed weights, arena sizes and liveness.
type builder struct {
	p        *plan
	m        *weights.Model
	dry      bool // compile the pipelines only: no weights packed
	chunks   [][]uint32
	chunkMax int // words per chunk
	align    int // words: storage binding offset alignment
	ep       []float32
	params   []byte // conv shapes (uniforms)
	ualign   int    // bytes: uniform binding offset alignment
	life     []life // every tensor, by id
	now      int    // steps planned so far
}

// acquire starts a tensor of n floats, the output of the next step, and
// returns its id. Arena buffers are assigned once the whole network is
// laid out (assign).
func (bl *builder) acquire(n int) int {
	bl.p.tensors = append(bl.p.tensors, n)
	bl.now++
	bl.life = append(bl.life, life{bytes: 4*n + slack, def: bl.now, end: -1})
	return len(bl.life) - 1
}

// release ends tensor id's life at the current step: the step that last
// reads it has been planned (and has its output, so they do not share).
func (bl *builder) release(id int) { bl.life[id].end = bl.now }

// life is a tensor's size and the steps from its writer to its last reader.
type life struct {
	bytes    int
	def, end int // end -1: read after the last step (the logits)
}

func (l life) overlaps(o life) bool {
	end, oend := l.end, o.end
	if end < 0 {
		end = math.MaxInt
	}
	if oend < 0 {
		oend = math.MaxInt
	}
	return l.def <= oend && o.def <= end
}

// assign places every tensor in an arena buffer that no tensor alive at
// the same time uses (WebGPU forbids binding one buffer as both input and
// output of a dispatch, so tensors get whole buffers, not offsets). It
// tries a few greedy orders (largest first, or in time order) and choices
// (the tightest buffer that fits, or the largest) and keeps the smallest
// arena; it returns the buffer sizes and each tensor's buffer.
func assign(lives []life) (sizes, of []int) {
	best := -1
	for _, byTime := range []bool{false, true} {
		for _, tight := range []bool{true, false} {
			s, o := assignGreedy(lives, byTime, tight)
			total := 0
			for _, x := range s {
				total += x
			}
			if best < 0 || total < best {
				best, sizes, of = total, s, o
			}
		}
	}
	return sizes, of
}

// assignGreedy is one greedy assignment: tensors by decreasing size (or
// by start), each into a free buffer, preferring among those that fit the
// tightest (or the largest), else the one that grows least, else a new one.
func assignGreedy(lives []life, byTime, tight bool) (sizes, of []int) {
	order := make([]int, len(lives))
	for i := range order {
		order[i] = i
	}
	if !byTime {
		sort.SliceStable(order, func(a, b int) bool { return lives[order[a]].bytes > lives[order[b]].bytes })
	}
	of = make([]int, len(lives))
	var users [][]int // tensors in each buffer
	for _, t := range order {
		l := lives[t]
		best := -1
		for s := range sizes {
			free := true
			for _, u := range users[s] {
				if lives[u].overlaps(l) {
					free = false
					break
				}
			}
			if !free {
				continue
			}
			if best < 0 {
				best = s
				continue
			}
			b, size := sizes[best], sizes[s]
			switch {
			case size >= l.bytes && b < l.bytes: // the first that fits
				best = s
			case size >= l.bytes && b >= l.bytes && (size < b) == tight:
				best = s
			case size < l.bytes && b < l.bytes && size > b: // neither fits: grow the larger
				best = s
			}
		}
		if best < 0 {
			sizes = append(sizes, 0)
			users = append(users, nil)
			best = len(sizes) - 1
		}
		sizes[best] = max(sizes[best], l.bytes)
		users[best] = append(users[best], t)
		of[t] = best
	}
	return sizes, of
}

// addWeights places one layer's words in a chunk at a bindable offset.
func (bl *builder) addWeights(words []uint32) (bufRef, error) {
	size := (len(words) + bl.align - 1) / bl.align * bl.align
	if size > bl.chunkMax {
		return bufRef{}, fmt.Errorf("%d weight bytes exceed the device's storage binding size", 4*len(words))
	}
	last := len(bl.chunks) - 1
	if last < 0 || len(bl.chunks[last])+size > bl.chunkMax {
		bl.chunks = append(bl.chunks, nil)
		last++
	}
	off := len(bl.chunks[last])
	bl.chunks[last] = append(bl.chunks[last], words...)
	bl.chunks[last] = append(bl.chunks[last], make([]uint32, size-len(words))...)
	return bufRef{kind: refWeights, i: last, offset: uint64(4 * off), size: uint64(4 * size)}, nil
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

// act is an activation in the arena: a tensor id and, per image, its
// NHWC shape c×h×w, each pixel's c values followed by pad zeros.
type act struct{ slot, c, h, w, pad int }

// stride is the floats per pixel of a.
func (a act) stride() int { return a.c + a.pad }

// inputPad is the network input's zero channels: stored as 3 channels and
// a zero, the stem reads whole vec4s, so it runs the same conv pipeline as
// the rest of the network (one compile fewer) and loads a pixel at once.
const inputPad = 1

// conv plans one convolution of in, optionally adding residual, and
// returns its output.
func (bl *builder) conv(c model.Conv, in act, residual *act, relu bool) (act, step, error) {
	if in.c != c.Cin {
		return act{}, step{}, fmt.Errorf("conv %s takes %d channels but gets %d", c.Name, c.Cin, in.c)
	}
	g, err := newConvGeom(c, bl.p.b, in.h, in.w, residual != nil, relu)
	if err != nil {
		return act{}, step{}, err
	}
	g.XS = in.stride()
	if residual != nil && (residual.c != c.Cout || residual.h != g.HO || residual.w != g.WO) {
		return act{}, step{}, fmt.Errorf("conv %s: shortcut %dx%dx%d does not match output %dx%dx%d",
			c.Name, residual.c, residual.h, residual.w, c.Cout, g.HO, g.WO)
	}
	t := bl.p.d.tile(g)
	var wr, er bufRef
	if !bl.dry {
		w, b := bl.m.Weight(c.Name)
		cw, err := packConv(g, t, w, b)
		if err != nil {
			return act{}, step{}, fmt.Errorf("conv %s: %w", c.Name, err)
		}
		if wr, err = bl.addWeights(cw.words); err != nil {
			return act{}, step{}, fmt.Errorf("conv %s: %w", c.Name, err)
		}
		er = bl.addEp(cw.scale, cw.bias)
	}
	k, err := bl.p.d.convKernel(g, t)
	if err != nil {
		return act{}, step{}, fmt.Errorf("conv %s: %w", c.Name, err)
	}
	out := act{slot: bl.acquire(g.M() * g.Cout), c: g.Cout, h: g.HO, w: g.WO}
	refs := []bufRef{actRef(in.slot), wr, er, actRef(out.slot), actRef(in.slot)}
	if residual != nil {
		refs[4] = actRef(residual.slot)
	}
	refs = append(refs, bl.addParams(convParams(g, t)))
	x, y := convGrid(g, t)
	if lim := bl.p.d.limits.MaxComputeWorkgroupsPerDimension; lim > 0 && (x > lim || y > lim) {
		return act{}, step{}, fmt.Errorf("conv %s: %dx%d workgroups exceed the device's %d per dimension", c.Name, x, y, lim)
	}
	return out, step{k: k, bufs: refs, x: x, y: y, layer: c.Name}, nil
}

// newPlan builds the plan of model m for batches of b images of h×w.
func newPlan(d *Device, m *weights.Model, b, h, w int) (*plan, error) {
	return buildPlan(d, m, b, h, w, false)
}

// buildPlan is newPlan; when dry, it only compiles the plan's pipelines
// (m needs no tensors) and returns a plan without buffers, not to be run.
func buildPlan(d *Device, m *weights.Model, b, h, w int, dry bool) (*plan, error) {
	net := m.Net
	stages, err := net.Stages(b, h, w)
	if err != nil {
		return nil, err
	}
	p := &plan{d: d, b: b, h: h, w: w, classes: net.FC.Out, stages: stages}
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
	stageAt := func(name string) (int, error) {
		for i, s := range stages {
			if s.Name == name {
				return i, nil
			}
		}
		return 0, fmt.Errorf("no stage %s", name)
	}
	addSlot := func(name string, block int, a act, steps ...step) error {
		i, err := stageAt(name)
		if err != nil {
			return err
		}
		p.slots = append(p.slots, slot{stage: i, block: block, steps: steps, out: a.slot, c: a.c, pad: a.pad, h: a.h, w: a.w})
		return nil
	}

	in := act{slot: bl.acquire(b * h * w * (3 + inputPad)), c: 3, pad: inputPad, h: h, w: w}
	if err := addSlot("input", -1, in); err != nil {
		return nil, err
	}
	// RunImage fills the input from bytes; a model whose preprocessing
	// the kernel cannot do still runs from float tensors.
	if p.lutData, p.normErr = normTable(m.Meta.Preprocess); p.normErr == nil {
		k, x, y, err := d.normalizeKernel(m.Meta.Preprocess, b*h*w)
		if err != nil {
			return nil, err
		}
		p.norm = step{k: k, bufs: []bufRef{actRef(in.slot)}, x: x, y: y, layer: "normalize"}
	}
	y, st, err := bl.conv(net.Stem, in, nil, true)
	if err != nil {
		return nil, err
	}
	// The stem's ReLU runs in its epilogue: bn1+relu is free.
	if err := addSlot(net.Stem.Name, -1, y, st); err != nil {
		return nil, err
	}
	// Only the stem reads the input; each run uploads it before any dispatch.
	bl.release(in.slot)
	if err := addSlot(net.Stem.BN+"+relu", -1, y); err != nil {
		return nil, err
	}
	pg := poolGeom{B: b, H: y.h, W: y.w, C: y.c}
	mk, gx, gy, err := d.maxPoolKernel(pg)
	if err != nil {
		return nil, err
	}
	ho, wo := pg.outSize()
	pooled := act{slot: bl.acquire(b * ho * wo * y.c), c: y.c, h: ho, w: wo}
	if err := addSlot("maxpool", -1, pooled, step{k: mk, bufs: []bufRef{actRef(y.slot), actRef(pooled.slot)}, x: gx, y: gy, layer: "maxpool"}); err != nil {
		return nil, err
	}
	bl.release(y.slot)
	y = pooled

	for _, l := range net.Layers {
		for bi, blk := range l.Blocks {
			var steps []step
			shortcut := y
			if blk.Downsample != nil {
				s, st, err := bl.conv(*blk.Downsample, y, nil, false)
				if err != nil {
					return nil, err
				}
				steps = append(steps, st)
				shortcut = s
			}
			// Each input is released once the conv reading it has its
			// output (a conv must not write where it reads): the block's
			// input goes after its first conv unless it is the shortcut.
			cur := y
			for i, c := range blk.Convs {
				var res *act
				if i == len(blk.Convs)-1 {
					res = &shortcut
				}
				next, st, err := bl.conv(c, cur, res, true)
				if err != nil {
					return nil, err
				}
				steps = append(steps, st)
				if cur.slot != shortcut.slot {
					bl.release(cur.slot)
				}
				cur = next
			}
			bl.release(shortcut.slot)
			y = cur
			if err := addSlot(l.Name, bi, y, steps...); err != nil {
				return nil, err
			}
		}
	}

	pg = poolGeom{B: b, H: y.h, W: y.w, C: y.c}
	ak, gx, gy, err := d.avgPoolKernel(pg)
	if err != nil {
		return nil, err
	}
	feat := act{slot: bl.acquire(b * y.c), c: y.c, h: 1, w: 1}
	if err := addSlot("avgpool", -1, feat, step{k: ak, bufs: []bufRef{actRef(y.slot), actRef(feat.slot)}, x: gx, y: gy, layer: "avgpool"}); err != nil {
		return nil, err
	}
	bl.release(y.slot)
	if err := addSlot("flatten", -1, feat); err != nil {
		return nil, err
	}
	f := fcGeom{B: b, In: feat.c, Out: net.FC.Out}
	if net.FC.In != feat.c {
		return nil, fmt.Errorf("%s takes %d features but gets %d", net.FC.Name, net.FC.In, feat.c)
	}
	var wr, er bufRef
	if !bl.dry {
		fw, fb := m.Weight(net.FC.Name)
		words, ep, err := packFC(f, fw, fb)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", net.FC.Name, err)
		}
		if wr, err = bl.addWeights(words); err != nil {
			return nil, fmt.Errorf("%s: %w", net.FC.Name, err)
		}
		er = bl.addEp(ep)
	}
	src, err := genFC(f)
	if err != nil {
		return nil, err
	}
	fk, err := d.kernel(net.FC.Name, src, []bool{false, false, false, true})
	if err != nil {
		return nil, err
	}
	logits := act{slot: bl.acquire(b * f.Out), c: f.Out, h: 1, w: 1}
	fx, fy := fcGrid(f)
	if err := addSlot(net.FC.Name, -1, logits, step{k: fk, bufs: []bufRef{actRef(feat.slot), wr, er, actRef(logits.slot)},
		x: fx, y: fy, layer: net.FC.Name}); err != nil {
		return nil, err
	}
	p.logits = logits.slot
	if dry {
		return p, nil // nothing to free: no buffer was made
	}

	if err := p.allocate(bl); err != nil {
		return nil, err
	}
	p.measure()
	ok = true
	return p, nil
}

// act is the arena buffer holding tensor id.
func (p *plan) act(id int) *wgpu.Buffer { return p.acts[p.bufOf[id]] }

// allocate creates the buffers, uploads the weights and makes every bind group.
func (p *plan) allocate(bl *builder) error {
	d := p.d
	for i, words := range bl.chunks {
		buf, err := d.newBuffer(fmt.Sprintf("weights%d", i), uint64(4*len(words)), storageUsage)
		if err != nil {
			return err
		}
		p.weights = append(p.weights, buf)
		if err := d.write(buf, 0, u32Bytes(words)); err != nil {
			return err
		}
	}
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
	sizes, of := assign(bl.life)
	p.bufOf = of
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
	for _, b := range append(append(p.weights, p.acts...), p.ep, p.params, p.staging, p.probe, p.pix, p.lut) {
		if b != nil {
			b.Release()
		}
	}
	p.slots, p.weights, p.acts, p.ep, p.params, p.staging, p.probe, p.pix, p.lut = nil, nil, nil, nil, nil, nil, nil, nil, nil
	p.norm = step{}
}
