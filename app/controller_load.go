package app

import (
	"errors"
	"fmt"
	"time"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/safetensors"
	"github.com/residual-webgpu/residual/model/weights"
)

// probe asks for a WebGPU adapter and picks the starting backend (in a
// goroutine).
func (c *controller) probe() {
	g := c.d.plat.probeGPU()
	c.update(func() {
		c.gpu, c.probed = g, true
		if c.backend == "" {
			c.backend = BackendCPU
			if c.gpuUsable() {
				c.backend = BackendGPU
				c.applyChoice()
			}
		}
		c.precompile()
		c.warmUp()
		c.schedule()
	})
}

// gpuUsable reports whether the GPU engine can be chosen: the browser has
// a WebGPU adapter and this build has the engine (locked).
func (c *controller) gpuUsable() bool { return c.gpu.Available && c.d.engines.gpu != nil }

// loadModel fetches (or reads from the store) and decodes the weight
// file, in a goroutine. A cached copy that no longer decodes is dropped
// and downloaded again, once.
func (c *controller) loadModel(url, file string) {
	var last time.Time
	headRead := false
	progress := func(head []byte, loaded, total int64, cached bool) {
		// A cached file's chunks come as fast as they are read: without
		// a break the whole read is one task of seconds, and the page
		// neither paints nor takes input.
		c.breathe()
		if !headRead {
			// The header is in: the GPU can compile while the rest downloads.
			h, err := weights.DecodeHeader(file, head)
			if headRead = !errors.Is(err, safetensors.ErrShortPrefix); err == nil {
				c.update(func() { c.head = h; c.replan(); c.precompile() })
			}
		}
		// One update per 100 ms: each is a render.
		if now := time.Now(); now.Sub(last) >= 100*time.Millisecond || loaded == total {
			last = now
			c.update(func() { c.loaded, c.total, c.cached = loaded, total, cached })
		}
	}
	var m *weights.Model
	var wf modelFile
	var cached bool
	for attempt := 0; ; attempt++ {
		f, hit, err := c.d.store.load(url, progress)
		if err != nil {
			c.update(func() { c.phase, c.modelErr = phaseFailed, err.Error() })
			return
		}
		n := f.Size()
		c.update(func() { c.phase, c.loaded, c.total, c.cached, c.decoded = phaseDecoding, n, n, hit, 0 })
		c.d.plat.yield() // let the page paint before decoding
		// The int8 weights stay in f: each engine reads a layer's when it
		// packs it, so they never sit whole in the Go heap (which in a
		// browser never shrinks).
		m, err = weights.DecodeAt(file, f, n, func(done, layers int) {
			c.breathe()
			if now := time.Now(); now.Sub(last) >= 100*time.Millisecond || done == layers {
				last = now
				c.update(func() { c.decoded, c.layers = done, layers })
			}
		})
		if err == nil {
			cached, wf = hit, f
			break
		}
		settleFile(f) // not used: its buffer may go
		if !hit || attempt > 0 {
			c.update(func() { c.phase, c.modelErr = phaseFailed, err.Error() })
			return
		}
		c.d.store.forget(url)
	}
	facts := factsOf(m)
	c.update(func() {
		c.mdl, c.weightFile, c.facts, c.cached, c.phase = m, wf, facts, cached, phaseReady
		c.d.plat.mark("residual-model-ready")
		c.replan()
		c.warmUp()
		c.schedule()
	})
}

// precompile compiles the GPU pipelines for the current size from the
// weight file's header while the weights download, once the header and
// the adapter are known and the GPU is the backend; the model's GPU
// engine then starts on that device. On a software adapter compiling takes
// seconds, so this is most of what a first run would otherwise wait for
// (locked).
//
// Not while an image waits (or is on its way) on a software adapter with
// nothing measured:
// the CPU answers it first, and compiling beside that run (SwiftShader
// compiles on the same cores) would slow the answer; readyGPU compiles
// afterwards.
func (c *controller) precompile() {
	pre := c.d.engines.precompile
	if c.precompiled || c.head == nil || !c.probed || c.backend != BackendGPU || pre == nil ||
		c.measure && (len(c.files) > 0 || c.incoming > 0) {
		return
	}
	c.precompiled = true
	head, size := c.head, c.size
	c.d.goFn(func() { pre(head, size) })
}

// warmUp builds the GPU engine for the current size in the background
// once the model and the adapter are known, so that the first image does
// not wait for shader compilation and weight upload. A run started
// meanwhile waits for it inside the engine set (locked).
func (c *controller) warmUp() {
	if c.warmed || c.mdl == nil || !c.probed || c.backend != BackendGPU || len(c.files) > 0 {
		return
	}
	c.warmed = true
	m, size, wf := c.mdl, c.size, c.weightFile
	c.d.goFn(func() {
		err := c.readyGPU(m, 1, size)
		settleFile(wf)
		c.update(func() {
			switch {
			case err != nil:
				c.fallback = fmt.Sprintf("The GPU engine could not start (%v); images will run on the CPU.", err)
				c.measure = false // nothing to compare
				if c.backend == BackendGPU {
					c.backend = BackendCPU
				}
			case len(c.files) == 0 && !c.busy && c.status == statusIdle:
				c.status = statusReady
			}
		})
	})
}

// factsOf describes a loaded model for the model panel.
func factsOf(m *weights.Model) modelFacts {
	a := m.Meta.Arch
	f := modelFacts{
		Arch:    fmt.Sprintf("%s (%s blocks %v, stride variant %s)", a.Name, a.Block, a.Layers, a.Variant),
		Scheme:  string(m.Meta.Scheme),
		Source:  m.Meta.Source,
		Classes: a.NumClasses,
	}
	switch m.Meta.Scheme {
	case weights.Int8:
		f.Scheme = "int8, one scale per output channel"
	case weights.F32:
		f.Scheme = "float32"
	}
	if st, err := m.Net.Stages(1, defaultSize, defaultSize); err == nil {
		params, _ := model.Totals(st)
		f.Params = formatCount(params)
	}
	return f
}

// replan recomputes the stage table and the network's totals for the
// current size and batch from the model's own layout; the table shows the
// plan until a run measures it (locked).
func (c *controller) replan() {
	m := c.mdl
	if m == nil {
		m = c.head // the header's layout: the table is drawn while the weights download, not in the task that finishes loading
	}
	if m == nil {
		return
	}
	st, err := m.Net.Stages(max(1, c.goodN), c.size, c.size)
	if err != nil {
		c.rows, c.measured = nil, false
		c.params, c.macs = "–", "–"
		c.problems = append(c.problems, "Cannot plan the network: "+err.Error())
		return
	}
	c.rows, c.measured = planRows(st), false
	pa, ma := model.Totals(st)
	c.params, c.macs = formatCount(pa), formatCount(ma)
}
