package wasmsimd

import (
	"context"
	"fmt"
	"time"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/weights"
)

// EngineName is what Result.Engine says for this engine.
const EngineName = "wasm-simd"

// Engine runs an int8 model through the kernel module: every conv's
// weights packed into the module's memory once, activations allocated
// there by the Program's liveness, the Go side only sequencing ops. It
// implements model.Engine.
type Engine struct {
	opt     Options
	k       *Kernels
	m       *weights.Model
	net     model.Net
	conv    map[string]*packed
	scratch uint32     // gemm_i8's strip of 8 columns, for the largest K
	arena   scratchBuf // a run's activations (see arenaPlan)
}

// Options choose how the engine computes.
type Options struct {
	// Int8Activations quantizes each conv's and the fc's input to 8 bits
	// (one scale per tensor found at run time: its largest |x| / 127, or
	// / 255 as unsigned bytes when it has no negative value, as after a
	// ReLU) and multiplies them by the int8 weights with i16x8 dot
	// products into exact int32 sums; otherwise activations stay float32.
	// With the relaxed-SIMD build of the module (see RelaxedSIMD) the
	// unsigned ones are multiplied with relaxed dot products (the same
	// sums, fewer instructions).
	Int8Activations bool
	// Workers is how many instances of the module share each call: 0
	// picks DefaultWorkers(). In the browser the others run in Web
	// Workers, which need a cross-origin isolated page (SharedArrayBuffer);
	// where it is not, the engine runs on one, and Mode says why.
	Workers int
	// WorkerURL is where the page serves WorkerJS (say
	// "/web/wasmsimd-worker.js"); empty: a Blob URL of it, which a
	// Content-Security-Policy must then allow (worker-src blob:). Not
	// used natively.
	WorkerURL string

	// Yield, when not nil, is called between ops once YieldEvery has
	// passed since the last call (from New's warm-up run on), so that the
	// browser's one thread, which runs the kernels, can repaint and take
	// input during a run.
	Yield      func()
	YieldEvery time.Duration
}

// packed is one conv's (or the fc's) weights in module memory: per
// group, the layout of the GEMM in use, then scales and biases for all
// outputs.
type packed struct {
	w            []uint32 // per group
	scale, bias  uint32
	groups, k, n int // n outputs per group, k inputs per output
	kp           int // Int8Activations: k rounded up to 16
}

var _ model.Engine = (*Engine)(nil)

// New loads the kernel module and packs m's weights into it. Only int8
// weight files run here (the f32 scheme is for the other engines).
func New(ctx context.Context, wasm []byte, m *weights.Model, opt Options) (*Engine, error) {
	if m.Meta.Scheme != weights.Int8 {
		return nil, fmt.Errorf("wasm-simd engine: %s weights are not supported yet (int8 only)", m.Meta.Scheme)
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = DefaultWorkers()
	}
	k, err := load(ctx, wasm, workers, opt.WorkerURL)
	if err != nil {
		return nil, err
	}
	e := &Engine{opt: opt, k: k, m: m, net: m.Net, conv: map[string]*packed{}}
	p, err := m.Net.Layout()
	if err != nil {
		k.Close()
		return nil, err
	}
	var s packScratch
	for _, op := range p.Ops {
		var err error
		switch op.Kind {
		case model.OpConv:
			err = e.pack(op.Name, op.Conv.Groups, &s)
		case model.OpFC:
			err = e.pack(op.Name, 1, &s)
		}
		if err != nil {
			k.Close()
			return nil, fmt.Errorf("wasm-simd engine: %s: %w", op.Name, err)
		}
	}
	maxK := 0
	for _, pk := range e.conv {
		maxK = max(maxK, pk.k)
	}
	if e.scratch, err = k.Alloc(k.ScratchBytes(maxK)); err != nil {
		k.Close()
		return nil, err
	}
	if err := e.warm(ctx); err != nil {
		k.Close()
		return nil, err
	}
	return e, nil
}

