package model

import "context"

// Engine runs a network on some hardware. The CPU reference (model/cpu)
// and the WebGPU engine (shaders) implement it; the app, cmd/classify and
// the benchmarks use only this contract, so they never know which engine
// answered.
type Engine interface {
	// Run classifies a batch: x is the preprocessed input [B,3,H,W]
	// (normalised as the weights' metadata says). The Result has the
	// logits, the top-k of every image and every stage of the Program's
	// table, and with RunOptions.CAM each image's class activation maps. A batch too large for the engine's memory is run in
	// sub-batches and answered as one Result, in order.
	Run(ctx context.Context, x *Tensor, opt RunOptions) (*Result, error)
	// Name says which engine and device this is, for people: "cpu",
	// "webgpu (google swiftshader)".
	Name() string
	// Close releases what the engine holds (GPU buffers, a device).
	// Closing twice is harmless.
	Close()
}

// Preparer is an Engine that can get ready for a batch shape ahead of its
// first run: the GPU engine compiles its pipelines and uploads the
// weights, so that the first Run's time is a warm run's.
type Preparer interface {
	Prepare(ctx context.Context, b, h, w int) error
}

// LayerTimer is an Engine that can time one layer of the network alone
// (a conv or the fc, by its Op name) for batches of b images of h×w: a
// probe of its speed on this machine that costs a few percent of a run,
// to guess which engine answers first before either has run.
type LayerTimer interface {
	TimeLayer(ctx context.Context, name string, b, h, w int) (ms float64, err error)
}

// DefaultTopK is how many predictions per image Run returns when
// RunOptions.TopK is not positive.
const DefaultTopK = 5

// RunOptions says what Run reports besides the logits. Every engine gives
// each option the same meaning.
type RunOptions struct {
	// TopK is the number of predictions per image, best first
	// (DefaultTopK when ≤ 0).
	TopK int
	// Inspect fills every stage's and block's Heatmaps, one per image of
	// the batch (TensorHeatmaps: channel mean, raw range, strongest
	// channel), and Heatmap with the first of them.
	Inspect bool
	// Profile fills every stage's Ms with the time that stage took, as
	// precisely as the engine can measure it (GPU timestamps where the
	// adapter has them, else each stage submitted and waited for alone:
	// this can make a run slower). Without Profile, Ms are zero.
	Profile bool
	// CAM fills Result.CAMs: for every image, the class activation map
	// (model.CAM) of each of its top-k classes, in Top's order, computed
	// from the features the Program's CAMTap names.
	CAM bool
}

// K is the options' top-k, DefaultTopK when not set.
func (o RunOptions) K() int {
	if o.TopK <= 0 {
		return DefaultTopK
	}
	return o.TopK
}
