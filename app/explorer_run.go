package app

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/golden"
	"github.com/residual-webgpu/residual/model/weights"
)

// The explorer's "run with random weights": a model of the chosen
// architecture with the golden generator's He-uniform weights (so
// activations stay finite through 100+ layers), int8 like the page's own
// weights, run once on the page's current kind of engine with per-stage
// timing.

// exSeed is the generator seed of the explorer's weights and input: the
// same architecture always gets the same network.
const exSeed = 2015

// exBNEps is the BatchNorm epsilon the random weights are folded with
// (torchvision's).
const exBNEps = 1e-5

// What a run may cost in this tab. Above the warn limits the explorer
// asks before running (generating 127 MB of weights and 23 GMACs on a
// software adapter take a while); above the max limits it refuses (a wasm
// heap never shrinks, and past a few hundred MB the tab may be killed).
const (
	exWarnWeightBytes = 64e6
	exWarnMACs        = 20e9
	exMaxWeightBytes  = 160e6
	exMaxMACs         = 200e9
	exMaxActBytes     = 256 << 20
)

// tooBig says why the plan will not be run here, or "".
func (p exPlan) tooBig() string {
	switch {
	case p.Err != "":
		return p.Err
	case p.WeightBytes > exMaxWeightBytes:
		return fmt.Sprintf("%s: %s of int8 weights is more than this page generates (%s at most); use fewer classes.",
			p.Choice.Title(), formatBytes(p.WeightBytes), formatBytes(exMaxWeightBytes))
	case p.MACs > exMaxMACs:
		return fmt.Sprintf("%s: %s MACs per run is too much for this tab (%s at most); lower the batch or the input size.",
			p.Choice.Title(), formatCount(p.MACs), formatCount(exMaxMACs))
	case p.ActBytes > exMaxActBytes:
		return fmt.Sprintf("%s: its largest activation takes %s (%s at most); lower the batch or the input size.",
			p.Choice.Title(), formatBytes(p.ActBytes), formatBytes(exMaxActBytes))
	}
	return ""
}

// heavy says what a run will cost when that deserves a warning, or "".
func (p exPlan) heavy() string {
	if p.Err != "" || (p.WeightBytes <= exWarnWeightBytes && p.MACs <= exWarnMACs) {
		return ""
	}
	return fmt.Sprintf("%s: %s of random int8 weights to generate in this tab, %s MACs per run.",
		p.Choice.Title(), formatBytes(p.WeightBytes), formatCount(p.MACs))
}

// key identifies what a plan is of: a run's times belong to that plan.
func (p exPlan) key() string {
	return fmt.Sprintf("%s|%s|%d|%d|%d", p.Choice.Name, p.Choice.Variant, p.Shape.Classes, p.Shape.Batch, p.Shape.Size)
}

// exTimes is one architecture's run.
type exTimes struct {
	Key     string             // the plan's key
	Engine  string             // who ran it (model.Result.Engine)
	Ms      map[string]float64 // per row of the stage table, by name
	RunMs   float64            // the timed Run
	BuildMs float64            // generating the weights and preparing the engine
	Note    string             // why it ran on the CPU when the GPU was asked for
}

// exploreGPU builds a WebGPU engine for the explorer's models on a device
// of its own (the classifier's device keeps reporting to the model
// panel). It is set in the browser build only.
var exploreGPU func(*weights.Model) (model.Engine, error)

// exRunner runs random-weight models on an engine set of its own, so
// the classifier's engines and weights stay as they are; a new model
// closes the engines of the one before.
type exRunner struct {
	engines *engineSet
	mu      sync.Mutex
	running bool
	stopped bool
}

// newExRunner uses the explorer's GPU engine and the app's CPU engine.
func newExRunner() *exRunner {
	return &exRunner{engines: &engineSet{engines: map[Backend]model.Engine{}, newGPU: exploreGPU, newCPU: newCPUEngine}}
}