// warm runs the network once on a small blank image. A browser compiles
// wasm in two tiers: first a quick baseline, several times slower on SIMD
// loops, and an optimized build of each function only once it has run a
// while. Without this the first real run is that slow one (4.7× the warm
// one in bench-peers); with it the kernels have been tiered up during the
// load, for a few hundredths of the first run's work.
func (e *Engine) warm(ctx context.Context) error {
	const side = 64 // 1/12 of a 224 run's work; 32 did not tier everything up
	if _, err := e.Run(ctx, model.NewTensor(1, 3, side, side), model.RunOptions{TopK: 1}); err != nil {
		return fmt.Errorf("wasm-simd engine: warm-up run: %w", err)
	}
	return nil
}

// packScratch is what packing reuses from one layer to the next: a few
// rows of a layer's int8 weights read from the file and their panels,
// packChunk bytes or so each. Packing a layer whole through buffers grown
// to fit would leave a Go heap (which in a browser never shrinks) some
// 11 MB larger: each larger layer takes a new span, and the old ones
// cannot hold the next.
type packScratch struct {
	raw, panels []int8
}

// packChunk is about how many bytes of weights are packed at a time (a
// variable for the tests).
var packChunk = 256 << 10

// pack places one layer's int8 weights, per group, in gemm_i8's panels
// (or gemm_q8's rows), a few rows at a time.
func (e *Engine) pack(name string, groups int, s *packScratch) error {
	w, b := e.m.Weight(name)
	if w == nil || b == nil || !w.Quantized() || len(w.Scale) != w.Shape[0] {
		return fmt.Errorf("missing int8 weight, scale or bias")
	}
	cout := w.Shape[0]
	per := w.Len() / cout // inputs per output
	n := cout / groups
	pk := &packed{groups: groups, k: per, n: n}
	rowBytes := per // a row's bytes once packed
	if e.opt.Int8Activations {
		pk.kp = (per + 15) / 16 * 16
		rowBytes = pk.kp
	}
	step := max(4, packChunk/per/4*4) // rows at a time: whole panels of 4
	for g := range groups {
		p, err := e.k.Alloc((n + 3) / 4 * 4 * rowBytes)
		if err != nil {
			return err
		}
		pk.w = append(pk.w, p)
		for r0 := 0; r0 < n; r0 += step {
			r1 := min(r0+step, n)
			// Read here when the model left it in its file: the panels
			// are the only copy this engine keeps (CAMs read the
			// classifier's rows back out of them).
			q, err := w.Int8Range(s.raw, (g*n+r0)*per, (r1-r0)*per)
			if err != nil {
				return err
			}
			if w.I8 == nil {
				s.raw = q
			}
			if e.opt.Int8Activations {
				s.panels, _ = PackQ8Into(s.panels, q, r1-r0, per)
			} else {
				s.panels = PackI8Into(s.panels, q, r1-r0, per)
			}
			e.k.WriteI8(p+uint32(r0*rowBytes), s.panels) // rows r0…: panels r0/4…
		}
	}
	var err error
	if pk.scale, err = e.k.Alloc(4 * cout); err != nil {
		return err
	}
	if pk.bias, err = e.k.Alloc(4 * cout); err != nil {
		return err
	}
	e.k.WriteF32(pk.scale, w.Scale)
	e.k.WriteF32(pk.bias, b.Float())
	e.conv[name] = pk
	return nil
}

// Name says which engine this is.
func (e *Engine) Name() string { return EngineName }

// Workers is how many instances share each call (threads: the calling
// one and Web Workers, or goroutines natively).
func (e *Engine) Workers() int { return e.k.Workers() }

// Mode describes how the engine runs, for a backend panel: "wasm SIMD,
// 2 workers", or "wasm SIMD, 1 worker (no SharedArrayBuffer)" where more
// were asked for but the page cannot share memory with Web Workers; with
// Int8Activations ", int8 activations" follows, and " (relaxed SIMD)"
// on the relaxed build.
func (e *Engine) Mode() string {
	s := fmt.Sprintf("wasm SIMD, %d worker", e.k.Workers())
	if e.k.Workers() != 1 {
		s += "s"
	}
	if e.k.reason != "" {
		s += " (" + e.k.reason + ")"
	}
	if e.opt.Int8Activations {
		s += ", int8 activations"
		if e.k.Relaxed() {
			s += " (relaxed SIMD)"
		}
	}
	return s
}

