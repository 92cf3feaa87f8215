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

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// Kernels is one instance of the kernel module with a bump allocator over
// its memory.
type Kernels struct {
	rt     wazero.Runtime
	mod    api.Module
	mem    api.Memory
	im2col api.Function
	gemm   api.Function
	maxp   api.Function
	avgp   api.Function
	relu   api.Function
	absmax api.Function
	anyneg api.Function
	im2row api.Function
	gemmq  api.Function
	next   uint32              // the first free byte
	free   map[uint32][]uint32 // released blocks by size, for reuse
}

// Load instantiates the module (the bytes clang built from kernels.c).
func Load(ctx context.Context, wasm []byte) (*Kernels, error) {
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCoreFeatures(api.CoreFeaturesV2|api.CoreFeatureSIMD))
	mod, err := rt.Instantiate(ctx, wasm)
	if err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("wasmsimd: instantiate: %w", err)
	}
	k := &Kernels{rt: rt, mod: mod, mem: mod.Memory(), free: map[uint32][]uint32{}}
	fns := map[string]*api.Function{"im2col": &k.im2col, "gemm_i8": &k.gemm, "maxpool": &k.maxp, "avgpool": &k.avgp, "relu": &k.relu,
		"absmax": &k.absmax, "anyneg": &k.anyneg, "im2row_q8": &k.im2row, "gemm_q8": &k.gemmq}
	for name, f := range fns {
		if *f = mod.ExportedFunction(name); *f == nil {
			rt.Close(ctx)
			return nil, fmt.Errorf("wasmsimd: the module has no function %s", name)
		}
	}
	hb := mod.ExportedGlobal("__heap_base")
	if k.mem == nil || hb == nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("wasmsimd: the module exports no memory or __heap_base")
	}
	k.next = uint32(hb.Get())
	return k, nil
}

// Close releases the instance.
func (k *Kernels) Close(ctx context.Context) error { return k.rt.Close(ctx) }

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
	if size := uint64(k.mem.Size()); end > size {
		if _, ok := k.mem.Grow(uint32((end - size + 65535) / 65536)); !ok {
			return 0, fmt.Errorf("wasmsimd: cannot grow memory to %d bytes", end)
		}
	}
	k.next = uint32(end)
	return p, nil
}

// Free releases a block of n bytes from Alloc for reuse.
func (k *Kernels) Free(p uint32, n int) { k.free[uint32(n)] = append(k.free[uint32(n)], p) }

// MaxPool, AvgPool and ReLU run the module's kernels of those names.
func (k *Kernels) MaxPool(ctx context.Context, in uint32, c, h, w, kernel, stride, pad, oh, ow int, out uint32) error {
	_, err := k.maxp.Call(ctx, uint64(in), u(c), u(h), u(w), u(kernel), u(stride), u(pad), u(oh), u(ow), uint64(out))
	return err
}

// AvgPool averages n planes of hw values.
func (k *Kernels) AvgPool(ctx context.Context, in uint32, n, hw int, out uint32) error {
	_, err := k.avgp.Call(ctx, uint64(in), u(n), u(hw), uint64(out))
	return err
}

// ReLU writes max(x, 0) of n values.
func (k *Kernels) ReLU(ctx context.Context, in uint32, n int, out uint32) error {
	_, err := k.relu.Call(ctx, uint64(in), u(n), uint64(out))
	return err
}

// AbsMax is the largest |x| of n floats at p.
func (k *Kernels) AbsMax(ctx context.Context, p uint32, n int) (float32, error) {
	r, err := k.absmax.Call(ctx, uint64(p), u(n))
	if err != nil {
		return 0, err
	}
	return api.DecodeF32(r[0]), nil
}

// AnyNeg says whether any of n floats at p is negative.
func (k *Kernels) AnyNeg(ctx context.Context, p uint32, n int) (bool, error) {
	r, err := k.anyneg.Call(ctx, uint64(p), u(n))
	if err != nil {
		return false, err
	}
	return r[0] != 0, nil
}

// Im2rowQ8 runs the module's im2row_q8 (see kernels.c).
func (k *Kernels) Im2rowQ8(ctx context.Context, in uint32, c, h, w, kh, kw, stride, pad, oh, ow int, inv float32, kp int, u8 bool, rows uint32) error {
	_, err := k.im2row.Call(ctx, uint64(in), u(c), u(h), u(w), u(kh), u(kw), u(stride), u(pad), u(oh), u(ow), api.EncodeF32(inv), u(kp), b(u8), uint64(rows))
	return err
}

func b(v bool) uint64 {
	if v {
		return 1
	}
	return 0
}

// GemmQ8 runs the module's gemm_q8 (see kernels.c); res 0 means none.
func (k *Kernels) GemmQ8(ctx context.Context, w, scale uint32, sx float32, bias, rows uint32, kp, p, co int, out, res uint32, relu, u8 bool) error {
	_, err := k.gemmq.Call(ctx, uint64(w), uint64(scale), api.EncodeF32(sx), uint64(bias), uint64(rows), u(kp), u(p), u(co), uint64(out), uint64(res), b(relu), b(u8))
	return err
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

// WriteF32 stores v at p.
func (k *Kernels) WriteF32(p uint32, v []float32) {
	b, _ := k.mem.Read(p, uint32(4*len(v)))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
}

// ReadF32 loads n floats from p.
func (k *Kernels) ReadF32(p uint32, n int) []float32 {
	b, _ := k.mem.Read(p, uint32(4*n))
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// WriteI8 stores v at p.
func (k *Kernels) WriteI8(p uint32, v []int8) {
	b, _ := k.mem.Read(p, uint32(len(v)))
	for i, x := range v {
		b[i] = byte(x)
	}
}

// Im2col runs the module's im2col (see kernels.c).
func (k *Kernels) Im2col(ctx context.Context, in uint32, c, h, w, kh, kw, stride, pad, oh, ow int, col uint32) error {
	_, err := k.im2col.Call(ctx, uint64(in), u(c), u(h), u(w), u(kh), u(kw), u(stride), u(pad), u(oh), u(ow), uint64(col))
	return err
}

// GemmI8 runs the module's gemm_i8 (see kernels.c); res 0 means none.
// scratch holds at least 32*kk bytes (one strip of 8 columns).
func (k *Kernels) GemmI8(ctx context.Context, wp, scale, bias, col uint32, kk, p, co int, out, res uint32, relu bool, scratch uint32) error {
	r := 0
	if relu {
		r = 1
	}
	_, err := k.gemm.Call(ctx, uint64(wp), uint64(scale), uint64(bias), uint64(col), u(kk), u(p), u(co), uint64(out), uint64(res), u(r), uint64(scratch))
	return err
}

func u(v int) uint64 { return uint64(uint32(int32(v))) }

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
