package app

import (
	"fmt"
	"sync/atomic"
	"time"
)

// Loading is named step by step while it runs, each step with its own
// progress: the weight file's download (or read from the cache), its
// decoding layer by layer, and the GPU engine's preparation (compiling
// its shaders, packing and uploading its weights). The model panel shows
// them; the status line says which one an image would wait for.

// The GPU engine's preparation steps (pageState.GPUStep); the first two
// are the ones shaders.Device reports.
const (
	gpuCompiling = "compiling"
	gpuUploading = "uploading"
	gpuReady     = "ready"
	gpuFailed    = "failed"
)

// breatheEvery is how long work on the page's only thread runs before it
// gives the browser a moment (the Long Tasks API counts tasks over 50 ms;
// a page feels stuck well before 200 ms).
const breatheEvery = 40 * time.Millisecond

// lastBreath is when the page last had its thread back (UnixNano). It is
// shared by every goroutine of the page: the browser gets its thread only
// when all of them wait, so each pauses once any has run breatheEvery.
var lastBreath atomic.Int64

// breatheWith calls pause when breatheEvery has passed since the page last
// had its thread, and reports whether it did.
func breatheWith(pause func()) bool {
	if time.Since(time.Unix(0, lastBreath.Load())) < breatheEvery {
		return false
	}
	pause()
	lastBreath.Store(time.Now().UnixNano())
	return true
}

// breathe pauses (platform.pause) when breatheEvery has passed since the
// page last had its thread.
func (c *controller) breathe() { breatheWith(c.d.plat.pause) }

// gpuProgress is the GPU engines' report of their preparation (engineMakers.watch):
// step gpuCompiling or gpuUploading, done of total layers. The page is
// told at most every 100 ms, and at each step's start and end (any
// goroutine, never with the mutex held).
func (c *controller) gpuProgress(step string, done, total int) {
	c.mu.Lock()
	now := time.Now()
	if step == gpuUploading && done >= total {
		step = gpuReady
	}
	quiet := step == c.gpuStep && done > 0 && done < total && now.Sub(c.gpuShown) < 100*time.Millisecond
	if c.gpuStep == gpuReady && step == gpuCompiling {
		// A precompile finishing after the engine is ready adds nothing.
		c.mu.Unlock()
		return
	}
	c.gpuStep, c.gpuDone, c.gpuTotal = step, done, total
	if step == gpuReady && c.gpuReadyMs == 0 {
		c.gpuReadyMs = c.d.plat.mark("residual-gpu-ready")
	}
	if quiet {
		c.mu.Unlock()
		return
	}
	c.gpuShown = now
	c.mu.Unlock()
	c.d.changed()
}

// downloadText describes the weight file's download or cache read.
func downloadText(loaded, total int64, cached bool) string {
	switch {
	case cached:
		return "Reading the weights from this browser's cache: " + formatBytes(loaded) + ofBytes(total)
	case total > 0:
		return "Downloading the weights: " + formatBytes(loaded) + " of " + formatBytes(total)
	}
	return "Downloading the weights: " + formatBytes(loaded)
}

// ofBytes is " of 25.8 MB", or nothing when the total is unknown.
func ofBytes(total int64) string {
	if total <= 0 {
		return ""
	}
	return " of " + formatBytes(total)
}

// decodeText describes the weights' decoding.
func decodeText(done, layers int) string {
	if layers == 0 {
		return "Decoding the weights…"
	}
	return fmt.Sprintf("Decoding the weights: layer %d of %d", done, layers)
}

// gpuStepText describes a step of the GPU engine's preparation.
func gpuStepText(step string, done, total int) string {
	switch step {
	case gpuCompiling, gpuUploading:
		return "GPU engine: " + gpuStepDetail(step, done, total)
	case gpuReady:
		return "GPU engine: ready"
	case gpuFailed:
		return "GPU engine: could not start"
	}
	return ""
}

// gpuStepDetail is what the GPU engine is doing while it prepares.
func gpuStepDetail(step string, done, total int) string {
	if step == gpuCompiling {
		return fmt.Sprintf("compiling shaders, layer %d of %d", done, total)
	}
	return fmt.Sprintf("uploading weights, layer %d of %d", done, total)
}

// waitingFor says what loading step a run would wait for now, or "" when
// none (locked).
func (c *controller) waitingFor() string {
	switch c.phase {
	case phaseIdle:
		return "the app is starting"
	case phaseDownloading:
		return lower(downloadText(c.loaded, c.total, c.cached))
	case phaseDecoding:
		return lower(decodeText(c.decoded, c.layers))
	case phaseFailed:
		return ""
	}
	if c.backend == BackendGPU && !c.measure && (c.gpuStep == gpuCompiling || c.gpuStep == gpuUploading) {
		return "preparing the GPU engine: " + gpuStepDetail(c.gpuStep, c.gpuDone, c.gpuTotal)
	}
	return ""
}

// lower starts a sentence's text with a small letter, to follow a colon.
func lower(s string) string {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return s
	}
	return string(s[0]+'a'-'A') + s[1:]
}

// statusLine is the status line the page shows: the controller's, except
// before any image, where it says what the page is waiting for (locked).
func (c *controller) statusLine() string {
	switch c.status {
	case statusIdle, statusReady:
		if c.phase == phaseFailed {
			return "The model could not be loaded (see the Model panel)."
		}
		if w := c.waitingFor(); w != "" {
			return "Loading (" + w + "). You can choose an image now: it runs as soon as the model is ready."
		}
		return statusReady
	case statusWaiting:
		if w := c.waitingFor(); w != "" {
			return "Your image runs when the model is ready (" + w + ")."
		}
	}
	return c.status
}

// holdGPU returns once the CPU engine is not answering in the foreground
// (engineMakers.watch): the GPU engine's preparation calls it between
// layers (any goroutine, never with the mutex held).
func (c *controller) holdGPU() {
	c.mu.Lock()
	for c.holding {
		c.released.Wait()
	}
	c.mu.Unlock()
}

// hold makes the GPU engine's preparation wait (holdGPU) while on.
func (c *controller) hold(on bool) {
	c.mu.Lock()
	c.holding = on
	if !on {
		c.released.Broadcast()
	}
	c.mu.Unlock()
}
