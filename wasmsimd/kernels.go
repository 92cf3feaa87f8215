// Package wasmsimd is a third engine: Residual's wasm SIMD128 kernel
// module (kernels/kernels.c, built by tools/build_kernels.sh) driven by
// the network's Program. The module's shared linear memory holds the
// packed int8 weights and the activations; Go only lays memory out and
// sequences the calls, each of which several instances of the module
// (Web Workers in the browser, goroutines natively through wazero) split
// between them.
//
// In a page: fetch web/kernels.wasm (or web/kernels-relaxed.wasm where
// RelaxedSIMD() says the browser has relaxed SIMD: the same results,
// faster int8 activations) and call New; it runs on DefaultWorkers()
// workers where the page is cross-origin isolated (COOP/COEP), on one
// elsewhere, and Engine.Mode says which for the backend panel. The
// workers run WorkerJS from a Blob URL (the page's CSP must allow
// worker-src blob:), or from Options.WorkerURL where the page serves it.
package wasmsimd

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"unsafe"
)

// The imported memory's limits in 64 KiB pages, as tools/build_kernels.sh
// links them (--initial-memory, --max-memory).
const (
	memPages    = 16
	memMaxPages = 16384
)

// stackBytes is each worker instance's own C stack (the kernels use a few
// hundred bytes; instance 0 has the 64 KiB the linker placed first).
const stackBytes = 64 << 10

// The control block's layout and the kernels' numbers, as in kernels.c
// (CTL_* and K_*).
const (
	ctlDone  = 2
	ctlParts = 5 // the first word Go writes: PARTS, FN, then ARGS
	ctlWords = 7 + 16
	maxArgs  = 16
)

// partsPerWorker is how many parts a call is cut into per instance (when
// there are several): enough that one held up by the OS costs the others
// little, few enough that each part still has work.
const partsPerWorker = 4

// kernelNames name the kernels' numbers in errors.
var kernelNames = [...]string{"none", "im2col", "gemm_i8", "maxpool", "avgpool", "relu", "stats", "im2row_q8", "gemm_q8"}

const (
	kNone = iota
	kIm2col
	kGemmI8
	kMaxPool
	kAvgPool
	kReLU
	kStats
	kIm2rowQ8
	kGemmQ8
)

// module is the kernel module's instances over one shared memory:
// natively wazero instances (module_wazero.go), in the browser the
// page's WebAssembly and Web Workers (module_js.go).
type module interface {
	heapBase() uint32
	size() uint64 // the memory's bytes
	grow(pages uint32) bool
	read(p uint32, b []byte) // copies len(b) bytes at p into b
	write(p uint32, b []byte)
	// start runs workers-1 more instances, each in worker(ctl, i) on
	// its own stack (stack allocates one and returns its top). It returns
	// how many instances take part, and when that is 1 though more were
	// asked for, why.
	start(ctx context.Context, workers int, ctl uint32, stack func() (uint32, error)) (int, string, error)
	// dispatch runs the call written in the control block ctl.
	dispatch(ctx context.Context, ctl uint32) error
	// callInt calls an export of instance 0 that takes nothing and
	// returns an i32.
	callInt(ctx context.Context, name string) (int, error)
	close()
}

// Kernels is the kernel module's instances with an allocator over their
// shared memory. Each kernel call runs on all of them, each its share of
// the outputs.
type Kernels struct {
	m       module
	next    uint32              // the first free byte
	free    map[uint32][]uint32 // released blocks by size, for reuse
	blocks  map[uint32]uint32   // the size of each block in use, by address
	ctl     uint32              // the control block
	stats   uint32              // stats' 2 floats a part
	parts   int                 // instances
	cut     int                 // parts a call is cut into
	reason  string              // why one instance though more were asked for
	relaxed bool                // the relaxed-SIMD build
	words   [ctlWords - ctlParts]uint32
	buf     []byte
}

// Load instantiates the module (the bytes tools/build_kernels.sh built)
// workers times over one shared memory (at least once; in the browser
// once where the page is not cross-origin isolated). The browser's
// workers load WorkerJS from a Blob URL.
func Load(ctx context.Context, wasm []byte, workers int) (*Kernels, error) {
	return load(ctx, wasm, workers, "")
}

