// Package app is Residual's browser app: go-app v10 components that load a
// ResNet weight file (with download progress, kept in Cache Storage), take
// images from drag-and-drop, a file picker, the clipboard or sample
// photos, run them as one batch on WebGPU or the CPU, and show the top-5,
// where the network looked for each of them (class activation maps over
// each image, camview.go) and a stage-by-stage inspector of the network.
//
// On a software WebGPU adapter (isFallbackAdapter, e.g. SwiftShader) the
// first image is answered by the engine predicted faster (a one-layer
// probe of each, or the CPU while the GPU engine is still getting ready),
// and the other is timed afterwards in the background; the faster one is
// kept for the next runs and remembered in localStorage per adapter and
// model, for every input size (timings scale with the network's MACs)
// (choice.go, measure.go). The GPU/CPU toggle overrides it and is
// remembered too. Loading names each step while it runs (download,
// decoding, the GPU engine's shaders and weights, loading.go) and gives
// the page its thread back between chunks. The page's address may say
// ?sample=<photo> (run a sample at once) and ?engine=gpu|cpu (use that
// engine for this visit, without remembering).
//
// A visitor's own torchvision checkpoint (.pth or .safetensors, with a
// labels file) comes in through the "Your model" panel or a drop told
// from images by content (byofiles.go, byoroute.go); it is converted in a
// Web Worker running cmd/converter, kept in Cache Storage and listed
// there (byopanel.go, byostore_js.go), and the controller switches the
// page to it like to any weight file (controller_model.go).
//
// The page shows one input at a time: a new image (or a failed paste, an
// empty drop) replaces the answer and the messages of the one before, and
// a run whose input has been replaced shows nothing. On a phone the
// answer is scrolled into view, the input panel offers the camera, and
// the stage inspector becomes a stack of cards (web/app.css).
//
// The policy (download, probing, engine choice and measurement, fallback,
// runs) lives in a controller (controller*.go, measure.go) that does not
// import go-app: it takes commands and emits a pageState snapshot, and
// reaches the browser only through small interfaces (modelStore,
// platform, fileSource, engineMakers, settingsStore), so it is tested
// natively with fakes. Page only turns events into commands and renders
// the snapshot.
//
// The app sees engines only through model.Engine and shows only
// model.Result, so it never knows which engine produced an answer.
// Everything that touches the browser lives in the js/wasm build of
// browser_js.go (platform.go puts it behind the controller's interfaces);
// the rest builds and is tested natively, and the dev server uses the
// same components to render the page server-side.
package app
