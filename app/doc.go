// Package app is Residual's browser app: go-app v10 components that load a
// ResNet weight file (with download progress, kept in Cache Storage), take
// images from drag-and-drop, a file picker, the clipboard or sample
// photos, run them as one batch on WebGPU or the CPU, and show the top-5
// and a stage-by-stage inspector of the network.
//
// The app sees engines only through Engine and shows only model.Result, so
// it never knows which engine produced an answer. Everything that touches
// the browser lives in the js/wasm build of browser_js.go; the rest builds
// and is tested natively, and the dev server uses the same components to
// render the page server-side.
package app
