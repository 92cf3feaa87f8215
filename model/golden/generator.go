// Package golden checks Residual against the real torchvision. It holds the
// deterministic value generator that tools/golden/gen.py implements bit for
// bit in numpy, the torchvision state dict and input it generates for any
// model.Net, and the fixtures gen.py wrote by running torchvision on them
// (testdata/golden: logits, per-stage shapes and checksums).
package golden

import "math"

// The constants of SplitMix64 and FNV-1a-64.
const (
	gamma     = 0x9E3779B97F4A7C15
	mix1      = 0xBF58476D1CE4E5B9
	mix2      = 0x94D049BB133111EB
	fnvOffset = 0xCBF29CE484222325
	fnvPrime  = 0x100000001B3
)

// Key is the stream key of a named tensor: FNV-1a-64 of the name's bytes
// XOR seed. Every tensor gets its own stream, so values do not depend on
// the order tensors are generated in.
func Key(name string, seed uint64) uint64 {
	h := uint64(fnvOffset)
	for i := 0; i < len(name); i++ {
		h ^= uint64(name[i])
		h *= fnvPrime
	}
	return h ^ seed
}

// mix64 is SplitMix64's output function.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * mix1
	z = (z ^ (z >> 27)) * mix2
	return z ^ (z >> 31)
}

// Raw is output i (from 0) of SplitMix64 seeded with key: counter based,
// so any element can be computed on its own.
func Raw(key, i uint64) uint64 { return mix64(key + (i+1)*gamma) }

// Unit maps a raw value to a float32 in [-1, 1) from its top 24 bits; every
// step is exact in float32, so numpy and Go agree bit for bit.
func Unit(raw uint64) float32 {
	return float32(raw>>40)*(1.0/(1<<24))*2 - 1
}

// Uniform returns the first n values of the stream (name, seed) in [-1, 1).
func Uniform(name string, seed uint64, n int) []float32 {
	if n < 0 {
		n = 0
	}
	k := Key(name, seed)
	out := make([]float32, n)
	for i := range out {
		out[i] = Unit(Raw(k, uint64(i)))
	}
	return out
}

// Dist is the distribution of one tensor kind: value = float32(u*Scale) +
// Offset, u from Uniform, both operations rounded to float32 (the explicit
// conversion stops the compiler from fusing them into an FMA, which numpy
// does not do).
type Dist struct {
	Scale, Offset float32
}

// Values returns the first n values of the stream (name, seed) under d.
func (d Dist) Values(name string, seed uint64, n int) []float32 {
	out := Uniform(name, seed, n)
	for i, u := range out {
		out[i] = float32(u*d.Scale) + d.Offset
	}
	return out
}

// The fixed distributions, chosen so activations stay of order one through
// 150 layers whose BatchNorms (in eval mode) do not renormalise anything.
var (
	InputDist       = Dist{Scale: 1}
	BNWeightDist    = Dist{Scale: 0.5, Offset: 1} // [0.5, 1.5)
	BNBiasDist      = Dist{Scale: 0.125}
	RunningMeanDist = Dist{Scale: 0.125}
	RunningVarDist  = Dist{Scale: 0.5, Offset: 1} // [0.5, 1.5): positive
	ConvBiasDist    = Dist{Scale: 0.125}
	FCBiasDist      = Dist{Scale: 0.125}
)

// ClosingFactor shrinks the last conv of each block's main branch: without
// it every residual add roughly doubles the variance (2^50 in ResNet-152).
const ClosingFactor = 0.25

// ConvDist is a conv weight's distribution: He-uniform, bound
// sqrt(6/fanIn) (variance 2/fanIn), times ClosingFactor for a block's last
// conv. The bound is computed in float64 and rounded once to float32, as
// gen.py does; fanIn is Cin/Groups·K·K.
func ConvDist(fanIn int, closing bool) Dist {
	s := math.Sqrt(6 / float64(max(fanIn, 1)))
	if closing {
		s *= ClosingFactor
	}
	return Dist{Scale: float32(s)}
}

// FCDist is the fc weight's distribution: LeCun-uniform, bound sqrt(3/in).
func FCDist(in int) Dist {
	return Dist{Scale: float32(math.Sqrt(3 / float64(max(in, 1))))}
}
