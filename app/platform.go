package app

import "time"

// The browser behind the controller's interfaces (controller.go): the
// functions of browser_js.go, which stand in for themselves outside the
// browser (browser_other.go).

// browserDeps is what the page's controller works with.
func browserDeps() controllerDeps {
	return controllerDeps{
		store:    browserStore{},
		plat:     browserPlatform{},
		settings: newSettings(),
		engines:  engineMakers{cpu: newCPUEngine, gpu: newGPUEngine, precompile: precompileGPU, watch: watchGPU},
	}
}

// browserStore is fetch with progress and Cache Storage.
type browserStore struct{}

func (browserStore) load(url string, progress func([]byte, int64, int64, bool)) (modelFile, bool, error) {
	return loadModelFile(url, progress)
}
func (browserStore) forget(url string) error { return forgetModel(url) }

// browserPlatform is the WebGPU probe, fetch, performance marks and a
// pause that lets the browser paint.
type browserPlatform struct{}

func (browserPlatform) probeGPU() gpuInfo                { return probeWebGPU() }
func (browserPlatform) fetch(url string) ([]byte, error) { return fetchBytes(url) }
func (browserPlatform) mark(name string) float64         { return markTiming(name) }

// pause ends the current task for a moment (a timer of about a
// millisecond), where the page runs long work; nothing natively.
func (browserPlatform) pause() {
	if yieldToBrowser != nil {
		yieldToBrowser()
	}
}

// yield waits long enough for the browser to paint, on a JavaScript
// timer (waitTimer) so that the browser runs whatever else is busy.
func (browserPlatform) yield() { pauseFor(20 * time.Millisecond) }

// A fileHandle is a fileSource.
func (h fileHandle) fileName() string      { return h.name }
func (h fileHandle) read() ([]byte, error) { return readFile(h) }

// sources turns the files the user gave into the controller's.
func sources(hs []fileHandle) []fileSource {
	out := make([]fileSource, len(hs))
	for i, h := range hs {
		out[i] = h
	}
	return out
}
