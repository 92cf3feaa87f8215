// Package shaders is Residual's GPU engine: every ResNet stage as WGSL
// compute shaders (embedded from this directory) and the Go that plans,
// uploads and dispatches them through github.com/gogpu/wgpu. The same code
// runs natively on Vulkan (lavapipe on the build machines, any Vulkan GPU)
// and in the browser on WebGPU (GOOS=js GOARCH=wasm).
//
// Activations live on the GPU channels-last (NHWC) in float32; conv and fc
// weights run as the weight file holds them: int8, packed four to a u32,
// with a float32 scale per output channel applied in the epilogue, or (an
// f32 file) float32, never requantized on the GPU. The epilogue also adds
// the folded BatchNorm bias, an optional residual and an optional ReLU.
// Results match the CPU reference (model/cpu) to float32 rounding. The
// kernels are text/template WGSL files rendered with each conv's tile and
// variant (wgsl.go).
//
// Use: Open a Device, NewEngine for a model (or OpenEngine, which opens
// the device and owns it), then Run a preprocessed tensor or RunImage the
// RGBA bytes of crops (preprocessed on the GPU, bit-identical to
// model/preprocess). Where compiling is slow (SwiftShader: ~2 s a conv
// pipeline), Device.Precompile compiles a network's pipelines from the
// weight file's header alone (weights.DecodeHeader) while the rest
// downloads; engines on that device then start with them ready; on
// SwiftShader a ResNet needs one conv pipeline. Engine.Memory reports what
// a plan holds on the GPU. The Engine implements model.Engine;
// RunOptions.Profile times every stage: with GPU timestamps in the
// browser (one submission), by submitting stage by stage natively
// (gogpu/wgpu v0.34.5 has no compute-pass timestamps). A batch over the
// device's binding limits or the activation budget runs in equal
// sub-batches through one plan (batch.go).
//
// Errors: GPU failures come back as errors, never panics: a shader that
// does not compile, WebGPU's asynchronous validation and out-of-memory
// errors (caught with error scopes in the browser), panics inside wgpu
// (recovered), and a lost device (ErrDeviceLost, also ErrOutOfMemory). A
// lost device stays lost: Close the Engine and the Device, Open a new
// Device and make a new Engine with NewEngine; nothing else needs redoing.
//
// Files: conv.wgsl (implicit-GEMM convolution, register tiles, shape from a
// uniform so one pipeline serves every conv of a kind), pool.wgsl (max and
// global average pooling), fc.wgsl (the classifier), cam.wgsl (class
// activation maps: the fc's packed weights over each position of the
// features the average pool reads, which the plan keeps to the end of a
// run; RunOptions.CAM adds a second submission once the logits say which
// classes), normalize.wgsl (input preprocessing from RGBA bytes); the Go
// beside each fills in its
// constants and unrolled statements (naga has no `override`). adapter.go
// classes adapters (lavapipe, SwiftShader, real GPUs) and conv.go picks
// measured tiles per class. device*.go open the adapter (and, in the
// browser, reach the page's GPUDevice for error scopes, loss and
// timestamps), errors.go wraps every group of GPU calls, kernel.go
// compiles and caches pipelines, plan.go compiles the network's
// model.Program once per input size (one pipeline choice per op, weights
// packed into shared buffers bound at per-layer offsets, bind groups made
// up front), layout.go places its tensors (a ReLU fused into the conv
// before it, a flatten a view) and arena.go assigns them to activation
// buffers by the program's liveness, memory.go measures it, engine.go runs it as one submission with
// one readback. ops.go runs single layers, for tests against the CPU
// reference.
package shaders
