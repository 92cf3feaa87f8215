package shaders

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/gogpu/wgpu"
	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/weights"
)

// DefaultTopK is how many predictions per image Run returns when
// Options.TopK is not positive.
const DefaultTopK = 5

// Options says what Run reports besides the logits.
type Options struct {
	TopK    int  // predictions per image, best first (DefaultTopK when ≤ 0)
	Inspect bool // fill every stage's Heatmap (first image of the batch)
	// Profile fills every StageResult.Ms with that stage's GPU time. In
	// the browser, when the adapter has the timestamp-query feature
	// (Chrome's SwiftShader does), the pass stays one submission and
	// timestamps written around each stage's compute pass time it.
	// Elsewhere (gogpu/wgpu v0.34.5 has no compute-pass timestamps
	// natively) each stage is submitted alone and waited for: its time
	// then includes a submit and a 16-byte readback. Without Profile the
	// stage times are left zero.
	Profile bool
}

// Engine runs one model on the GPU. It compiles a plan per input size on
// first use (pipelines, weights uploaded once per plan, activation arena,
// bind groups) and reuses it; runs are serialized.
type Engine struct {
	d     *Device
	m     *weights.Model
	mu    sync.Mutex
	plans map[[3]int]*plan
	fresh [][3]int // plans built by the call in progress
	owns  bool     // Close closes d too (OpenEngine)
}

// NewEngine prepares an engine for m on d. Weights are uploaded when the
// first plan is built (Prepare or Run).
func NewEngine(d *Device, m *weights.Model) (*Engine, error) {
	if d == nil || d.dev == nil {
		return nil, fmt.Errorf("gpu engine: device is not open")
	}
	if m == nil || len(m.Net.Layers) == 0 {
		return nil, fmt.Errorf("gpu engine: model has no layers (Net not laid out?)")
	}
	return &Engine{d: d, m: m, plans: map[[3]int]*plan{}}, nil
}

// OpenEngine builds an engine for m that owns its device: d when it is
// not nil (say, one that Precompile has prepared), else a newly opened
// one. Close then closes both; when building fails the device is closed.
func OpenEngine(ctx context.Context, d *Device, m *weights.Model) (*Engine, error) {
	if d == nil {
		var err error
		if d, err = Open(ctx); err != nil {
			return nil, err
		}
	}
	e, err := NewEngine(d, m)
	if err != nil {
		d.Close()
		return nil, err
	}
	e.owns = true
	return e, nil
}

// Name is what Result.Engine says for this engine.
func (e *Engine) Name() string { return "webgpu (" + e.d.Name() + ")" }

// Prepare builds the plan for batches of b images of h×w pixels ahead of
// the first Run: it compiles every pipeline, uploads the weights and runs
// the network once on a blank input, since drivers may finish compiling a
// pipeline only when it is first dispatched (lavapipe does). SwiftShader
// compiles when a pipeline is created (TestColdBreakdown: a first run no
// slower than the second), and a run there takes seconds, so there the
// blank run is skipped.
func (e *Engine) Prepare(ctx context.Context, b, h, w int) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.locked("gpu engine: prepare", func() error {
		p, err := e.plan(b, h, w)
		if err != nil {
			return err
		}
		if e.d.class == classSwiftShader {
			return nil
		}
		// A blank image runs every kernel, the preprocessing one included.
		if _, err := p.run(ctx, input{rgba: make([]byte, 4*b*h*w)}, Options{}); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
		return nil
	})
}

// Precompile creates every pipeline that a plan of m for batches of b
// images of h×w uses and keeps them on the device, for the engines built
// on it later. m needs only its metadata and network, as
// weights.DecodeHeader gives them from a file's first bytes: call it while
// the weights download, since compiling is what makes a first run slow on
// a software adapter (SwiftShader compiles a conv pipeline in about 2 s,
// when it is created). Drivers that compile at first dispatch (lavapipe)
// finish that part in the first run or Prepare.
func (d *Device) Precompile(ctx context.Context, m *weights.Model, b, h, w int) error {
	if m == nil || len(m.Net.Layers) == 0 {
		return fmt.Errorf("gpu precompile: model has no layers (Net not laid out?)")
	}
	return d.locked("gpu precompile", func() error {
		if _, err := buildPlan(d, m, b, h, w, true); err != nil {
			return fmt.Errorf("plan for [%d,3,%d,%d]: %w", b, h, w, err)
		}
		return nil
	})
}

func (e *Engine) plan(b, h, w int) (*plan, error) {
	key := [3]int{b, h, w}
	if p, ok := e.plans[key]; ok {
		return p, nil
	}
	p, err := newPlan(e.d, e.m, b, h, w)
	if err != nil {
		return nil, fmt.Errorf("plan for [%d,3,%d,%d]: %w", b, h, w, err)
	}
	e.plans[key] = p
	e.fresh = append(e.fresh, key)
	return p, nil
}

