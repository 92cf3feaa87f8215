package app

import (
	"fmt"

	"github.com/residual-webgpu/residual/model"
)

// choiceKey is where the engine choice for the current adapter and model
// is remembered (locked).
func (c *controller) choiceKey() string {
	return choiceKey(adapterKey(c.gpu), c.modelFile)
}

// applyChoice sets the backend: the one the page's address asks for
// (?engine=), else what is remembered for this adapter and model (at any
// input size: one measurement serves them all). With nothing remembered,
// a software adapter's runs answer on the engine predicted faster and
// measure the other afterwards; on a hardware adapter the GPU runs
// (locked).
func (c *controller) applyChoice() {
	c.measure = false
	if !c.gpuUsable() {
		return
	}
	if c.linked != "" {
		c.choice, c.backend = engineChoice{Backend: c.linked, Manual: true, Linked: true}, c.linked
		return
	}
	if ch, ok := parseChoice(c.settings.get(c.choiceKey())); ok {
		c.choice, c.backend = ch, ch.Backend
		return
	}
	switch {
	case c.choice.Manual:
		// Chosen by hand in this visit but not stored (storage refused).
	case c.gpu.Fallback:
		c.choice, c.measure = engineChoice{}, true
	default:
		c.choice, c.backend = engineChoice{}, BackendGPU
	}
}

// macsPerImage is the network's MACs for one image of size×size, from the
// loaded model or the weight file's header; 0 before either (locked).
func (c *controller) macsPerImage(size int) int64 {
	if v, ok := c.macsAt[size]; ok {
		return v
	}
	var net *model.Net
	switch {
	case c.mdl != nil:
		net = &c.mdl.Net
	case c.head != nil:
		net = &c.head.Net
	default:
		return 0
	}
	st, err := net.Stages(1, size, size)
	if err != nil {
		return 0
	}
	_, macs := model.Totals(st)
	c.macsAt[size] = macs
	return macs
}

// shownChoice is the choice in force with its timings scaled to the
// current input size by the network's MACs (locked).
func (c *controller) shownChoice() engineChoice {
	ch := c.choice
	if !ch.measured() || ch.Size == c.size {
		return ch
	}
	from, to := c.macsPerImage(ch.Size), c.macsPerImage(c.size)
	if from <= 0 || to <= 0 {
		return ch
	}
	return ch.scaled(c.size, float64(to)/float64(from))
}

// choiceNote is what the backend panel says about the engine choice, and
// its state for tests and styles ("pending", "measuring", "auto",
// "manual", "link"); empty where no choice applies (no WebGPU) (locked).
func (c *controller) choiceNote() (text, state string) {
	short := c.gpu.Short()
	switch {
	case !c.probed || !c.gpuUsable():
		return "", ""
	case c.measure && (c.measuring || c.pending != nil):
		s := fmt.Sprintf("Measuring the other engine in the background on this software adapter (%s); the faster one runs the next images.", short)
		if c.why != "" {
			s = c.why + " " + s
		}
		return s, "measuring"
	case c.measure:
		return fmt.Sprintf("This is a software adapter (%s), which can be slower than the CPU: the first image runs on the engine predicted faster, and the other is measured afterwards, in the background.", short), "pending"
	case c.choice.Backend == "":
		return "", ""
	}
	ch := c.shownChoice()
	text = ch.message(short, c.choice.Size)
	switch {
	case ch.Linked:
		return text, "link"
	case ch.Manual:
		return text, "manual"
	}
	return text, "auto"
}

// chooseBackend records a choice made with the toggle and reports whether
// it changed anything (locked).
func (c *controller) chooseBackend(b Backend) bool {
	if b != BackendGPU && b != BackendCPU || b == c.backend {
		return false
	}
	c.backend, c.fallback, c.linked = b, "", ""
	if c.measuring || c.pending != nil {
		// A measurement on its way keeps the choice by hand and its
		// timings (keepMeasurement).
	} else {
		c.measure = false
	}
	if c.gpuUsable() {
		ch := c.choice
		ch.Backend, ch.Manual, ch.Linked = b, true, false
		c.choice = ch
		c.settings.set(c.choiceKey(), ch.encode())
	}
	return true
}