// load is Load with the URL the browser's workers load (empty: a Blob).
func load(ctx context.Context, wasm []byte, workers int, workerURL string) (*Kernels, error) {
	m, err := instantiate(ctx, wasm, workerURL)
	if err != nil {
		return nil, fmt.Errorf("wasmsimd: %w", err)
	}
	k := &Kernels{m: m, next: m.heapBase(), free: map[uint32][]uint32{}, blocks: map[uint32]uint32{}, buf: make([]byte, 4*(ctlWords-ctlParts))}
	r, err := m.callInt(ctx, "relaxed")
	if err != nil {
		m.close()
		return nil, fmt.Errorf("wasmsimd: relaxed: %w", err)
	}
	k.relaxed = r != 0
	if k.ctl, err = k.Alloc(4 * ctlWords); err != nil {
		m.close()
		return nil, err
	}
	k.m.write(k.ctl, make([]byte, 4*ctlWords))
	stack := func() (uint32, error) {
		p, err := k.Alloc(stackBytes)
		return p + stackBytes, err
	}
	if k.parts, k.reason, err = m.start(ctx, max(workers, 1), k.ctl, stack); err != nil {
		m.close()
		return nil, fmt.Errorf("wasmsimd: start workers: %w", err)
	}
	k.cut = 1
	if k.parts > 1 {
		k.cut = k.parts * partsPerWorker
	}
	if k.stats, err = k.Alloc(8 * k.cut); err != nil {
		m.close()
		return nil, err
	}
	return k, nil
}

// U8Levels is how many levels above 0 Im2rowQ8 quantizes a tensor with
// no negative value to (kernels.c's U8_LEVELS).
const U8Levels = 255

// Relaxed says whether the module is the relaxed-SIMD build.
func (k *Kernels) Relaxed() bool { return k.relaxed }

// Workers is how many instances share each call.
func (k *Kernels) Workers() int { return k.parts }

// Close stops the workers and releases the instances.
func (k *Kernels) Close() { k.m.close() }

// call runs kernel fn on every instance; args are int (i32) or float32.
func (k *Kernels) call(ctx context.Context, fn int, args ...any) error {
	if len(args) > maxArgs {
		return fmt.Errorf("wasmsimd: %s: %d arguments", kernelNames[fn], len(args))
	}
	w := k.words[:2+len(args)]
	w[0], w[1] = uint32(k.cut), uint32(fn)
	for i, a := range args {
		switch v := a.(type) {
		case int:
			w[2+i] = uint32(int32(v))
		case uint32:
			w[2+i] = v
		case bool:
			w[2+i] = 0
			if v {
				w[2+i] = 1
			}
		case float32:
			w[2+i] = math.Float32bits(v)
		default:
			return fmt.Errorf("wasmsimd: %s: argument %d is a %T", kernelNames[fn], i, a)
		}
	}
	b := k.buf[:4*len(w)]
	for i, v := range w {
		binary.LittleEndian.PutUint32(b[4*i:], v)
	}
	k.m.write(k.ctl+4*ctlParts, b)
	if err := k.m.dispatch(ctx, k.ctl); err != nil {
		return fmt.Errorf("wasmsimd: %s: %w", kernelNames[fn], err)
	}
	return nil
}