// stop releases the engines, now or when the run under way ends.
func (r *exRunner) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = true
	if !r.running {
		r.closeEngines()
	}
}

func (r *exRunner) closeEngines() {
	r.engines.mu.Lock()
	r.engines.close()
	r.engines.model = nil
	r.engines.mu.Unlock()
}

// run builds p's random model and runs one batch on backend's engine
// (the CPU when the GPU one cannot), telling say what it does. It blocks:
// call it from a goroutine.
func (r *exRunner) run(ctx context.Context, backend Backend, p exPlan, say func(string)) (exTimes, error) {
	r.mu.Lock()
	if r.running || r.stopped {
		r.mu.Unlock()
		return exTimes{}, fmt.Errorf("explorer: a run is under way or the explorer is closed")
	}
	r.running = true
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.running = false
		if r.stopped {
			r.closeEngines()
		}
		r.mu.Unlock()
	}()
	if why := p.tooBig(); why != "" {
		return exTimes{}, fmt.Errorf("%s", why)
	}
	t := exTimes{Key: p.key(), Ms: map[string]float64{}}
	title := p.Choice.Title()
	start := time.Now()
	var said time.Time
	m, err := golden.Random(p.Arch, exSeed, exBNEps, weights.Int8, func(done, total int) {
		if now := time.Now(); now.Sub(said) > 100*time.Millisecond || done == total {
			said = now
			say(fmt.Sprintf("%s: generating random weights, layer %d of %d…", title, done, total))
		}
		// Generating is all on the page's one thread: paint between layers.
		if yieldToBrowser != nil {
			breatheWith(yieldToBrowser)
		}
	})
	if err != nil {
		return t, err
	}
	if err := ctx.Err(); err != nil {
		return t, err
	}
	s := p.Shape
	x := golden.Input([]int{s.Batch, 3, s.Size, s.Size}, exSeed)
	opt := model.RunOptions{TopK: 1, Profile: true}
	var res *model.Result
	if backend == BackendGPU {
		say(fmt.Sprintf("%s: preparing the GPU engine (compiling shaders, uploading weights)…", title))
		e, err := r.engines.ready(BackendGPU, m, s.Batch, s.Size)
		if err == nil {
			t.BuildMs = msSince(start)
			say(fmt.Sprintf("%s: running a batch of %d at %d×%d on %s…", title, s.Batch, s.Size, s.Size, e.Name()))
			runStart := time.Now()
			res, err = e.Run(ctx, x, opt)
			t.RunMs = msSince(runStart)
		}
		if err != nil {
			if ctx.Err() != nil {
				return t, ctx.Err()
			}
			t.Note = fmt.Sprintf("The GPU engine could not run %s (%v); it ran on the CPU.", title, err)
			res = nil
		}
	}
	if res == nil {
		e, err := r.engines.get(BackendCPU, m)
		if err != nil {
			return t, fmt.Errorf("%s: cpu engine: %w", title, err)
		}
		if t.BuildMs == 0 {
			t.BuildMs = msSince(start)
		}
		say(fmt.Sprintf("%s: running a batch of %d at %d×%d on the CPU…", title, s.Batch, s.Size, s.Size))
		runStart := time.Now()
		if res, err = e.Run(ctx, x, opt); err != nil {
			return t, fmt.Errorf("%s: cpu engine: %w", title, err)
		}
		t.RunMs = msSince(runStart)
	}
	// The generator's weights keep activations of order one: anything
	// else is a broken engine or generator, not a result to show.
	for _, row := range res.Logits {
		for _, v := range row {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return t, fmt.Errorf("%s on %s: the output is not finite (%v)", title, res.Engine, v)
			}
		}
	}
	t.Engine = res.Engine
	for _, st := range res.Stages {
		t.Ms[st.Name] = st.Ms
		for _, b := range st.Blocks {
			t.Ms[b.Name] = b.Ms
		}
	}
	return t, nil
}