// locked runs f as the device's locked does, and forgets the plans built
// during f when it fails: in the browser a plan's pipelines may turn out
// invalid only then (and the device drops them), so the next call must
// build the plan again rather than reuse a broken one.
func (e *Engine) locked(what string, f func() error) error {
	e.fresh = e.fresh[:0]
	err := e.d.locked(what, f)
	if err != nil {
		func() {
			defer func() { _ = recover() }() // releasing on a lost device must not crash
			for _, key := range e.fresh {
				if p := e.plans[key]; p != nil {
					p.close()
					delete(e.plans, key)
				}
			}
		}()
	}
	e.fresh = e.fresh[:0]
	return err
}

// Close releases every plan's buffers, and the device when the engine
// owns it (OpenEngine); else the device stays open. Closing the engine of
// a lost device is allowed.
func (e *Engine) Close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	func() {
		defer func() { _ = recover() }() // releasing on a lost device must not crash
		for k, p := range e.plans {
			p.close()
			delete(e.plans, k)
		}
	}()
	if e.owns {
		e.d.Close()
	}
}

// Run classifies a batch: x is the preprocessed input [B,3,H,W]. It
// returns the logits, the top predictions labelled from the model's
// metadata, and every stage of Net.Stages (conv1 includes the stem's ReLU,
// which runs in its epilogue, so with Inspect its heatmap shows the output
// after ReLU; bn1+relu and flatten take no time). A model stored as f32 is
// quantized to int8 (per output channel) when its plan is built. Run blocks
// until the GPU is done: in the browser, call it from a goroutine of its
// own, never from a JS callback.
func (e *Engine) Run(ctx context.Context, x *model.Tensor, opt Options) (*model.Result, error) {
	if err := checkNCHW(x); err != nil || x.Shape[1] != 3 {
		return nil, fmt.Errorf("gpu engine: input must be a non-empty [B,3,H,W] tensor")
	}
	for _, v := range x.Data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("gpu engine: input has non-finite values")
		}
	}
	return e.run(ctx, x.Shape[0], x.Shape[2], x.Shape[3], input{x: x}, opt)
}

// RunImage classifies b images given as bytes, preprocessing them on the
// GPU: rgba holds b crops of h×w pixels, four bytes (R, G, B, A) a pixel,
// rows packed, one image after another (PackRGBA lays *image.RGBA out so;
// preprocess.Prepare's crop is such an image). A kernel (normalize.wgsl)
// orders the channels as the model wants and normalises them through a
// table computed with model/preprocess's float32 steps, so the network
// sees bit for bit what preprocess.Prepare's tensor holds, while the
// upload is a quarter of a float input's. The result is Run's.
func (e *Engine) RunImage(ctx context.Context, rgba []byte, b, h, w int, opt Options) (*model.Result, error) {
	if err := checkRGBA(rgba, b, h, w); err != nil {
		return nil, err
	}
	return e.run(ctx, b, h, w, input{rgba: rgba}, opt)
}

// input is what a run starts from: a float tensor or RGBA bytes.
type input struct {
	x    *model.Tensor
	rgba []byte
}

func (e *Engine) run(ctx context.Context, b, h, w int, in input, opt Options) (*model.Result, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var res *model.Result
	err := e.locked("gpu engine: run", func() error {
		p, err := e.plan(b, h, w)
		if err != nil {
			return err
		}
		res, err = p.run(ctx, in, opt)
		return err
	})
	if err != nil {
		return nil, err
	}
	res.Engine = e.Name()
	k := opt.TopK
	if k <= 0 {
		k = DefaultTopK
	}
	for _, row := range res.Logits {
		res.Top = append(res.Top, model.TopK(row, e.m.Meta.Labels, k))
	}
	return res, nil
}

