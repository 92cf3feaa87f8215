// Package cpu is Residual's reference forward pass of a ResNet: pure Go,
// float32, using every core. It is the oracle the GPU engine is tested
// against and the engine the browser falls back to without WebGPU (built
// for GOOS=js GOARCH=wasm it runs on one thread).
//
// The forward pass (Run) reads top to bottom like torchvision's
// ResNet.forward, driven by the model.Net layout of the weights. Every
// convolution is a GEMM over im2col panels (conv.go, gemm.go) whose
// micro-kernel (kernel.go) accumulates in float32. Int8 weights stay int8
// in memory: each cache block is dequantized as it is packed.
package cpu

import (
	"fmt"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/weights"
)

// EngineName is what Result.Engine says for this engine.
const EngineName = "cpu"

// Engine runs one model on the CPU. It only reads the model, which must
// not change while the Engine is in use; Run may be called concurrently.
type Engine struct {
	m   *weights.Model
	net model.Net
}

// New checks that m holds every tensor its network needs, with the right
// shapes and storage, and that the layout chains up (each conv consumes its
// predecessor's channels, each identity shortcut matches its block), so
// that Run only fails on a bad input.
func New(m *weights.Model) (*Engine, error) {
	if m == nil {
		return nil, fmt.Errorf("cpu engine: nil model")
	}
	n := m.Net
	if len(n.Layers) == 0 {
		return nil, fmt.Errorf("cpu engine: model has no layers (Net not laid out?)")
	}
	check := func(c model.Conv, cin int) error {
		if c.Cin != cin {
			return fmt.Errorf("cpu engine: conv %s takes %d channels but gets %d", c.Name, c.Cin, cin)
		}
		w, b := m.Weight(c.Name)
		if err := checkConvParams(w, b, c); err != nil {
			return fmt.Errorf("cpu engine: %w", err)
		}
		return nil
	}
	if err := check(n.Stem, 3); err != nil {
		return nil, err
	}
	ch := n.Stem.Cout
	for _, l := range n.Layers {
		if len(l.Blocks) == 0 {
			return nil, fmt.Errorf("cpu engine: %s has no blocks", l.Name)
		}
		for _, blk := range l.Blocks {
			if len(blk.Convs) == 0 {
				return nil, fmt.Errorf("cpu engine: block %s has no convs", blk.Name)
			}
			bin := ch
			for _, c := range blk.Convs {
				if err := check(c, ch); err != nil {
					return nil, err
				}
				ch = c.Cout
			}
			if d := blk.Downsample; d != nil {
				if err := check(*d, bin); err != nil {
					return nil, err
				}
				if d.Cout != ch {
					return nil, fmt.Errorf("cpu engine: block %s: shortcut gives %d channels, branch %d", blk.Name, d.Cout, ch)
				}
			} else if bin != ch {
				return nil, fmt.Errorf("cpu engine: block %s: identity shortcut of %d channels onto %d", blk.Name, bin, ch)
			}
		}
	}
	if n.FC.In != ch || n.FC.Out < 1 || n.FC.Out > 1<<24 {
		return nil, fmt.Errorf("cpu engine: %s is %d→%d after %d channels", n.FC.Name, n.FC.In, n.FC.Out, ch)
	}
	w, b := m.Weight(n.FC.Name)
	if err := checkWeight(w, []int{n.FC.Out, n.FC.In}); err != nil {
		return nil, fmt.Errorf("cpu engine: %s weight: %w", n.FC.Name, err)
	}
	if err := checkBias(b, n.FC.Out); err != nil {
		return nil, fmt.Errorf("cpu engine: %s bias: %w", n.FC.Name, err)
	}
	return &Engine{m: m, net: n}, nil
}