// Alloc reserves n bytes, 16-aligned, growing the memory as needed. A
// block released by Free is reused first: one of the same size, else the
// smallest of up to twice the size (a ResNet's activations come in few
// sizes, and one of a size seen only once, such as the warm-up's, would
// otherwise never be used again); a released block at the end of memory
// grows in place.
func (k *Kernels) Alloc(n int) (uint32, error) {
	size := uint32(n)
	if l := k.free[size]; len(l) == 0 {
		for s, l := range k.free {
			if len(l) > 0 && s > uint32(n) && uint64(s) <= 2*uint64(n) && (size == uint32(n) || s < size) {
				size = s
			}
		}
	}
	if l := k.free[size]; len(l) > 0 {
		p := l[len(l)-1]
		k.free[size] = l[:len(l)-1]
		k.blocks[p] = size
		return p, nil
	}
	p := (k.next + 15) &^ 15
	// A released block at the end of memory grows in place rather than
	// staying behind the new one (a run's block, regrown for a larger
	// input).
	last, lastSize := -1, uint32(0)
	for s, l := range k.free {
		if i := slices.Index(l, k.next-s); i >= 0 && s > 0 && s <= k.next {
			last, lastSize, p = i, s, k.next-s
			break
		}
	}
	end := uint64(p) + uint64(n)
	if end > memMaxPages<<16 {
		return 0, fmt.Errorf("wasmsimd: %d bytes past the module's %d MiB of memory", n, memMaxPages>>4)
	}
	if size := k.m.size(); end > size {
		if !k.m.grow(uint32((end - size + 65535) / 65536)) {
			return 0, fmt.Errorf("wasmsimd: cannot grow memory to %d bytes", end)
		}
	}
	if last >= 0 {
		k.free[lastSize] = slices.Delete(k.free[lastSize], last, last+1)
	}
	k.next = uint32(end)
	k.blocks[p] = uint32(n)
	return p, nil
}

// Free releases a block from Alloc (n is the size asked for; the block
// may be larger) for reuse.
func (k *Kernels) Free(p uint32, n int) {
	size, ok := k.blocks[p]
	if !ok {
		size = uint32(n)
	}
	delete(k.blocks, p)
	k.free[size] = append(k.free[size], p)
}

// MaxPool runs the module's maxpool (see kernels.c).
func (k *Kernels) MaxPool(ctx context.Context, in uint32, c, h, w, kernel, stride, pad, oh, ow int, out uint32) error {
	return k.call(ctx, kMaxPool, in, c, h, w, kernel, stride, pad, oh, ow, out)
}

// AvgPool averages n planes of hw values.
func (k *Kernels) AvgPool(ctx context.Context, in uint32, n, hw int, out uint32) error {
	return k.call(ctx, kAvgPool, in, n, hw, out)
}

// ReLU writes max(x, 0) of n values.
func (k *Kernels) ReLU(ctx context.Context, in uint32, n int, out uint32) error {
	return k.call(ctx, kReLU, in, n, out)
}

// Stats is the largest |x| of n floats at at, and whether any is
// negative.
func (k *Kernels) Stats(ctx context.Context, at uint32, n int) (absmax float32, neg bool, err error) {
	if err := k.call(ctx, kStats, at, n, k.stats); err != nil {
		return 0, false, err
	}
	for i, v := range k.ReadF32(k.stats, 2*k.cut) {
		if i%2 == 0 {
			absmax = max(absmax, v)
		} else if v < 0 {
			neg = true
		}
	}
	return absmax, neg, nil
}

// Im2col runs the module's im2col (see kernels.c) for the rows output
// rows from oh0 on: col gets a K × rows·ow matrix.
func (k *Kernels) Im2col(ctx context.Context, in uint32, c, h, w, kh, kw, stride, pad, oh0, rows, ow int, col uint32) error {
	return k.call(ctx, kIm2col, in, c, h, w, kh, kw, stride, pad, rows, ow, col, oh0)
}

// GemmI8 runs the module's gemm_i8 (see kernels.c) on n columns; res 0
// means none. Rows of out and res are ldo floats apart (n, or the whole
// output's width for a strip of its columns). scratch holds at least
// ScratchBytes(kk) bytes (a strip of 8 columns per worker).
func (k *Kernels) GemmI8(ctx context.Context, wp, scale, bias, col uint32, kk, n, co int, out, res uint32, ldo int, relu bool, scratch uint32) error {
	return k.call(ctx, kGemmI8, wp, scale, bias, col, kk, n, co, out, res, relu, scratch, ldo)
}

// ScratchBytes is the scratch GemmI8 needs for kk inputs an output.
func (k *Kernels) ScratchBytes(kk int) int { return 32 * kk * k.parts }