// run executes the plan on an input.
func (p *plan) run(ctx context.Context, src input, opt Options) (*model.Result, error) {
	d := p.d
	in := p.slots[0]
	if src.rgba != nil {
		if p.normErr != nil {
			return nil, fmt.Errorf("preprocess on the gpu: %w", p.normErr)
		}
		if err := d.write(p.pix, 0, src.rgba); err != nil {
			return nil, err
		}
	} else if err := d.write(p.act(in.out), 0, f32Bytes(toNHWCPad(src.x, in.pad))); err != nil {
		return nil, err
	}
	res := &model.Result{Stages: make([]model.StageResult, len(p.stages))}
	for i, st := range p.stages {
		res.Stages[i].Stage = st
		for _, b := range st.Blocks {
			res.Stages[i].Blocks = append(res.Stages[i].Blocks, model.StageResult{Stage: b})
		}
	}
	var inspect *wgpu.Buffer
	regions := make([]int, len(p.slots)) // float offset of each slot's copy in inspect
	if opt.Inspect {
		total := 0
		for i, s := range p.slots {
			if i > 0 && len(s.steps) == 0 && s.out == p.slots[i-1].out {
				regions[i] = regions[i-1] // same data as the previous stage
				continue
			}
			regions[i] = total
			total += (s.c + s.pad) * s.h * s.w
		}
		var err error
		if inspect, err = d.newBuffer("inspect", uint64(4*total), wgpu.BufferUsageMapRead|wgpu.BufferUsageCopyDst); err != nil {
			return nil, err
		}
		defer inspect.Release()
	}
	segs := make([]segment, len(p.slots))
	if src.rgba != nil {
		segs[0].ds = append(segs[0].ds, dispatch{k: p.norm.k, bg: p.norm.bg, x: p.norm.x, y: p.norm.y, z: 1})
	}
	for i, s := range p.slots {
		for _, st := range s.steps {
			segs[i].ds = append(segs[i].ds, dispatch{k: st.k, bg: st.bg, x: st.x, y: st.y, z: 1})
		}
		if opt.Inspect && (i == 0 || regions[i] != regions[i-1]) {
			segs[i].copies = append(segs[i].copies, copyOp{src: p.act(s.out), dst: inspect,
				dstOff: uint64(4 * regions[i]), size: uint64(4 * (s.c + s.pad) * s.h * s.w)})
		}
	}
	logitBytes := uint64(4 * p.b * p.classes)
	last := &segs[len(segs)-1]
	last.copies = append(last.copies, copyOp{src: p.act(p.logits), dst: p.staging, size: logitBytes})

	timed := false
	if opt.Profile {
		// GPU timestamps, where the adapter has them, time each stage
		// within one submission; else each stage is submitted alone.
		ms, ok, err := d.submitTimed(ctx, segs)
		if err != nil {
			return nil, err
		}
		if ok {
			timed = true
			for i, t := range ms {
				if len(segs[i].ds) > 0 {
					p.record(res, p.slots[i], t)
				}
			}
		}
	}
	if opt.Profile && !timed {
		for i := range segs {
			s := p.slots[i]
			if len(segs[i].ds) == 0 {
				if err := d.submitSegments(segs[i : i+1]); err != nil {
					return nil, err
				}
				continue
			}
			t0 := time.Now()
			sg := segs[i]
			sg.copies = append(append([]copyOp(nil), sg.copies...), copyOp{src: p.act(s.out), dst: p.probe, size: 16})
			if err := d.submitSegments([]segment{sg}); err != nil {
				return nil, err
			}
			if _, err := readback(ctx, p.probe, 4); err != nil {
				return nil, err
			}
			p.record(res, s, float64(time.Since(t0).Nanoseconds())/1e6)
		}
	} else if !timed {
		if err := d.submitSegments(segs); err != nil {
			return nil, err
		}
	}
	logits, err := readback(ctx, p.staging, p.b*p.classes)
	if err != nil {
		return nil, err
	}
	for i := 0; i < p.b; i++ {
		res.Logits = append(res.Logits, logits[i*p.classes:(i+1)*p.classes])
	}
	if opt.Inspect {
		data, err := readback(ctx, inspect, int(inspect.Size()/4))
		if err != nil {
			return nil, err
		}
		for i, s := range p.slots {
			hm := heatmapNHWC(data[regions[i]:regions[i]+(s.c+s.pad)*s.h*s.w], s.c, s.pad, s.h, s.w)
			st := &res.Stages[s.stage]
			if s.block >= 0 {
				st.Blocks[s.block].Heatmap = hm
			}
			st.Heatmap = hm // a layer shows its last block's output
		}
	}
	return res, nil
}

// record adds a slot's measured time to its stage (and block).
func (p *plan) record(res *model.Result, s slot, ms float64) {
	st := &res.Stages[s.stage]
	st.Ms += ms
	if s.block >= 0 {
		st.Blocks[s.block].Ms += ms
	}
}

// heatmapNHWC summarises one image's channels-last activation (pad
// zeros after each pixel's c values) as cpu's engine does: a spatial map
// of the channel mean, or a strip of the values of a vector.
func heatmapNHWC(data []float32, c, pad, h, w int) *model.Heatmap {
	if h == 1 && w == 1 {
		return model.MakeHeatmap(data[:c], 1, 1, c)
	}
	mean := make([]float32, h*w)
	for p := range mean {
		var s float64
		for _, v := range data[p*(c+pad) : p*(c+pad)+c] {
			s += float64(v)
		}
		mean[p] = float32(s / float64(c))
	}
	return model.MakeHeatmap(mean, 1, h, w)
}
