package app

import (
	"fmt"

	"github.com/residual-webgpu/residual/internal/cpuchoice"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/weights"
)

// runJob is what one run needs, copied off the controller's state.
type runJob struct {
	files   []inputFile
	size    int
	backend Backend
	model   *weights.Model
	file    modelFile // model's weight file (settled after the run)
	measure bool      // answer on the engine predicted faster, then time the other (software adapter)
	input   int       // the input the files are (controller.input)
}

// schedule starts a run of the current images when everything is ready;
// while one runs, it asks for another afterwards (the latest state wins)
// (locked).
func (c *controller) schedule() {
	if len(c.files) == 0 {
		return
	}
	if c.mdl == nil || !c.probed {
		if c.phase != phaseFailed {
			c.status = statusWaiting
		}
		return
	}
	if c.busy || c.stopMeasure() {
		// A background measurement gives way: it is canceled and the
		// run starts when it has stopped (endMeasure).
		c.again = true
		return
	}
	c.busy = true
	c.sizeGen++     // this run is at the current size: a debounced one would repeat it
	c.pending = nil // a measurement not yet started is of images no longer shown
	job := runJob{files: c.files, size: c.size, backend: c.backend, model: c.mdl, file: c.weightFile,
		measure: c.measure && !c.choice.Manual && c.linked == "" && c.gpuUsable(), input: c.input}
	c.runInput = job.input
	c.d.goFn(func() { c.execute(job) })
}

// say shows a status line and lets the page paint it before a long run
// (wasm has one thread; the CPU engine holds it while it runs).
func (c *controller) say(s string) {
	c.update(func() { c.status = s })
	c.d.plat.yield()
}

// execute prepares and runs one batch (in a goroutine).
func (c *controller) execute(job runJob) {
	if job.backend == BackendCPU || job.measure {
		// The answer may come from the CPU: the GPU engine's preparation
		// waits until it has (or until the GPU is chosen to answer).
		c.hold(true)
		defer c.hold(false)
	}
	c.say(fmt.Sprintf("Preparing %d image%s at %d×%d…", len(job.files), plural(len(job.files)), job.size, job.size))
	b := prepareBatch(job.files, job.model.Meta.Preprocess, job.size)
	if b.X == nil {
		c.update(func() {
			if c.current() {
				c.problems, c.status = b.Errs, "Nothing to classify: no file was an image this app can read."
			}
			c.finish()
		})
		return
	}
	pending := batchViews(b, nil)
	n := len(b.Names)
	c.update(func() {
		if c.current() {
			c.problems, c.images, c.goodN = b.Errs, pending, n
			c.cams = nil
			c.replan()
		}
	})
	var why string
	shared := false
	if job.measure {
		job.backend, why, shared = c.predict(job, n)
	}
	if job.backend == BackendGPU {
		c.hold(false)
	}
	eng, fallback, err := c.engineFor(job)
	if err != nil {
		c.failRun(err)
		return
	}
	c.say(fmt.Sprintf("Running %d image%s at %d×%d on %s…", n, plural(n), job.size, job.size, eng.Name()))
	res, ms, err := runEngine(eng, b.X, job.model.Meta.Labels)
	settleFile(job.file) // the engine is built
	if err != nil && job.backend == BackendGPU && !cpuchoice.IsCPU(eng.Name()) {
		fallback = fmt.Sprintf("The GPU engine failed (%v); this answer comes from the CPU.", err)
		if eng, err = c.engines.get(BackendCPU, job.model); err == nil {
			c.say(fmt.Sprintf("Running %d image%s on the CPU…", n, plural(n)))
			res, ms, err = runEngine(eng, b.X, job.model.Meta.Labels)
		}
	}
	if err != nil {
		c.failRun(err)
		return
	}
	a := newAnswer(b, res, ms)
	c.update(func() {
		c.record(job, a)
		c.fallback = fallback
		if c.show(job, a) {
			c.status = fmt.Sprintf("Done: %d image%s classified on %s.", n, plural(n), res.Engine)
			if job.measure {
				answeredOn := BackendCPU
				if !cpuchoice.IsCPU(res.Engine) {
					answeredOn = BackendGPU
				}
				if fallback != "" {
					// The GPU failed: there is nothing to compare.
					c.measure = false
					if !c.choice.Manual {
						c.backend = BackendCPU
					}
				} else {
					c.why = why
					c.queueMeasure(&measureJob{job: job, b: b, first: answeredOn, firstMs: ms, retime: shared && answeredOn == BackendCPU})
				}
			}
		} else {
			c.status = statusIdle // until the newer input's run says more
		}
		c.finish()
	})
}

// answer is a finished run, formatted for the page off the UI goroutine
// (crops and heatmaps become data URLs here, so Render does no work).
type answer struct {
	res   *model.Result
	ms    float64
	views []imageView
	cams  []camImage
	rows  []stageRow
	batch batch
}

// newAnswer formats a run's result.
func newAnswer(b batch, res *model.Result, ms float64) answer {
	return answer{res: res, ms: ms, views: batchViews(b, res.Top), cams: camImages(b, res), rows: resultRows(res.Stages), batch: b}
}

// record books a finished run's latency (locked).
func (c *controller) record(job runJob, a answer) {
	c.lat.add(a.res.Engine, job.size, len(a.batch.Names), a.ms)
}

// show puts an answer on screen with its engine's latency so far, unless
// a newer input has come since its run started; it reports whether it did
// (locked).
func (c *controller) show(job runJob, a answer) bool {
	if job.input != c.input {
		return false
	}
	n := len(a.batch.Names)
	c.images, c.rows, c.measured = a.views, a.rows, true
	c.cams = a.cams
	c.shown = shownRun{Engine: a.res.Engine, Size: job.size, Batch: n, Latency: c.lat.get(a.res.Engine, job.size, n), PrepMs: a.batch.Ms}
	if c.firstMs == 0 {
		c.firstMs = c.d.plat.mark("residual-first-top5")
	}
	return true
}

// engineName is the Engine.Name a backend's engine reports ("cpu").
func (b Backend) engineName() string { return string(b) }

// engineFor returns the engine of the job's backend, or the CPU engine
// with a message when the GPU one cannot be built (in a goroutine).
func (c *controller) engineFor(job runJob) (model.Engine, string, error) {
	if job.backend == BackendGPU {
		c.say("Preparing the GPU engine (compiling shaders, uploading weights)…")
		e, err := c.engines.get(BackendGPU, job.model)
		if err == nil {
			return e, "", nil
		}
		fallback := fmt.Sprintf("The GPU engine could not start (%v); running on the CPU.", err)
		e, err = c.engines.get(BackendCPU, job.model)
		return e, fallback, err
	}
	e, err := c.engines.get(BackendCPU, job.model)
	return e, "", err
}

// failRun reports a run that failed (when its input is still the current
// one); the page stays usable.
func (c *controller) failRun(err error) {
	c.update(func() {
		if c.current() {
			c.problems = append(c.problems, err.Error())
			c.status = "The run failed."
		}
		c.finish()
	})
}

// finish ends a run and starts the one asked for meanwhile, if any
// (locked).
func (c *controller) finish() {
	c.busy = false
	if c.again {
		c.again = false
		c.schedule()
	}
	c.startMeasure()
}
