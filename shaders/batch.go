package shaders

import (
	"fmt"

	"github.com/residual-webgpu/residual/model"
)

// activationBudget bounds a plan's activation arena; a larger batch runs
// in sub-batches that fit. ResNet-50 at 224×224 needs about 8 MiB an
// image, so 32 images go at once; a variable so tests can make it small.
var activationBudget = 256 << 20

// maxBatch is the most images of h×w that one plan of the engine's model
// runs at once: every tensor within the device's storage binding and
// buffer sizes, and the arena within activationBudget. Arena sizes grow
// with the batch in proportion, so one image's layout tells. It is worked
// out once per size.
func (e *Engine) maxBatch(h, w int) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	key := [3]int{h, w, activationBudget}
	if n, ok := e.batches[key]; ok {
		return n, nil
	}
	n, err := e.fits(h, w)
	if err == nil {
		e.batches[key] = n
	}
	return n, err
}

func (e *Engine) fits(h, w int) (int, error) {
	prog, err := e.m.Net.Program(1, h, w)
	if err != nil {
		return 0, err
	}
	_, lives := newLayout(prog).lives(prog, 1)
	sizes, _ := assign(lives)
	largest, arena := 0, 0
	for _, l := range lives {
		largest = max(largest, l.bytes-slack)
	}
	for _, s := range sizes {
		arena += s - slack
	}
	lim := e.d.limits
	bind := int(min(lim.MaxStorageBufferBindingSize, lim.MaxBufferSize, 1<<40)) - slack
	if largest > bind {
		return 0, fmt.Errorf("one image of %dx%d needs a tensor of %d bytes, over the device's storage binding size %d", h, w, largest, bind)
	}
	return max(1, min(bind/largest, activationBudget/arena, model.MaxBatch)), nil
}
