//go:build !unix

package cpu

import "time"

// processCPU is unknown here (js/wasm, windows): benchmarks report wall
// time only.
func processCPU() (time.Duration, bool) { return 0, false }
