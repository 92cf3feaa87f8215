package app

import "fmt"

// choiceKey is where the engine choice for the current adapter, model and
// size is remembered (locked).
func (c *controller) choiceKey(size int) string {
	return choiceKey(adapterKey(c.gpu), c.modelFile, size)
}

// applyChoice sets the backend for the current size: the one the page's
// address asks for (?engine=), else what is remembered for this adapter
// and model. With nothing remembered: a choice made by hand at another
// size carries over; on a software adapter the next run measures both
// engines; on a hardware adapter the GPU runs (locked).
func (c *controller) applyChoice() {
	c.measure = false
	if !c.gpuUsable() {
		return
	}
	if c.linked != "" {
		c.choice, c.backend = engineChoice{Backend: c.linked, Manual: true, Linked: true}, c.linked
		return
	}
	key := c.choiceKey(c.size)
	if ch, ok := parseChoice(c.settings.get(key)); ok {
		c.choice, c.backend = ch, ch.Backend
		return
	}
	switch {
	case c.choice.Manual:
		c.choice = engineChoice{Backend: c.backend, Manual: true}
		c.settings.set(key, c.choice.encode())
	case c.gpu.Fallback:
		// The backend stays as it is (the GPU at start) until measured.
		c.choice, c.measure = engineChoice{}, true
	default:
		c.choice, c.backend = engineChoice{}, BackendGPU
	}
}

// choiceNote is what the backend panel says about the engine choice, and
// its state for tests and styles ("pending", "measuring", "auto",
// "manual", "link"); empty where no choice applies (no WebGPU) (locked).
func (c *controller) choiceNote() (text, state string) {
	switch {
	case !c.probed || !c.gpuUsable():
		return "", ""
	case c.measuring:
		return fmt.Sprintf("Measuring GPU vs CPU on this software adapter (%s)…", c.gpu.Short()), "measuring"
	case c.measure:
		return fmt.Sprintf("This is a software adapter (%s), which can be slower than the CPU: the first image runs once on each engine to pick the faster one.", c.gpu.Short()), "pending"
	case c.choice.Backend == "":
		return "", ""
	case c.choice.Linked:
		return c.choice.message(c.gpu.Short(), c.size), "link"
	case c.choice.Manual:
		return c.choice.message(c.gpu.Short(), c.size), "manual"
	}
	return c.choice.message(c.gpu.Short(), c.size), "auto"
}

// chooseBackend records a choice made with the toggle and reports whether
// it changed anything (locked).
func (c *controller) chooseBackend(b Backend) bool {
	if b != BackendGPU && b != BackendCPU || b == c.backend {
		return false
	}
	c.backend, c.fallback, c.measure, c.linked = b, "", false, ""
	if c.gpuUsable() {
		// Remembered like an automatic choice; a measurement under way
		// keeps it (measureEngines).
		ch := c.choice
		ch.Backend, ch.Manual, ch.Linked = b, true, false
		c.choice = ch
		c.settings.set(c.choiceKey(c.size), ch.encode())
	}
	return true
}
