//go:build js

package shaders

// wantNamePrefix is how a browser device names itself.
const wantNamePrefix = "webgpu"
