package cpu

// The register block of the GEMM: each micro-kernel call computes an mr×nr
// block of output (mr output channels × nr output pixels). 4×2 measured
// fastest of the shapes tried on amd64 (4×4, 4×8, 8×4, 2×4, 3×3, 6×4, …):
// Go keeps float32 scalars in at most 15 X registers, and bigger blocks
// spill their accumulators to the stack.
const (
	mr = 4
	nr = 2
)

// kernel adds A·B to the mr×nr block of c that starts at c[0] (row stride
// ldc), where a is a packed A panel (kc groups of mr values, one per output
// row) and b a packed B panel (kc groups of nr values, one per output
// column). The sum over k is accumulated in float32, in k order, and added
// to c once at the end.
func kernel(a, b, c []float32, ldc int) {
	var c00, c01, c10, c11, c20, c21, c30, c31 float32
	for i, j := 0, 0; i+3 < len(a) && j+1 < len(b); i, j = i+mr, j+nr {
		a0, a1, a2, a3 := a[i], a[i+1], a[i+2], a[i+3]
		b0, b1 := b[j], b[j+1]
		c00 += a0 * b0
		c01 += a0 * b1
		c10 += a1 * b0
		c11 += a1 * b1
		c20 += a2 * b0
		c21 += a2 * b1
		c30 += a3 * b0
		c31 += a3 * b1
	}
	r := c[:2]
	r[0] += c00
	r[1] += c01
	r = c[ldc : ldc+2]
	r[0] += c10
	r[1] += c11
	r = c[2*ldc : 2*ldc+2]
	r[0] += c20
	r[1] += c21
	r = c[3*ldc : 3*ldc+2]
	r[0] += c30
	r[1] += c31
}