// Im2rowQ8 runs the module's im2row_q8 (see kernels.c).
func (k *Kernels) Im2rowQ8(ctx context.Context, in uint32, c, h, w, kh, kw, stride, pad, oh, ow int, inv float32, kp int, u8 bool, rows uint32) error {
	return k.call(ctx, kIm2rowQ8, in, c, h, w, kh, kw, stride, pad, oh, ow, inv, kp, u8, rows)
}

// GemmQ8 runs the module's gemm_q8 (see kernels.c); res 0 means none.
func (k *Kernels) GemmQ8(ctx context.Context, w, scale uint32, sx float32, bias, rows uint32, kp, n, co int, out, res uint32, relu, u8 bool) error {
	return k.call(ctx, kGemmQ8, w, scale, sx, bias, rows, kp, n, co, out, res, relu, u8)
}

// PackI8 lays int8 weights [co][k] out in the panels gemm_i8 reads:
// [co/4][k][4], rows past co zero.
func PackI8(w []int8, co, k int) []int8 { return PackI8Into(nil, w, co, k) }

// PackI8Into is PackI8 into dst's storage, grown when too small (an
// engine packing layer after layer reuses one buffer).
func PackI8Into(dst, w []int8, co, k int) []int8 {
	panels := (co + 3) / 4
	out := grow(dst, panels*k*4)
	for o := range co {
		for j := range k {
			out[((o/4)*k+j)*4+o%4] = w[o*k+j]
		}
	}
	return out
}

// PackQ8 lays int8 weights [co][k] out as gemm_q8 reads them: rows of kp
// (k rounded up to 16) bytes, co rounded up to 4 rows, padding zero.
func PackQ8(w []int8, co, k int) (rows []int8, kp int) { return PackQ8Into(nil, w, co, k) }

// PackQ8Into is PackQ8 into dst's storage, grown when too small.
func PackQ8Into(dst, w []int8, co, k int) (rows []int8, kp int) {
	kp = (k + 15) / 16 * 16
	rows = grow(dst, (co+3)/4*4*kp)
	for o := range co {
		copy(rows[o*kp:o*kp+k], w[o*k:(o+1)*k])
	}
	return rows, kp
}

// grow is n zero int8s in dst's storage, or new ones when it is too
// small.
func grow(dst []int8, n int) []int8 {
	if cap(dst) < n {
		return make([]int8, n)
	}
	dst = dst[:n]
	clear(dst)
	return dst
}

// WriteF32 stores v at at.
func (k *Kernels) WriteF32(at uint32, v []float32) {
	if hostLE {
		k.m.write(at, bytesOf(v))
		return
	}
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	k.m.write(at, b)
}

// ReadF32 loads n floats from at.
func (k *Kernels) ReadF32(at uint32, n int) []float32 {
	return k.ReadF32Into(nil, at, n)
}

// ReadF32Into loads n floats from at into buf, grown when it is shorter,
// and returns them: a caller reading tensor after tensor reuses one
// buffer (a browser's Go heap never gives memory back).
func (k *Kernels) ReadF32Into(buf []float32, at uint32, n int) []float32 {
	if cap(buf) < n {
		buf = make([]float32, n)
	}
	out := buf[:n]
	if hostLE {
		// The module's memory is little-endian, like the host's: copy
		// straight into the floats.
		k.m.read(at, bytesOf(out))
		return out
	}
	b := make([]byte, 4*n)
	k.m.read(at, b)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// ReadI8Into loads n int8s from at into buf, grown when it is shorter.
func (k *Kernels) ReadI8Into(buf []int8, at uint32, n int) []int8 {
	if cap(buf) < n {
		buf = make([]int8, n)
	}
	out := buf[:n]
	k.m.read(at, bytesOf(out))
	return out
}

// WriteI8 stores v at at.
func (k *Kernels) WriteI8(at uint32, v []int8) {
	k.m.write(at, bytesOf(v))
}

// bytesOf views values as their bytes in memory (no copy): the module's
// little-endian layout where hostLE.
func bytesOf[T int8 | float32](v []T) []byte {
	var z T
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), len(v)*int(unsafe.Sizeof(z)))
}

// hostLE says this machine stores numbers little-endian, as wasm does.
var hostLE = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// maxWorkers bounds DefaultWorkers: past it the calls are too small to
// split further.
const maxWorkers = 4
