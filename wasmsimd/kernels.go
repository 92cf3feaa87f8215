// Package wasmsimd is a third engine: Residual's wasm SIMD128 kernel
// module (kernels/kernels.c, built by tools/build_kernels.sh) driven by
// the network's Program. The module's linear memory holds the packed
// int8 weights and the activations; Go only lays memory out and sequences
// the calls. It runs natively through wazero (tests, benchmarks); running
// it in the browser, on two workers, and an int8-activation path are the
// next steps (issue 12).
package wasmsimd

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
)

// module is one instance of the kernel module: natively a wazero
// instance (module_wazero.go), in the browser the page's own WebAssembly
// (module_js.go).
type module interface {
	// call runs an export; args are int (i32) or float32 (f32); an f32
	// result comes back as float32, an i32 as int.
	call(ctx context.Context, name string, args ...any) (any, error)
	heapBase() uint32
	size() uint64 // the memory's bytes
	grow(pages uint32) bool
	read(p uint32, n int) []byte // a copy
	write(p uint32, b []byte)
	close()
}

// exports are the functions Load requires.
var exports = []string{"im2col", "gemm_i8", "maxpool", "avgpool", "relu", "absmax", "anyneg", "im2row_q8", "gemm_q8"}

// Kernels is one instance of the kernel module with an allocator over its
// memory.
type Kernels struct {
	m    module
	next uint32              // the first free byte
	free map[uint32][]uint32 // released blocks by size, for reuse
}

// Load instantiates the module (the bytes tools/build_kernels.sh built).
func Load(ctx context.Context, wasm []byte) (*Kernels, error) {
	m, err := instantiate(ctx, wasm)
	if err != nil {
		return nil, fmt.Errorf("wasmsimd: %w", err)
	}
	return &Kernels{m: m, next: m.heapBase(), free: map[uint32][]uint32{}}, nil
}

// Close releases the instance.
func (k *Kernels) Close() { k.m.close() }

func (k *Kernels) call(ctx context.Context, name string, args ...any) error {
	_, err := k.m.call(ctx, name, args...)
	return err
}

// Alloc reserves n bytes, 16-aligned, growing the memory as needed; a
// block of the same size released by Free is reused first (a ResNet's
// activations come in few sizes).
func (k *Kernels) Alloc(n int) (uint32, error) {
	if l := k.free[uint32(n)]; len(l) > 0 {
		k.free[uint32(n)] = l[:len(l)-1]
		return l[len(l)-1], nil
	}
	p := (k.next + 15) &^ 15
	end := uint64(p) + uint64(n)
	if end > math.MaxUint32 {
		return 0, fmt.Errorf("wasmsimd: %d bytes past the 4 GiB of a wasm32 memory", n)
	}
	if size := k.m.size(); end > size {
		if !k.m.grow(uint32((end - size + 65535) / 65536)) {
			return 0, fmt.Errorf("wasmsimd: cannot grow memory to %d bytes", end)
		}
	}
	k.next = uint32(end)
	return p, nil
}

// Free releases a block of n bytes from Alloc for reuse.
func (k *Kernels) Free(p uint32, n int) { k.free[uint32(n)] = append(k.free[uint32(n)], p) }

// MaxPool runs the module's maxpool (see kernels.c).
func (k *Kernels) MaxPool(ctx context.Context, in uint32, c, h, w, kernel, stride, pad, oh, ow int, out uint32) error {
	return k.call(ctx, "maxpool", p(in), c, h, w, kernel, stride, pad, oh, ow, p(out))
}

// AvgPool averages n planes of hw values.
func (k *Kernels) AvgPool(ctx context.Context, in uint32, n, hw int, out uint32) error {
	return k.call(ctx, "avgpool", p(in), n, hw, p(out))
}

// ReLU writes max(x, 0) of n values.
func (k *Kernels) ReLU(ctx context.Context, in uint32, n int, out uint32) error {
	return k.call(ctx, "relu", p(in), n, p(out))
}

