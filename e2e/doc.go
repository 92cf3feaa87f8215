// Package e2e holds the end-to-end tests of the browser app: they build
// the wasm and the dev server, start the server on a free loopback port and
// drive headless Chromium through chromedp (drop images, switch sizes and
// backends, reload) against the real ResNet-50 weights. One case serves the
// static site (devserver -static) from a plain file server instead; one
// logs page load → first top-5 on each engine, model cached or not; two
// follow a visitor's first minute (firstminute_test.go: a 390×844 touch
// screen with axe-core's accessibility checks, and Forget the cached
// copy followed by an offline reload through a proxy that can cut the
// network).
//
// Run them with `go test ./e2e` (they take minutes; -short skips them, and
// says so). Settings, all optional (relative paths are from the repository
// root):
//
//	RESIDUAL_E2E_WASM      a prebuilt app.wasm to use instead of building one (e.g. web/app.wasm after `make wasm`)
//	RESIDUAL_E2E_MODEL     the weight file (default web/models/resnet50-v1-int8.safetensors, from `make weights`)
//	RESIDUAL_E2E_CHROMIUM  the browser (default /usr/lib/chromium/chromium)
//	RESIDUAL_E2E_AXE       axe-core's axe.min.js (default .cache/axe-core/…, installed by tools/deps.sh axe when missing)
//
// Screenshots of every case go to test-output/e2e/ at the repository root.
package e2e
