package shaders

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/weights"
)

// Engine runs one model on the GPU; it implements model.Engine. It
// compiles a plan per input size on first use (pipelines, weights uploaded
// once per plan, activation arena, bind groups) and reuses it; runs are
// serialized. With RunOptions.Profile, in the browser where the adapter
// has the timestamp-query feature (Chrome's SwiftShader does), the pass
// stays one submission and timestamps around each stage's compute pass
// time it; elsewhere (gogpu/wgpu v0.34.5 has no compute-pass timestamps
// natively) each stage is submitted alone and waited for, so its time
// includes a submit and a 16-byte readback.
type Engine struct {
	d     *Device
	m     *weights.Model
	mu    sync.Mutex
	plans map[[3]int]*plan
	fresh [][3]int // plans built by the call in progress
	// batches is maxBatch's answer by input size (and budget).
	batches map[[3]int]int
	owns    bool // Close closes d too (OpenEngine)
}

var _ model.Engine = (*Engine)(nil)

// NewEngine prepares an engine for m on d. Weights are uploaded when the
// first plan is built (Prepare or Run).
func NewEngine(d *Device, m *weights.Model) (*Engine, error) {
	if d == nil || d.dev == nil {
		return nil, fmt.Errorf("gpu engine: device is not open")
	}
	if m == nil || len(m.Net.Layers) == 0 {
		return nil, fmt.Errorf("gpu engine: model has no layers (Net not laid out?)")
	}
	return &Engine{d: d, m: m, plans: map[[3]int]*plan{}, batches: map[[3]int]int{}}, nil
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
func (e *Engine) Name() string { return "webgpu (" + strings.TrimPrefix(e.d.Name(), "webgpu: ") + ")" }

// Prepare builds the plan for batches of b images of h×w pixels ahead of
// the first Run: it compiles every pipeline, uploads the weights and runs
// the network once on a blank input, since drivers may finish compiling a
// pipeline only when it is first dispatched (lavapipe does). SwiftShader
// compiles when a pipeline is created (TestColdBreakdown: a first run no
// slower than the second), and a run there takes seconds, so there the
// blank run is skipped.
func (e *Engine) Prepare(ctx context.Context, b, h, w int) error {
	b, err := e.planBatch(b, h, w)
	if err != nil {
		return fmt.Errorf("gpu engine: prepare: %w", err)
	}
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
		if _, err := p.run(ctx, input{rgba: make([]byte, 4*b*h*w)}, model.RunOptions{}); err != nil {
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
	if d == nil {
		return fmt.Errorf("gpu precompile: no device")
	}
	// Not under one outer do, as locked would: each pipeline is then made
	// under error scopes of its own, which in the browser settle only once
	// the GPU process has compiled it, so the progress SetProgress reports
	// counts compiled pipelines, not requested ones.
	d.gpuMu.Lock()
	defer d.gpuMu.Unlock()
	if _, err := buildPlan(d, m, b, h, w, true); err != nil {
		return fmt.Errorf("gpu precompile: plan for [%d,3,%d,%d]: %w", b, h, w, err)
	}
	return nil
}

// TimeLayer runs the named layer (a conv or the fc, as model.Op names
// them) of the plan for batches of b images of h×w alone, twice, on
// whatever its buffers hold, and returns the faster time in ms, waiting
// for the GPU as a run does: a probe of this device's speed that costs a
// few percent of a run (model.LayerTimer). The plan is built first if no
// Prepare or Run has built it.
func (e *Engine) TimeLayer(ctx context.Context, name string, b, h, w int) (float64, error) {
	b, err := e.planBatch(b, h, w)
	if err != nil {
		return 0, fmt.Errorf("gpu engine: time %s: %w", name, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	best := math.Inf(1)
	err = e.locked("gpu engine: time "+name, func() error {
		p, err := e.plan(b, h, w)
		if err != nil {
			return err
		}
		var seg segment
		for _, sl := range p.slots {
			for _, st := range sl.steps {
				if st.layer == name {
					seg.ds = append(seg.ds, dispatch{k: st.k, bg: st.bg, x: st.x, y: st.y, z: 1})
				}
			}
		}
		if len(seg.ds) == 0 {
			return fmt.Errorf("no layer %q in the plan", name)
		}
		// The probe copy makes the readback wait for the layer.
		seg.copies = []copyOp{{src: p.acts[0], dst: p.probe, size: 16}}
		for range 2 {
			t0 := time.Now()
			if err := e.d.submitSegments([]segment{seg}); err != nil {
				return err
			}
			if _, err := readback(ctx, p.probe, 4); err != nil {
				return err
			}
			best = min(best, float64(time.Since(t0).Nanoseconds())/1e6)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return best, nil
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
// metadata, and every row of the Program's stage table (conv1 includes
// the stem's ReLU, which runs in its epilogue, so with Inspect its heatmap
// shows the output after ReLU; bn1+relu and flatten take no time). The
// weights run as the file stores them: int8, or f32. A batch larger than
// the device's limits allow (maxBatch) runs in sub-batches. With
// RunOptions.CAM the maps of each image's top-k classes come from
// cam.wgsl, in a second submission once the logits are read. Run blocks
// until the GPU is done: in the browser, call it from a goroutine of its
// own, never from a JS callback.
func (e *Engine) Run(ctx context.Context, x *model.Tensor, opt model.RunOptions) (*model.Result, error) {
	if err := checkNCHW(x); err != nil || x.Shape[1] != 3 {
		return nil, fmt.Errorf("gpu engine: input must be a non-empty [B,3,H,W] tensor")
	}
	for _, v := range x.Data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("gpu engine: input has non-finite values")
		}
	}
	per := len(x.Data) / x.Shape[0]
	return e.run(ctx, x.Shape[0], x.Shape[2], x.Shape[3], func(lo, hi, n int) input {
		part := x.Images(lo, hi)
		if hi-lo < n { // the last sub-batch, padded to the plan's batch with blank images
			part = &model.Tensor{Shape: []int{n, 3, x.Shape[2], x.Shape[3]},
				Data: append(append(make([]float32, 0, n*per), part.Data...), make([]float32, (n-hi+lo)*per)...)}
		}
		return input{x: part}
	}, opt)
}

// RunImage classifies b images given as bytes, preprocessing them on the
// GPU: rgba holds b crops of h×w pixels, four bytes (R, G, B, A) a pixel,
// rows packed, one image after another (PackRGBA lays *image.RGBA out so;
// preprocess.Prepare's crop is such an image). A kernel (normalize.wgsl)
// orders the channels as the model wants and normalises them through a
// table computed with model/preprocess's float32 steps, so the network
// sees bit for bit what preprocess.Prepare's tensor holds, while the
// upload is a quarter of a float input's. The result is Run's.
func (e *Engine) RunImage(ctx context.Context, rgba []byte, b, h, w int, opt model.RunOptions) (*model.Result, error) {
	if err := checkRGBA(rgba, b, h, w); err != nil {
		return nil, err
	}
	per := 4 * h * w
	return e.run(ctx, b, h, w, func(lo, hi, n int) input {
		part := rgba[lo*per : hi*per]
		if hi-lo < n {
			part = append(append(make([]byte, 0, n*per), part...), make([]byte, (n-hi+lo)*per)...)
		}
		return input{rgba: part}
	}, opt)
}

// input is what a run starts from: a float tensor or RGBA bytes.
type input struct {
	x    *model.Tensor
	rgba []byte
}

// run classifies b images of h×w, taking images lo to hi of the batch
// as an input of n images from slice.
func (e *Engine) run(ctx context.Context, b, h, w int, slice func(lo, hi, n int) input, opt model.RunOptions) (*model.Result, error) {
	n, err := e.planBatch(b, h, w)
	if err != nil {
		return nil, fmt.Errorf("gpu engine: %w", err)
	}
	if b == n {
		return e.runPlan(ctx, b, h, w, slice(0, b, b), opt)
	}
	full, err := e.m.Net.Program(b, h, w)
	if err != nil {
		return nil, fmt.Errorf("gpu engine: %w", err)
	}
	res, err := model.RunInBatches(ctx, b, n, full, func(ctx context.Context, lo, hi int) (*model.Result, error) {
		r, err := e.runPlan(ctx, n, h, w, slice(lo, hi, n), opt)
		if err != nil {
			return nil, err
		}
		r.Logits, r.Top = r.Logits[:hi-lo], r.Top[:hi-lo]
		if r.CAMs != nil {
			r.CAMs = r.CAMs[:hi-lo]
		}
		return r, nil
	})
	if err != nil {
		return nil, fmt.Errorf("gpu engine: %w", err)
	}
	return res, nil
}

// planBatch is the batch of the plan that runs b images of h×w: b, or
// when that exceeds maxBatch, the size of equal sub-batches that share one
// plan (51 images that fit 33 at once run as 26 and 25 padded to 26, not
// as 33 and 18).
func (e *Engine) planBatch(b, h, w int) (int, error) {
	n, err := e.maxBatch(h, w)
	if err != nil || b <= n {
		return b, err
	}
	parts := (b + n - 1) / n
	return (b + parts - 1) / parts, nil
}

// runPlan runs one batch through the plan of its shape.
func (e *Engine) runPlan(ctx context.Context, b, h, w int, in input, opt model.RunOptions) (*model.Result, error) {
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
	res.SetTop(e.m.Meta.Labels, opt.K())
	return res, nil
}

// run executes the plan on an input.
func (p *plan) run(ctx context.Context, src input, opt model.RunOptions) (*model.Result, error) {
	d := p.d
	prog, acts := p.prog, p.lay.acts
	in := acts[prog.Input]
	if src.rgba != nil {
		if p.normErr != nil {
			return nil, fmt.Errorf("preprocess on the gpu: %w", p.normErr)
		}
		if err := d.write(p.pix, 0, src.rgba); err != nil {
			return nil, err
		}
	} else if err := d.write(p.act(in.slot), 0, f32Bytes(toNHWCPad(src.x, in.pad))); err != nil {
		return nil, err
	}
	res := model.NewResult(prog)
	// segs[0] prepares the input; segs[i+1] runs slot i. Each stage row's
	// tensor is copied for inspection right after the segment that
	// writes its storage, before the arena reuses it.
	segs := make([]segment, len(p.slots)+1)
	if src.rgba != nil {
		segs[0].ds = append(segs[0].ds, dispatch{k: p.norm.k, bg: p.norm.bg, x: p.norm.x, y: p.norm.y, z: 1})
	}
	for i, s := range p.slots {
		for _, st := range s.steps {
			segs[i+1].ds = append(segs[i+1].ds, dispatch{k: st.k, bg: st.bg, x: st.x, y: st.y, z: 1})
		}
	}
	if opt.Inspect {
		p.heat.record(p, segs)
	}
	logitBytes := uint64(4 * p.b * p.classes)
	last := &segs[len(segs)-1]
	last.copies = append(last.copies, copyOp{src: p.act(acts[prog.Output].slot), dst: p.staging, size: logitBytes})
	if opt.Inspect {
		last.copies = append(last.copies, p.heat.readCopies()...)
	}

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
			p.inputTime(res, segs[0], ms[0])
			for i, t := range ms[1:] {
				res.AddTime(p.slots[i].at.Stage, p.slots[i].at.Block, t)
			}
		}
	}
	if opt.Profile && !timed {
		for i := range segs {
			if len(segs[i].ds) == 0 {
				if err := d.submitSegments(segs[i : i+1]); err != nil {
					return nil, err
				}
				continue
			}
			out := in.slot
			if i > 0 {
				out = p.slots[i-1].out
			}
			t0 := time.Now()
			sg := segs[i]
			sg.copies = append(append([]copyOp(nil), sg.copies...), copyOp{src: p.act(out), dst: p.probe, size: 16})
			if err := d.submitSegments([]segment{sg}); err != nil {
				return nil, err
			}
			if _, err := readback(ctx, p.probe, 4); err != nil {
				return nil, err
			}
			t := float64(time.Since(t0).Nanoseconds()) / 1e6
			if i == 0 {
				p.inputTime(res, sg, t)
			} else {
				res.AddTime(p.slots[i-1].at.Stage, p.slots[i-1].at.Block, t)
			}
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
	if opt.CAM {
		if res.CAMs, err = p.cams(ctx, res.Logits, opt.K()); err != nil {
			return nil, err
		}
	}
	if opt.Inspect {
		data, err := readback(ctx, p.heat.read, p.heat.floats)
		if err != nil {
			return nil, err
		}
		hs := p.heat.heatmaps(data, p.b)
		for t, refs := range p.taps {
			for _, r := range refs {
				res.Row(r).SetHeatmaps(hs[acts[t].slot])
			}
		}
	}
	return res, nil
}

// inputTime counts the input segment's time (the preprocessing kernel of
// RunImage) in the input's row.
func (p *plan) inputTime(res *model.Result, sg segment, ms float64) {
	if len(sg.ds) == 0 {
		return
	}
	for _, r := range p.taps[p.prog.Input] {
		res.AddTime(r.Stage, r.Block, ms)
	}
}
