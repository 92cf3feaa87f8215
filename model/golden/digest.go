package golden

import "math"

// Digest fingerprints a float32 tensor as gen.py does: the sum, modulo
// 2^64, over i of mix64(bits(v[i]) | i<<32). It depends on every bit and on
// the position of every value, so one number per tensor shows that Go
// generated exactly what torchvision was given.
func Digest(v []float32) uint64 {
	var s uint64
	for i, x := range v {
		s += mix64(uint64(math.Float32bits(x)) | uint64(i)<<32)
	}
	return s
}
