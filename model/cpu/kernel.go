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
// to c once at the end. The loop takes each step's values through a
// three-index slice of exactly mr (nr) values: one bounds check per operand
// and step, which Go's wasm port (which otherwise checks every index)
// runs twice as fast as indexing a and b directly (ResNet-50 under node:
// 2.2 s against 4.2–5.2 s an image), and amd64 no slower.
func kernel(a, b, c []float32, ldc int) {
	var c00, c01, c10, c11, c20, c21, c30, c31 float32
	n := min(len(a)/mr, len(b)/nr)
	for i := 0; i < n; i++ {
		aa := a[i*mr : i*mr+mr : i*mr+mr]
		bb := b[i*nr : i*nr+nr : i*nr+nr]
		a0, a1, a2, a3 := aa[0], aa[1], aa[2], aa[3]
		b0, b1 := bb[0], bb[1]
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
