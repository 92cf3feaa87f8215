package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/weights"
)

// Answer first, measure after. On a software adapter with nothing
// remembered, a run answers on the engine predicted faster (predict) and
// shows that answer at once; the other engine is timed afterwards, in the
// background, once the page is idle (measureInBackground), and the faster
// one is kept for the next runs and remembered for this adapter and
// model. So the first answer costs one run of one engine, never a run of
// both.

// measureJob is a background measurement: the batch a run answered, and
// how that run went.
type measureJob struct {
	job     runJob
	b       batch
	first   Backend // the engine that answered
	firstMs float64 // its run, for the whole batch
	// retime: the first run shared the machine with the GPU engine's
	// preparation, so its time is not a fair one and the engine runs
	// again after the other.
	retime bool
}

// predict picks the engine for a run on a software adapter with nothing
// measured yet, and says why (in a goroutine). When the GPU engine is
// prepared for this shape, each engine times one layer (probeLayer) and
// the faster answers. When it is not, the CPU answers, since it is ready
// now; the GPU gets ready afterwards, for the measurement. shared is then
// true when the GPU's preparation had started already: it is held while
// the CPU answers, but a shader it was compiling shares the machine.
func (c *controller) predict(job runJob, n int) (b Backend, why string, shared bool) {
	m := job.model
	if !c.engines.isReady(BackendGPU, n, job.size) {
		c.mu.Lock()
		shared = c.precompiled || c.warmed
		c.mu.Unlock()
		return BackendCPU, "The CPU answered first: the GPU engine was not ready yet.", shared
	}
	layer := probeLayer(m.Net, n, job.size)
	cpu, err := c.engines.get(BackendCPU, m)
	if err != nil || layer == "" {
		return BackendCPU, "", false
	}
	gpu, err := c.engines.ready(BackendGPU, m, n, job.size)
	if err != nil {
		return BackendCPU, "", false
	}
	ct, ok1 := cpu.(model.LayerTimer)
	gt, ok2 := gpu.(model.LayerTimer)
	if !ok1 || !ok2 {
		return BackendCPU, "", false
	}
	c.say(fmt.Sprintf("Timing one layer (%s) on each engine to pick the faster…", layer))
	ctx := context.Background()
	cpuMs, err := ct.TimeLayer(ctx, layer, n, job.size, job.size)
	if err != nil {
		return BackendCPU, "", false
	}
	gpuMs, err := gt.TimeLayer(ctx, layer, n, job.size, job.size)
	if err != nil {
		return BackendCPU, "", false
	}
	b = fasterBackend(gpuMs, cpuMs)
	return b, fmt.Sprintf("One layer (%s) took %s on WebGPU and %s on the CPU, so the %s answered first.",
		layer, formatSeconds(gpuMs), formatSeconds(cpuMs), engineLabel(b)), false
}

// probeLayer names the layer predict times: the conv with the fewest
// MACs among those that do at least 1% of the network's work (a probe of
// a few percent of a run, big enough to be timed well); "" when the
// network has no conv.
func probeLayer(net model.Net, n, size int) string {
	p, err := net.Program(n, size, size)
	if err != nil {
		return ""
	}
	var total int64
	for _, op := range p.Ops {
		total += op.MACs
	}
	best, name := int64(-1), ""
	for _, op := range p.Ops {
		if op.Kind != model.OpConv || op.MACs*100 < total {
			continue
		}
		if best < 0 || op.MACs < best {
			best, name = op.MACs, op.Name
		}
	}
	return name
}

// readyGPU prepares the GPU engine for batches of n images of size×size
// and keeps what the page says about it current (in a goroutine).
func (c *controller) readyGPU(m *weights.Model, n, size int) error {
	c.mu.Lock()
	pre := c.d.engines.precompile
	late := !c.precompiled && pre != nil
	c.precompiled = true
	c.mu.Unlock()
	if late {
		// Deferred while the CPU answered (precompile): compiling first
		// reports its progress as such, apart from the upload.
		pre(m, size)
	}
	_, err := c.engines.ready(BackendGPU, m, n, size)
	c.update(func() {
		if err != nil {
			c.gpuStep = gpuFailed
			return
		}
		if c.gpuStep != gpuReady {
			c.gpuStep = gpuReady
			c.gpuReadyMs = c.d.plat.mark("residual-gpu-ready")
		}
	})
	return err
}

// queueMeasure asks for the other engine to be timed on a run's batch
// once the page is idle (locked).
func (c *controller) queueMeasure(mj *measureJob) {
	c.pending = mj
	c.startMeasure()
}

// startMeasure starts the measurement waiting, if any, when no run is
// under way (locked).
func (c *controller) startMeasure() {
	if c.pending == nil || c.busy || c.measuring {
		return
	}
	mj := c.pending
	c.pending = nil
	c.measuring = true
	ctx, cancel := context.WithCancel(context.Background())
	c.cancelMeasure = cancel
	c.d.goFn(func() { c.measureInBackground(ctx, mj) })
}

