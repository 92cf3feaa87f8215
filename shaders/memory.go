package shaders

import (
	"context"
	"fmt"
)

// Memory is what a plan (one model at one input size) holds on the GPU,
// in bytes, while it exists; every run reuses it.
type Memory struct {
	Weights     uint64 // packed int8 weights, per-channel scales and biases, conv shapes
	Activations uint64 // the activation arena: buffers reused by liveness
	Scratch     uint64 // input bytes, normalisation table, readback buffers
	Inspect     uint64 // the heatmaps' reductions of every image and their readback (heatmap.wgsl), written by Inspect runs only
	// LargestActivation is the largest single tensor of a run (the input,
	// a conv's or a pool's output), for the whole batch. The arena is
	// bounded by a few of these: TestPlanMemory checks Activations +
	// Scratch ≤ 3 × LargestActivation.
	LargestActivation uint64
}

// Total is the plan's peak: everything but the heatmaps' buffers.
func (m Memory) Total() uint64 { return m.Weights + m.Activations + m.Scratch }

// String sums the memory up for people, in MiB.
func (m Memory) String() string {
	mib := func(b uint64) float64 { return float64(b) / (1 << 20) }
	return fmt.Sprintf("%.1f MiB (weights %.1f, activations %.1f, scratch %.2f; largest tensor %.1f; +%.1f when inspecting)",
		mib(m.Total()), mib(m.Weights), mib(m.Activations), mib(m.Scratch), mib(m.LargestActivation), mib(m.Inspect))
}

// Memory reports the GPU memory of the plan for batches of b images of
// h×w pixels, building the plan first if no run or Prepare has (that
// compiles the pipelines and uploads the weights, but runs nothing).
func (e *Engine) Memory(ctx context.Context, b, h, w int) (Memory, error) {
	if err := ctx.Err(); err != nil {
		return Memory{}, fmt.Errorf("gpu engine: memory: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var m Memory
	err := e.locked("gpu engine: memory", func() error {
		p, err := e.plan(b, h, w)
		if err != nil {
			return err
		}
		m = p.mem
		return nil
	})
	return m, err
}

// measure fills p.mem once the plan's buffers exist.
func (p *plan) measure() {
	var m Memory
	for _, b := range p.weights {
		m.Weights += b.Size()
	}
	m.Weights += p.ep.Size() + p.params.Size()
	for _, b := range p.acts {
		m.Activations += b.Size()
	}
	for _, b := range p.scratch() {
		m.Scratch += b.Size()
	}
	for _, a := range p.lay.acts {
		m.LargestActivation = max(m.LargestActivation, uint64(4*a.floats(p.b)))
	}
	m.Inspect = p.heat.bytes()
	p.mem = m
}
