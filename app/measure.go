package app

import (
	"fmt"

	goapp "github.com/maxence-charriere/go-app/v10/pkg/app"
)

// measureEngines runs a batch on both engines and keeps the faster, on a
// software adapter with no remembered choice (in a goroutine, like
// execute). It returns "" when it has answered, or, when the GPU failed,
// the message to show while the caller runs the batch on the CPU.
//
// Each engine is timed on a warm run, alone. The GPU's warm-up (compiling
// pipelines, uploading weights, one blank run) is not timed; it usually
// runs in the background from the moment the model is loaded. If it is
// still going when the image comes, the CPU answers first, so that people
// are not kept waiting for a measurement: that run is not timed (the
// warm-up competes with it for the machine's cores), the CPU's second run
// is. Otherwise the GPU answers first and the CPU runs once: it has
// nothing to compile or upload, so its first run is already warm. The
// choice is remembered for this adapter, model and size, and the chosen
// engine's answer stays on screen.
func (p *Page) measureEngines(ctx goapp.Context, job runJob, b batch, say func(string)) (gpuFailed string) {
	n := len(b.Names)
	labels := job.model.Meta.Labels
	const what = "Measuring GPU vs CPU on this software adapter"
	cpu, err := p.engines.get(BackendCPU, job.model)
	if err != nil {
		p.endMeasuring(ctx, job)
		p.failRun(ctx, err)
		return ""
	}
	shown := false
	if !p.engines.isReady(BackendGPU, n, job.size) {
		// Start (or join) the warm-up now: it runs in the browser's GPU
		// process while this goroutine holds the page's thread.
		m := job.model
		ctx.Async(func() { p.engines.ready(BackendGPU, m, n, job.size) })
		say(fmt.Sprintf("%s: a first answer from the CPU while the GPU engine gets ready…", what))
		r, ms, err := runEngine(cpu, b.X, labels)
		if err != nil {
			p.endMeasuring(ctx, job)
			p.failRun(ctx, err)
			return ""
		}
		a := newAnswer(b, r, ms)
		ctx.Dispatch(func(goapp.Context) { p.record(job, a); p.show(job, a) })
		shown = true
	}
	say(what + ": preparing the GPU engine (compiling shaders, uploading weights)…")
	gpu, err := p.engines.ready(BackendGPU, job.model, n, job.size)
	if err != nil {
		return p.gpuFailed(ctx, job, err, shown)
	}
	say(fmt.Sprintf("%s: running %d image%s on WebGPU…", what, n, plural(n)))
	r, gpuMs, err := runEngine(gpu, b.X, labels)
	if err != nil {
		return p.gpuFailed(ctx, job, err, shown)
	}
	gpuRes := newAnswer(b, r, gpuMs)
	ctx.Dispatch(func(goapp.Context) {
		p.record(job, gpuRes)
		if !shown {
			p.show(job, gpuRes)
		}
	})
	say(fmt.Sprintf("%s: WebGPU took %s; now the CPU…", what, formatSeconds(gpuMs)))
	r, cpuMs, err := runEngine(cpu, b.X, labels)
	if err != nil {
		p.endMeasuring(ctx, job)
		p.failRun(ctx, err)
		return ""
	}
	cpuRes := newAnswer(b, r, cpuMs)
	ctx.Dispatch(func(ctx goapp.Context) {
		p.record(job, cpuRes)
		c := engineChoice{GPUMs: gpuMs / float64(n), CPUMs: cpuMs / float64(n)}
		c.Backend = fasterBackend(c.GPUMs, c.CPUMs)
		current := job.size == p.size
		if current && p.choice.Manual {
			// The toggle was used during the measurement: it wins, and
			// keeps the timings.
			c.Backend, c.Manual = p.choice.Backend, true
		}
		p.settings.set(p.choiceKey(job.size), c.encode())
		p.measuring = false
		if current {
			p.choice, p.backend, p.measure = c, c.Backend, false
		}
		final := gpuRes
		if c.Backend == BackendCPU {
			final = cpuRes
		}
		p.show(job, final)
		p.fallback = ""
		p.status = fmt.Sprintf("Done: %d image%s classified on %s (measured: WebGPU %s, CPU %s for this batch).",
			n, plural(n), final.res.Engine, formatSeconds(gpuMs), formatSeconds(cpuMs))
		p.finish(ctx)
	})
	return ""
}

// endMeasuring ends a measurement that could not finish: nothing is
// remembered, and the next run does not measure again in this visit at
// this size (a later visit tries again).
func (p *Page) endMeasuring(ctx goapp.Context, job runJob) {
	ctx.Dispatch(func(goapp.Context) {
		p.measuring = false
		if job.size == p.size {
			p.measure = false
		}
	})
}

// gpuFailed ends a measurement whose GPU side failed: nothing is measured
// or remembered (a later visit tries again) and the CPU takes over. When
// the CPU has already answered, the run ends here and "" is returned;
// otherwise the message to show is returned, for the caller to run the
// batch on the CPU. The toggle still offers the GPU.
func (p *Page) gpuFailed(ctx goapp.Context, job runJob, err error, answered bool) string {
	msg := fmt.Sprintf("The GPU engine failed (%v); images run on the CPU.", err)
	ctx.Dispatch(func(ctx goapp.Context) {
		p.measuring = false
		if job.size == p.size {
			p.measure = false
			if !p.choice.Manual {
				p.backend = BackendCPU
			}
		}
		if answered {
			p.fallback = msg
			p.status = fmt.Sprintf("Done: %d image%s classified on the CPU.", p.goodN, plural(p.goodN))
			p.finish(ctx)
		}
	})
	if answered {
		return ""
	}
	return msg
}