// measureInBackground times the engine that did not answer on the same
// batch, and the one that did again when its time was not fair, then
// keeps the faster (in a goroutine). A run asked for meanwhile cancels it
// (the CPU engine stops between layers; a GPU run finishes first); the
// next run then predicts and measures again.
func (c *controller) measureInBackground(ctx context.Context, mj *measureJob) {
	c.d.plat.yield() // let the answer paint first
	job, b := mj.job, mj.b
	n := len(b.Names)
	other := BackendGPU
	if mj.first == BackendGPU {
		other = BackendCPU
	}
	c.update(func() {
		c.status = fmt.Sprintf("Done: %d image%s classified on %s. Measuring the %s engine in the background…",
			n, plural(n), c.shown.Engine, engineLabel(other))
	})
	var eng model.Engine
	var err error
	if other == BackendGPU {
		if err = c.readyGPU(job.model, n, job.size); err == nil {
			eng, err = c.engines.get(BackendGPU, job.model)
		}
	} else {
		eng, err = c.engines.get(BackendCPU, job.model)
	}
	ms := map[Backend]float64{mj.first: mj.firstMs}
	var answers []answer
	if err == nil && ctx.Err() == nil {
		var r *model.Result
		r, ms[other], err = runEngineCtx(ctx, eng, b.X, job.model.Meta.Labels)
		if err == nil {
			answers = append(answers, newAnswer(b, r, ms[other]))
		}
	}
	if err == nil && mj.retime && ctx.Err() == nil {
		var first model.Engine
		if first, err = c.engines.get(mj.first, job.model); err == nil {
			var r *model.Result
			r, ms[mj.first], err = runEngineCtx(ctx, first, b.X, job.model.Meta.Labels)
			if err == nil {
				answers = append(answers, newAnswer(b, r, ms[mj.first]))
			}
		}
	}
	c.update(func() {
		defer c.endMeasure()
		for _, a := range answers {
			c.record(job, a)
			if sh := &c.shown; sh.Engine == a.res.Engine && sh.Size == job.size && sh.Batch == n {
				sh.Latency = c.lat.get(sh.Engine, sh.Size, n) // the warm time, when the same engine ran again
			}
		}
		switch {
		case ctx.Err() != nil || errors.Is(err, context.Canceled):
			// A run was asked for: it predicts and measures again.
		case err != nil && other == BackendGPU:
			c.measure = false
			if !c.choice.Manual && c.linked == "" {
				c.backend = BackendCPU
			}
			c.fallback = fmt.Sprintf("The GPU engine failed (%v); images run on the CPU.", err)
			c.status = fmt.Sprintf("Done: %d image%s classified on %s.", n, plural(n), c.shown.Engine)
		case err != nil:
			c.measure = false
			c.problems = append(c.problems, "Measuring the CPU engine failed: "+err.Error())
		default:
			c.keepMeasurement(job, n, ms[BackendGPU], ms[BackendCPU])
		}
	})
}

// keepMeasurement keeps and remembers a finished measurement (locked).
func (c *controller) keepMeasurement(job runJob, n int, gpuMs, cpuMs float64) {
	ch := engineChoice{GPUMs: gpuMs / float64(n), CPUMs: cpuMs / float64(n), Size: job.size}
	ch.Backend = fasterBackend(ch.GPUMs, ch.CPUMs)
	if c.choice.Manual {
		// The toggle was used meanwhile: it wins, and keeps the timings.
		ch.Backend, ch.Manual = c.choice.Backend, true
	}
	c.settings.set(c.choiceKey(), ch.encode())
	c.choice, c.measure, c.why = ch, false, ""
	if c.linked == "" {
		c.backend = ch.Backend
	}
	c.measuredMs = c.d.plat.mark("residual-measured")
	c.status = fmt.Sprintf("Done: %d image%s classified on %s (measured afterwards: WebGPU %s, CPU %s for this batch; the %s runs the next images).",
		n, plural(n), c.shown.Engine, formatSeconds(gpuMs), formatSeconds(cpuMs), engineLabel(c.backend))
}

// endMeasure ends a background measurement and starts the run asked for
// meanwhile, if any (locked).
func (c *controller) endMeasure() {
	c.measuring = false
	c.cancelMeasure = nil
	if c.again {
		c.again = false
		c.schedule()
	}
}

// stopMeasure cancels a background measurement under way, for a run
// asked for meanwhile; reports whether one was (locked).
func (c *controller) stopMeasure() bool {
	if !c.measuring {
		return false
	}
	if c.cancelMeasure != nil {
		c.cancelMeasure()
	}
	return true
}

// runEngineCtx runs a batch for the page (top-k, heatmaps and stage
// times) and checks that the answer covers it, labelling the top-k from
// the weights when the engine left it out. ctx stops a CPU run between
// layers.
func runEngineCtx(ctx context.Context, e model.Engine, x *model.Tensor, labels []string) (*model.Result, float64, error) {
	start := time.Now()
	res, err := e.Run(ctx, x, model.RunOptions{TopK: topK, Inspect: true, Profile: true, CAM: true})
	ms := msSince(start)
	if err != nil {
		return nil, ms, fmt.Errorf("%s engine: %w", e.Name(), err)
	}
	if res == nil {
		return nil, ms, fmt.Errorf("%s engine: no result", e.Name())
	}
	if len(res.Top) != x.Shape[0] && len(res.Logits) == x.Shape[0] {
		res.SetTop(labels, topK)
	}
	if len(res.Top) != x.Shape[0] {
		return nil, ms, fmt.Errorf("%s engine: %d answers for %d images", e.Name(), len(res.Top), x.Shape[0])
	}
	if res.Engine == "" {
		res.Engine = e.Name()
	}
	return res, ms, nil
}
