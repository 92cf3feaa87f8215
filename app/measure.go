package app

import "fmt"

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
func (c *controller) measureEngines(job runJob, b batch) (gpuFailed string) {
	n := len(b.Names)
	labels := job.model.Meta.Labels
	const what = "Measuring GPU vs CPU on this software adapter"
	cpu, err := c.engines.get(BackendCPU, job.model)
	if err != nil {
		c.endMeasuring(job)
		c.failRun(err)
		return ""
	}
	shown := false
	if !c.engines.isReady(BackendGPU, n, job.size) {
		// Start (or join) the warm-up now: it runs in the browser's GPU
		// process while this goroutine holds the page's thread.
		m := job.model
		c.d.goFn(func() { c.engines.ready(BackendGPU, m, n, job.size) })
		c.say(fmt.Sprintf("%s: a first answer from the CPU while the GPU engine gets ready…", what))
		r, ms, err := runEngine(cpu, b.X, labels)
		if err != nil {
			c.endMeasuring(job)
			c.failRun(err)
			return ""
		}
		a := newAnswer(b, r, ms)
		c.update(func() { c.record(job, a); c.show(job, a) })
		shown = true
	}
	c.say(what + ": preparing the GPU engine (compiling shaders, uploading weights)…")
	gpu, err := c.engines.ready(BackendGPU, job.model, n, job.size)
	if err != nil {
		return c.gpuFailed(job, err, shown)
	}
	c.say(fmt.Sprintf("%s: running %d image%s on WebGPU…", what, n, plural(n)))
	r, gpuMs, err := runEngine(gpu, b.X, labels)
	if err != nil {
		return c.gpuFailed(job, err, shown)
	}
	gpuRes := newAnswer(b, r, gpuMs)
	c.update(func() {
		c.record(job, gpuRes)
		if !shown {
			c.show(job, gpuRes)
		}
	})
	c.say(fmt.Sprintf("%s: WebGPU took %s; now the CPU…", what, formatSeconds(gpuMs)))
	r, cpuMs, err := runEngine(cpu, b.X, labels)
	if err != nil {
		c.endMeasuring(job)
		c.failRun(err)
		return ""
	}
	cpuRes := newAnswer(b, r, cpuMs)
	c.update(func() {
		c.record(job, cpuRes)
		ch := engineChoice{GPUMs: gpuMs / float64(n), CPUMs: cpuMs / float64(n)}
		ch.Backend = fasterBackend(ch.GPUMs, ch.CPUMs)
		current := job.size == c.size
		if current && c.choice.Manual {
			// The toggle was used during the measurement: it wins, and
			// keeps the timings.
			ch.Backend, ch.Manual = c.choice.Backend, true
		}
		c.settings.set(c.choiceKey(job.size), ch.encode())
		c.measuring = false
		if current {
			c.choice, c.backend, c.measure = ch, ch.Backend, false
		}
		final := gpuRes
		if ch.Backend == BackendCPU {
			final = cpuRes
		}
		c.show(job, final)
		c.fallback = ""
		c.status = fmt.Sprintf("Done: %d image%s classified on %s (measured: WebGPU %s, CPU %s for this batch).",
			n, plural(n), final.res.Engine, formatSeconds(gpuMs), formatSeconds(cpuMs))
		c.finish()
	})
	return ""
}

// endMeasuring ends a measurement that could not finish: nothing is
// remembered, and the next run does not measure again in this visit at
// this size (a later visit tries again).
func (c *controller) endMeasuring(job runJob) {
	c.update(func() {
		c.measuring = false
		if job.size == c.size {
			c.measure = false
		}
	})
}

// gpuFailed ends a measurement whose GPU side failed: nothing is measured
// or remembered (a later visit tries again) and the CPU takes over. When
// the CPU has already answered, the run ends here and "" is returned;
// otherwise the message to show is returned, for the caller to run the
// batch on the CPU. The toggle still offers the GPU.
func (c *controller) gpuFailed(job runJob, err error, answered bool) string {
	msg := fmt.Sprintf("The GPU engine failed (%v); images run on the CPU.", err)
	c.update(func() {
		c.measuring = false
		if job.size == c.size {
			c.measure = false
			if !c.choice.Manual {
				c.backend = BackendCPU
			}
		}
		if answered {
			c.fallback = msg
			c.status = fmt.Sprintf("Done: %d image%s classified on the CPU.", c.goodN, plural(c.goodN))
			c.finish()
		}
	})
	if answered {
		return ""
	}
	return msg
}
