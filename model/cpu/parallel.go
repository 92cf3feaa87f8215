package cpu

import (
	"sync"
	"sync/atomic"
)

// parallelFor calls f(worker, i) for every i in [0, n), spreading the calls
// over up to workers goroutines (the caller passes GOMAXPROCS or less) that take indices in order from a shared
// counter (tiles differ in cost, so static splitting would leave a core
// idle). worker is in [0, workers) and lets f use per-worker scratch. With
// one processor (WebAssembly) everything runs on the calling goroutine.
func parallelFor(workers, n int, f func(worker, i int)) {
	workers = min(workers, n)
	if workers <= 1 {
		for i := 0; i < n; i++ {
			f(0, i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	run := func(w int) {
		for {
			i := int(next.Add(1) - 1)
			if i >= n {
				return
			}
			f(w, i)
		}
	}
	wg.Add(workers - 1)
	for w := 1; w < workers; w++ {
		go func() {
			defer wg.Done()
			run(w)
		}()
	}
	run(0)
	wg.Wait()
}