// Close releases the module.
func (e *Engine) Close() { e.k.Close() }

// Run classifies a batch [B,3,H,W], one image at a time through the
// Program's ops.
func (e *Engine) Run(ctx context.Context, x *model.Tensor, opt model.RunOptions) (*model.Result, error) {
	if x == nil || len(x.Shape) != 4 || x.Shape[1] != 3 {
		return nil, fmt.Errorf("wasm-simd engine: input shape %v, want [B,3,H,W]", x.Shape)
	}
	b := x.Shape[0]
	one, err := e.net.Program(1, x.Shape[2], x.Shape[3])
	if err != nil {
		return nil, fmt.Errorf("wasm-simd engine: %w", err)
	}
	full, err := e.net.Program(b, x.Shape[2], x.Shape[3])
	if err != nil {
		return nil, fmt.Errorf("wasm-simd engine: %w", err)
	}
	res := model.NewResult(full)
	res.Engine = EngineName
	tap, err := camTap(one, opt)
	if err != nil {
		return nil, err
	}
	var feats []float32
	for i := range b {
		logits, f, err := e.image(ctx, one, x.Images(i, i+1), res, opt, tap.Features)
		if err != nil {
			return nil, err
		}
		res.Logits = append(res.Logits, logits)
		feats = append(feats, f...)
	}
	res.SetTop(e.m.Meta.Labels, opt.K())
	if opt.CAM {
		if res.CAMs, err = e.cams(one, tap, feats, res.Top); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// image runs the one-image program p on x, adding op times to res; it
// returns the logits and the values of tensor keep (-1: none), read out
// of module memory before its storage is freed.
func (e *Engine) image(ctx context.Context, p *model.Program, x *model.Tensor, res *model.Result, opt model.RunOptions, keep int) (logits, kept []float32, err error) {
	k := e.k
	at, col, err := e.layout(p)
	if err != nil {
		return nil, nil, err
	}
	k.WriteF32(at[p.Input], x.Data)
	taps := p.Taps()
	var heat []float32 // one buffer for every tap's reads
	show := func(t int) {
		if !opt.Inspect || len(taps[t]) == 0 {
			return
		}
		h := model.ReadHeatmap(p.Tensors[t].Shape, func(from, n int) []float32 {
			heat = k.ReadF32Into(heat, at[t]+uint32(4*from), n)
			return heat
		})
		for _, r := range taps[t] { // this image's, after the images before it
			row := res.Row(r)
			row.SetHeatmaps(append(row.Heatmaps, h))
		}
	}
	show(p.Input)
	lastYield := time.Now()
	for i, op := range p.Ops {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		start := time.Now()
		err = e.exec(ctx, op, p, at, col[i])
		if err != nil {
			return nil, nil, fmt.Errorf("wasm-simd engine: %s: %w", op.Name, err)
		}
		if opt.Profile {
			res.AddTime(op.Stage, op.Block, float64(time.Since(start).Microseconds())/1000)
		}
		show(op.Out)
		if op.Out == keep {
			kept = k.ReadF32(at[op.Out], floats(p.Tensors[op.Out].Shape))
		}
		if e.opt.Yield != nil && time.Since(lastYield) >= e.opt.YieldEvery {
			e.opt.Yield()
			lastYield = time.Now()
		}
	}
	return k.ReadF32(at[p.Output], floats(p.Tensors[p.Output].Shape)), kept, nil
}

// layout places the tensors of the one-image program p and each op's
// scratch (colBytes) in e.arena, grown to fit: at is each tensor's
// module address, col each op's scratch's.
func (e *Engine) layout(p *model.Program) (at, col []uint32, err error) {
	temp := make([]int, len(p.Ops))
	for i, op := range p.Ops {
		temp[i] = e.colBytes(op, p)
	}
	off, tmp, total := arenaPlan(p, temp)
	base, err := e.arena.get(e.k, total)
	if err != nil {
		return nil, nil, err
	}
	at, col = make([]uint32, len(off)), make([]uint32, len(tmp))
	for t, o := range off {
		at[t] = base + uint32(o)
	}
	for i, o := range tmp {
		col[i] = base + uint32(o)
	}
	return at, col, nil
}

// colBytes is the scratch op needs while it runs: a conv's patch matrix
// (a strip of it), or with Int8Activations its quantized rows; none for
// a 1×1 stride-1 conv, whose input already is its matrix, or other ops.
func (e *Engine) colBytes(op model.Op, p *model.Program) int {
	pk := e.conv[op.Name]
	out := p.Tensors[op.Out].Shape
	switch {
	case op.Kind == model.OpFC && e.opt.Int8Activations:
		return pk.kp
	case op.Kind != model.OpConv:
		return 0
	case e.opt.Int8Activations:
		return out[2] * out[3] * pk.kp
	case op.Conv.Kernel == 1 && op.Conv.Stride == 1 && op.Conv.Pad == 0:
		return 0
	}
	return 4 * pk.k * stripRows(pk.k, out[2], out[3]) * out[3]
}

// exec runs one op of the one-image program p, its tensors at the module
// addresses at; col is its scratch, colBytes long.
func (e *Engine) exec(ctx context.Context, op model.Op, p *model.Program, at []uint32, col uint32) (err error) {
	k := e.k
	in, out := p.Tensors[op.In].Shape, p.Tensors[op.Out].Shape
	switch op.Kind {
	case model.OpConv:
		c, pk := op.Conv, e.conv[op.Name]
		h, w, oh, ow := in[2], in[3], out[2], out[3]
		if e.opt.Int8Activations {
			err = e.convQ8(ctx, op, pk, at[op.In], in, out, at[op.Out], at, col)
			break
		}
		cg, kk, pp := c.Cin/c.Groups, pk.k, oh*ow
		direct := c.Kernel == 1 && c.Stride == 1 && c.Pad == 0 // the input already is its K×P matrix
		rows := oh
		if !direct {
			rows = stripRows(kk, oh, ow) // as colBytes
		}
		for g := range c.Groups {
			src := at[op.In] + uint32(4*g*cg*h*w)
			out := at[op.Out] + uint32(4*g*pk.n*pp)
			var res uint32
			if op.Residual >= 0 {
				res = at[op.Residual] + uint32(4*g*pk.n*pp)
			}
			for r0 := 0; r0 < oh; r0 += rows {
				n := min(rows, oh-r0)
				cols, off := src, uint32(4*r0*ow)
				if !direct {
					cols = col
					if err := k.Im2col(ctx, src, cg, h, w, c.Kernel, c.Kernel, c.Stride, c.Pad, r0, n, ow, col); err != nil {
						return err
					}
				}
				r := res
				if r != 0 {
					r += off
				}
				if err := k.GemmI8(ctx, pk.w[g], pk.scale+uint32(4*g*pk.n), pk.bias+uint32(4*g*pk.n), cols, kk, n*ow, pk.n,
					out+off, r, pp, op.ReLU, e.scratch); err != nil {
					return err
				}
			}
		}
	case model.OpReLU:
		err = k.ReLU(ctx, at[op.In], floats(p.Tensors[op.In].Shape), at[op.Out])
	case model.OpMaxPool:
		err = k.MaxPool(ctx, at[op.In], in[1], in[2], in[3], model.PoolKernel, model.PoolStride, model.PoolPad, out[2], out[3], at[op.Out])
	case model.OpAvgPool:
		err = k.AvgPool(ctx, at[op.In], in[1], in[2]*in[3], at[op.Out])
	case model.OpFlatten:
	case model.OpFC:
		pk := e.conv[op.Name]
		if e.opt.Int8Activations {
			err = e.convQ8(ctx, op, pk, at[op.In], []int{1, pk.k, 1, 1}, []int{1, pk.n, 1, 1}, at[op.Out], at, col)
			break
		}
		err = k.GemmI8(ctx, pk.w[0], pk.scale, pk.bias, at[op.In], pk.k, 1, pk.n, at[op.Out], 0, 1, false, e.scratch)
	default:
		err = fmt.Errorf("op kind %q is not supported", op.Kind)
	}
	return err
}

// colBudget bounds a conv's patch matrix: past it the conv is laid out
// and multiplied a strip of output rows at a time. Whole, conv1's would
// be 7.4 MB at 224×224 (147 rows of 12544 floats), a layer1 3×3 conv's
// 7.2 MB: the largest block of the kernels' memory, held for good. (A
// variable: the tests shrink it to cut small convs into strips too.)
var colBudget = 1 << 20

// stripRows is how many output rows of width ow one strip of a conv with
// kk inputs per output holds: as many as colBudget allows (at least
// one), trimmed so that a strip's columns are a multiple of the GEMM's 8
// where that costs little.
func stripRows(kk, oh, ow int) int {
	rows := max(1, colBudget/(4*kk*ow))
	if rows >= oh {
		return oh
	}
	for r := rows; r > rows/2; r-- {
		if r*ow%8 == 0 {
			return r
		}
	}
	return rows
}

// floats is the number of values of a tensor of shape s.
func floats(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// scratchBuf is a block of module memory reused from run to run, grown
// (in place, when it is the last block) when a run needs more.
type scratchBuf struct {
	at    uint32
	bytes int
}

// get returns the block, at least n bytes.
func (b *scratchBuf) get(k *Kernels, n int) (uint32, error) {
	if n <= b.bytes {
		return b.at, nil
	}
	b.free(k)
	at, err := k.Alloc(n)
	if err != nil {
		return 0, err
	}
	b.at, b.bytes = at, n
	return at, nil
}

// free releases the block.
func (b *scratchBuf) free(k *Kernels) {
	if b.bytes > 0 {
		k.Free(b.at, b.bytes)
		b.at, b.bytes = 0, 0
	}
}

// convQ8 runs a conv (or the fc, as a 1×1 conv of a 1×1 input) with int8
// activations: the input's scale from its largest |x|, each group's
// patches quantized into rows, then gemm_q8. col holds the rows (oh·ow
// of pk.kp bytes).
func (e *Engine) convQ8(ctx context.Context, op model.Op, pk *packed, src uint32, in, out []int, dst uint32, at []uint32, col uint32) error {
	k := e.k
	c := op.Conv
	if op.Kind == model.OpFC {
		c = model.Conv{Cin: pk.k, Cout: pk.n, Kernel: 1, Stride: 1, Groups: 1}
	}
	h, w, oh, ow := in[2], in[3], out[2], out[3]
	cg, pp := c.Cin/c.Groups, oh*ow
	amax, neg, err := k.Stats(ctx, src, in[1]*h*w)
	if err != nil {
		return err
	}
	levels := float32(127)
	if !neg { // after a ReLU: 0..255
		levels = U8Levels
	}
	sx, inv := amax/levels, float32(0)
	if amax > 0 {
		inv = levels / amax
	}
	for g := range c.Groups {
		if err := k.Im2rowQ8(ctx, src+uint32(4*g*cg*h*w), cg, h, w, c.Kernel, c.Kernel, c.Stride, c.Pad, oh, ow, inv, pk.kp, !neg, col); err != nil {
			return err
		}
		var r uint32
		if op.Residual >= 0 {
			r = at[op.Residual] + uint32(4*g*pk.n*pp)
		}
		if err := k.GemmQ8(ctx, pk.w[g], pk.scale+uint32(4*g*pk.n), sx, pk.bias+uint32(4*g*pk.n), col, pk.kp, pp, pk.n,
			dst+uint32(4*g*pk.n*pp), r, op.ReLU, !neg); err != nil {
			return err
		}
	}
	return nil
}
