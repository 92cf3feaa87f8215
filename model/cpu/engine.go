// Package cpu is Residual's reference forward pass of a ResNet: pure Go,
// float32, using every core. It is the oracle the GPU engine is tested
// against and the engine the browser falls back to without WebGPU (built
// for GOOS=js GOARCH=wasm it runs on one thread).
//
// The engine interprets the network's model.Program (run.go): one loop
// over its ops, each a call to the kernel of its kind. Every convolution
// is a GEMM over im2col panels (conv.go, gemm.go) whose micro-kernel
// (kernel.go) accumulates in float32. Int8 weights stay int8 in memory:
// each cache block is dequantized as it is packed.
package cpu

import (
	"fmt"
	"time"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/weights"
)

// EngineName is what Result.Engine says for this engine.
const EngineName = "cpu"

// maxActivationBytes bounds the activations a run holds at once: a larger
// batch runs in sub-batches that fit (model.RunInBatches). ResNet-50 at
// 224×224 peaks at 7.2 MB an image, so about 70 images go at once; a
// variable so that tests can make it small.
var maxActivationBytes int64 = 512 << 20

// Engine runs one model on the CPU; it implements model.Engine. It only
// reads the model, which must not change while the Engine is in use; Run
// may be called concurrently.
type Engine struct {
	m          *weights.Model
	net        model.Net
	yield      func()
	yieldEvery time.Duration
}

var _ model.Engine = (*Engine)(nil)

// New checks that m holds every tensor its network's ops need, with the
// right shapes and storage, and that the layout chains up (each conv
// consumes its predecessor's channels, each shortcut matches its block),
// so that Run only fails on a bad input.
func New(m *weights.Model) (*Engine, error) {
	if m == nil {
		return nil, fmt.Errorf("cpu engine: nil model")
	}
	// Every run reads every weight: hold them rather than read them from
	// the file each time.
	m, err := m.Held()
	if err != nil {
		return nil, fmt.Errorf("cpu engine: %w", err)
	}
	p, err := m.Net.Layout()
	if err != nil {
		return nil, fmt.Errorf("cpu engine: %w", err)
	}
	for _, op := range p.Ops {
		if err := checkOp(m, op); err != nil {
			return nil, fmt.Errorf("cpu engine: %w", err)
		}
	}
	return &Engine{m: m, net: m.Net}, nil
}

// checkOp checks that an op is of a kind the engine runs, with the
// weights it needs.
func checkOp(m *weights.Model, op model.Op) error {
	switch op.Kind {
	case model.OpConv:
		w, b := m.Weight(op.Name)
		return checkConvParams(w, b, op.Conv)
	case model.OpFC:
		if op.FC.Out < 1 || op.FC.Out > 1<<24 {
			return fmt.Errorf("%s has %d outputs", op.Name, op.FC.Out)
		}
		w, b := m.Weight(op.Name)
		if err := checkWeight(w, []int{op.FC.Out, op.FC.In}); err != nil {
			return fmt.Errorf("%s weight: %w", op.Name, err)
		}
		if err := checkBias(b, op.FC.Out); err != nil {
			return fmt.Errorf("%s bias: %w", op.Name, err)
		}
	case model.OpReLU, model.OpMaxPool, model.OpAvgPool, model.OpFlatten:
	default:
		return fmt.Errorf("op %s: kind %q is not supported", op.Name, op.Kind)
	}
	return nil
}

// Name is EngineName.
func (e *Engine) Name() string { return EngineName }

// Close does nothing: the engine holds no resources beyond memory.
func (e *Engine) Close() {}

// SetYield makes Run call f between ops once at least every has passed
// since the last call (or the run's start), so that a host with a single
// thread (the browser) can repaint and take input during a run of
// seconds. Call it before the engine is shared.
func (e *Engine) SetYield(every time.Duration, f func()) {
	e.yield, e.yieldEvery = f, every
}
