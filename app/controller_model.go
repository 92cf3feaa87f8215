package app

// Switching the page between weight files: the built-in model and the
// visitor's converted ones (byopanel.go), which the store serves from
// Cache Storage like a cached copy of the built-in one.

// useModel makes file (a weight file under /web/models/; "" for the
// built-in one) the page's model, shown as name (a converted model's
// checkpoint; "" names it by its file): the answer on screen goes, the engines
// are rebuilt for the new network, and the current images run again once
// it has loaded. While a model loads, a switch is refused with a message:
// two loads would race to set the model.
func (c *controller) useModel(file, name string) {
	c.update(func() {
		if file == "" {
			file = defaultModel
		}
		if file == c.modelFile && c.phase != phaseFailed {
			return
		}
		if c.phase == phaseDownloading || c.phase == phaseDecoding {
			c.problems = append(c.problems, "Wait for the model being loaded to finish before switching to another.")
			return
		}
		c.modelFile, c.modelName = file, name
		c.phase, c.modelErr = phaseDownloading, ""
		c.loaded, c.total, c.decoded, c.layers = 0, 0, 0, 0
		c.cached, c.forgotten = false, false
		c.mdl, c.head, c.facts = nil, nil, modelFacts{}
		if c.weightFile != nil {
			settleFile(c.weightFile) // the old model's buffer may go
			c.weightFile = nil
		}
		// The GPU engine is built again for the new network (engineSet
		// closes the old one when it sees another model), and timings
		// taken on the old network say nothing about this one.
		c.warmed, c.precompiled = false, false
		c.lat, c.macsAt = latencyBook{}, map[int]int64{}
		c.rows, c.measured, c.params, c.macs = nil, false, "–", "–"
		// A new input number: a run of the old model still under way
		// must not show its answer; the images stay and run again.
		c.input++
		c.images, c.shown, c.problems = nil, shownRun{}, nil
		url := c.modelURL()
		c.d.goFn(func() { c.loadModel(url, file) })
	})
}
