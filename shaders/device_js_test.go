//go:build js

package shaders

import "testing"

// wantNamePrefix is how a browser device names itself.
const wantNamePrefix = "webgpu"

// TestBrowserDeviceFound checks that the engine reached the page's
// GPUDevice behind wgpu's wrapper: without it, WebGPU errors and device
// loss would go unnoticed (see jsObject).
func TestBrowserDeviceFound(t *testing.T) {
	d := device(t)
	if !d.web.ok {
		t.Fatal("the GPUDevice behind wgpu's Device was not found: has wgpu's browser backend changed?")
	}
}
