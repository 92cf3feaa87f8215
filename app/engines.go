package app

import (
	"errors"
	"sync"

	"github.com/residual-webgpu/residual/model/weights"
)

// engineSet builds each backend's engine once per model and keeps it: the
// GPU engine's first run compiles pipelines and uploads weights, later
// runs reuse them.
type engineSet struct {
	mu      sync.Mutex
	model   *weights.Model
	engines map[Backend]Engine
	failed  map[Backend]error // a failed build is not retried for the same model
	newGPU  func(*weights.Model) (Engine, error)
	newCPU  func(*weights.Model) (Engine, error)
}

// errNoGPUEngine says this build has no GPU engine.
var errNoGPUEngine = errors.New("this build has no GPU engine")

// newEngineSet uses the package's engine constructors.
func newEngineSet() *engineSet {
	return &engineSet{engines: map[Backend]Engine{}, newGPU: newGPUEngine, newCPU: newCPUEngine}
}

// get returns the engine of a backend for m, building it when needed
// (for the GPU this blocks on WebGPU: call it from a goroutine).
func (s *engineSet) get(b Backend, m *weights.Model) (Engine, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.model != m {
		s.close()
		s.model = m
		s.failed = nil
	}
	if e, ok := s.engines[b]; ok {
		return e, nil
	}
	if err := s.failed[b]; err != nil {
		return nil, err
	}
	var e Engine
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
	return e, nil
}

// close releases engines that hold resources (GPU buffers).
func (s *engineSet) close() {
	for b, e := range s.engines {
		if c, ok := e.(interface{ Close() }); ok {
			c.Close()
		}
		delete(s.engines, b)
	}
}