// AbsMax is the largest |x| of n floats at at.
func (k *Kernels) AbsMax(ctx context.Context, at uint32, n int) (float32, error) {
	r, err := k.m.call(ctx, "absmax", p(at), n)
	if err != nil {
		return 0, err
	}
	return r.(float32), nil
}

// AnyNeg says whether any of n floats at at is negative.
func (k *Kernels) AnyNeg(ctx context.Context, at uint32, n int) (bool, error) {
	r, err := k.m.call(ctx, "anyneg", p(at), n)
	if err != nil {
		return false, err
	}
	return r.(int) != 0, nil
}

// Im2col runs the module's im2col (see kernels.c).
func (k *Kernels) Im2col(ctx context.Context, in uint32, c, h, w, kh, kw, stride, pad, oh, ow int, col uint32) error {
	return k.call(ctx, "im2col", p(in), c, h, w, kh, kw, stride, pad, oh, ow, p(col))
}

// GemmI8 runs the module's gemm_i8 (see kernels.c); res 0 means none.
// scratch holds at least 32*kk bytes (one strip of 8 columns).
func (k *Kernels) GemmI8(ctx context.Context, wp, scale, bias, col uint32, kk, n, co int, out, res uint32, relu bool, scratch uint32) error {
	return k.call(ctx, "gemm_i8", p(wp), p(scale), p(bias), p(col), kk, n, co, p(out), p(res), b(relu), p(scratch))
}

// Im2rowQ8 runs the module's im2row_q8 (see kernels.c).
func (k *Kernels) Im2rowQ8(ctx context.Context, in uint32, c, h, w, kh, kw, stride, pad, oh, ow int, inv float32, kp int, u8 bool, rows uint32) error {
	return k.call(ctx, "im2row_q8", p(in), c, h, w, kh, kw, stride, pad, oh, ow, inv, kp, b(u8), p(rows))
}

// GemmQ8 runs the module's gemm_q8 (see kernels.c); res 0 means none.
func (k *Kernels) GemmQ8(ctx context.Context, w, scale uint32, sx float32, bias, rows uint32, kp, n, co int, out, res uint32, relu, u8 bool) error {
	return k.call(ctx, "gemm_q8", p(w), p(scale), sx, p(bias), p(rows), kp, n, co, p(out), p(res), b(relu), b(u8))
}

// p passes a pointer as the i32 the module takes.
func p(v uint32) int { return int(int32(v)) }

func b(v bool) int {
	if v {
		return 1
	}
	return 0
}

// PackI8 lays int8 weights [co][k] out in the panels gemm_i8 reads:
// [co/4][k][4], rows past co zero.
func PackI8(w []int8, co, k int) []int8 {
	panels := (co + 3) / 4
	out := make([]int8, panels*k*4)
	for o := range co {
		for j := range k {
			out[((o/4)*k+j)*4+o%4] = w[o*k+j]
		}
	}
	return out
}

// PackQ8 lays int8 weights [co][k] out as gemm_q8 reads them: rows of kp
// (k rounded up to 8) bytes, co rounded up to 4 rows, padding zero.
func PackQ8(w []int8, co, k int) (rows []int8, kp int) {
	kp = (k + 7) / 8 * 8
	rows = make([]int8, (co+3)/4*4*kp)
	for o := range co {
		copy(rows[o*kp:o*kp+k], w[o*k:(o+1)*k])
	}
	return rows, kp
}

// WriteF32 stores v at at.
func (k *Kernels) WriteF32(at uint32, v []float32) {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	k.m.write(at, b)
}

// ReadF32 loads n floats from at.
func (k *Kernels) ReadF32(at uint32, n int) []float32 {
	b := k.m.read(at, 4*n)
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// WriteI8 stores v at at.
func (k *Kernels) WriteI8(at uint32, v []int8) {
	b := make([]byte, len(v))
	for i, x := range v {
		b[i] = byte(x)
	}
	k.m.write(at, b)
}
