//go:build js && wasm

package app

import (
	"context"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/weights"
	"github.com/residual-webgpu/residual/shaders"
)

func init() { exploreGPU = openExplorerGPU }

// openExplorerGPU opens a WebGPU device of the explorer's own (no
// progress reports to the classifier's model panel), giving the page its
// thread back between layers as the classifier's engines do, and builds
// the engine on it; the engine closes the device.
func openExplorerGPU(m *weights.Model) (model.Engine, error) {
	d, err := shaders.Open(context.Background())
	if err != nil {
		return nil, err
	}
	d.SetYield(0, func() { breatheWith(yieldToBrowser) })
	return shaders.OpenEngine(context.Background(), d, m)
}
