// Package shaders is Residual's GPU engine: every ResNet stage as WGSL
// compute shaders (embedded from this directory) and the Go that plans,
// uploads and dispatches them through github.com/gogpu/wgpu. The same code
// runs natively on Vulkan (lavapipe on the build machines) and in the
// browser on WebGPU (GOOS=js GOARCH=wasm).
//
// Activations live on the GPU channels-last (NHWC) in float32; conv and fc
// weights stay int8, packed four to a u32, with a float32 scale per output
// channel applied in the epilogue together with the folded BatchNorm bias,
// an optional residual add and an optional ReLU.
//
// Files: conv.wgsl (implicit-GEMM convolution, register tiles), pool.wgsl
// (max and global average pooling), fc.wgsl (the classifier); the Go beside
// each fills in its constants and unrolled statements (naga has no
// `override`). device*.go open the adapter, kernel.go compiles and caches
// pipelines, plan.go lays a network out once per input size (weights
// packed into shared buffers bound at per-layer offsets, an activation
// arena reused by liveness, bind groups made up front), engine.go runs it
// as one submission with one readback. ops.go runs single layers, for
// tests against the CPU reference.
package shaders
