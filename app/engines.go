package app

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/residual-webgpu/residual/internal/cpuchoice"

	"github.com/residual-webgpu/residual/model"
	"github.com/residual-webgpu/residual/model/weights"
)

// engineSet builds each backend's engine once per model and keeps it: the
// GPU engine's first run compiles pipelines and uploads weights, later
// runs reuse them.
type engineSet struct {
	mu      sync.Mutex
	model   *weights.Model
	engines map[Backend]model.Engine
	failed  map[Backend]error // a failed build is not retried for the same model
	warm    map[warmKey]*warmUp
	newGPU  func(*weights.Model) (model.Engine, error)
	newCPU  func(*weights.Model) (model.Engine, error)
	// cpuDesc says which CPU engine was built last and, when the kernels
	// could not start, why (atomic: the page's state reads it without
	// taking mu, which engine builds hold while they report progress).
	cpuDesc atomic.Pointer[cpuDescription]
}

// cpuDescription is what the backend panel says about the CPU engine.
type cpuDescription struct{ desc, fallback string }

// warmKey is one engine at one batch shape.
type warmKey struct {
	backend Backend
	batch   int
	size    int
}

// warmUp is an engine's preparation for one batch shape: done closes when
// it is over, with err set before.
type warmUp struct {
	done chan struct{}
	err  error
}

// errNoGPUEngine says this build has no GPU engine.
var errNoGPUEngine = errors.New("this build has no GPU engine")

// newEngineSet uses the package's engine constructors.
func newEngineSet() *engineSet {
	return &engineSet{engines: map[Backend]model.Engine{}, newGPU: newGPUEngine, newCPU: newCPUEngine}
}

// get returns the engine of a backend for m, building it when needed
// (for the GPU this blocks on WebGPU: call it from a goroutine).
func (s *engineSet) get(b Backend, m *weights.Model) (model.Engine, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.model != m {
		s.close()
		s.model = m
		s.failed = nil
		s.warm = nil
	}
	if e, ok := s.engines[b]; ok {
		return e, nil
	}
	if err := s.failed[b]; err != nil {
		return nil, err
	}
	var e model.Engine
	var err error
	switch b {
	case BackendGPU:
		if s.newGPU == nil {
			return nil, errNoGPUEngine
		}
		e, err = s.newGPU(m)
	default:
		e, err = s.newCPU(m)
	}
	if err != nil {
		if s.failed == nil {
			s.failed = map[Backend]error{}
		}
		s.failed[b] = err
		return nil, err
	}
	s.engines[b] = e
	if ce, ok := e.(*cpuchoice.Engine); ok {
		s.cpuDesc.Store(&cpuDescription{desc: ce.Desc, fallback: ce.Fallback})
	}
	return e, nil
}

// ready returns the engine of a backend for m after it has prepared for
// batches of n images of size×size (the GPU engine compiles its pipelines,
// uploads the weights and runs once on a blank input), so that the next
// run's time is a warm run's. Each shape is prepared once: a caller that
// comes while another prepares it waits for that one (the page's
// background warm-up and a measuring run meet here). Engines with nothing
// to prepare are returned at once. It blocks: call it from a goroutine.
func (s *engineSet) ready(b Backend, m *weights.Model, n, size int) (model.Engine, error) {
	e, err := s.get(b, m)
	if err != nil {
		return nil, err
	}
	pr, ok := e.(model.Preparer)
	if !ok {
		return e, nil
	}
	k := warmKey{backend: b, batch: n, size: size}
	s.mu.Lock()
	w, started := s.warm[k]
	if !started {
		w = &warmUp{done: make(chan struct{})}
		if s.warm == nil {
			s.warm = map[warmKey]*warmUp{}
		}
		s.warm[k] = w
	}
	s.mu.Unlock()
	if !started {
		w.err = pr.Prepare(context.Background(), n, size, size)
		close(w.done)
	}
	<-w.done
	if w.err != nil {
		return nil, w.err
	}
	return e, nil
}

// isReady reports, without waiting, whether ready has finished preparing
// backend b for batches of n images of size×size.
func (s *engineSet) isReady(b Backend, n, size int) bool {
	s.mu.Lock()
	w := s.warm[warmKey{backend: b, batch: n, size: size}]
	s.mu.Unlock()
	if w == nil {
		return false
	}
	select {
	case <-w.done:
		return w.err == nil
	default:
		return false
	}
}

// close releases engines that hold resources (GPU buffers).
func (s *engineSet) close() {
	for b, e := range s.engines {
		e.Close()
		delete(s.engines, b)
	}
}
