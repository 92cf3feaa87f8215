package cpu

import (
	"runtime"
	"sync"
)

// Cache blocking of the GEMM. One task computes a blockM×blockN tile of the
// output, blockK terms of the reduction at a time: the packed A block
// (blockM×blockK, 64 KiB) and B block (blockK×blockN, 256 KiB) stay in L2,
// one A micro-panel (mr×blockK, 4 KiB) stays in L1 while the B panels
// stream past it. Tiles are small enough that even ResNet's last layer at
// batch 1 (49 pixels, 512 channels) gives several tasks per core.
const (
	blockM = 64
	blockN = 256
	blockK = 256
)

// matA is the A operand of a GEMM: a weight matrix of M rows of ld values,
// in float32 or in int8 with one scale per row (per output channel).
type matA struct {
	f32   []float32
	i8    []int8
	scale []float32
	ld    int
}

// rows returns the sub-matrix of rows [r0, r0+n): one group's filters.
func (a matA) rows(r0, n int) matA {
	if a.i8 != nil {
		return matA{i8: a.i8[r0*a.ld : (r0+n)*a.ld], scale: a.scale[r0 : r0+n], ld: a.ld}
	}
	return matA{f32: a.f32[r0*a.ld : (r0+n)*a.ld], ld: a.ld}
}

// pack writes rows [m0, m0+mc) × columns [k0, k0+kc) into dst as
// ceil(mc/mr) panels of kc×mr values (the mr rows interleaved), zeroing
// the rows past mc. Int8 weights are dequantized here, as float32(q)*scale:
// the same product weights.Tensor.Float computes, so both storages give
// bit-identical results. Only one block is ever expanded to float32.
func (a matA) pack(dst []float32, m0, mc, k0, kc int) {
	for p := 0; p*mr < mc; p++ {
		panel := dst[p*kc*mr : (p+1)*kc*mr]
		for r := 0; r < mr; r++ {
			row := p*mr + r
			if row >= mc {
				for kk := 0; kk < kc; kk++ {
					panel[kk*mr+r] = 0
				}
				continue
			}
			off := (m0+row)*a.ld + k0
			if a.i8 != nil {
				s := a.scale[m0+row]
				for kk, q := range a.i8[off : off+kc] {
					panel[kk*mr+r] = float32(q) * s
				}
			} else {
				for kk, v := range a.f32[off : off+kc] {
					panel[kk*mr+r] = v
				}
			}
		}
	}
}

// matB is the B operand of a GEMM, K rows by N columns, produced on the fly
// (im2col of an activation, or a transposed batch of vectors).
type matB interface {
	// pack writes rows [k0, k0+kc) × columns [n0, n0+nc) into dst as
	// ceil(nc/nr) panels of kc×nr values (the nr columns interleaved),
	// zeroing the columns past nc.
	pack(dst []float32, n0, nc, k0, kc int)
}

// gemm is one C = A·B (+ bias per row, + residual, then ReLU) with C an
// m×n row-major matrix of row stride ldc.
type gemm struct {
	m, n, k int
	a       matA
	b       matB
	c       []float32
	ldc     int
	bias    []float32 // [m], or nil
	res     []float32 // laid out like c, or nil
	relu    bool
}

// scratch is one worker's packing buffers.
type scratch struct {
	a, b []float32
	tmp  [mr * nr]float32
}

var scratchPool = sync.Pool{New: func() any {
	return &scratch{a: make([]float32, blockM*blockK), b: make([]float32, blockK*(blockN+nr))}
}}

// runGemms computes every gemm of gs, spreading their tiles over the cores.
func runGemms(gs []gemm) {
	type span struct{ first, mt, nt int }
	spans := make([]span, len(gs))
	total := 0
	for i, g := range gs {
		mt, nt := (g.m+blockM-1)/blockM, (g.n+blockN-1)/blockN
		spans[i] = span{total, mt, nt}
		total += mt * nt
	}
	// Each worker takes its own scratch, lazily (a tiny GEMM may use one).
	scr := make([]*scratch, min(runtime.GOMAXPROCS(0), total))
	get := func(w int) *scratch {
		if scr[w] == nil {
			scr[w] = scratchPool.Get().(*scratch)
		}
		return scr[w]
	}
	parallelFor(len(scr), total, func(w, t int) {
		// Find the gemm owning tile t: the last span starting at or before it.
		lo, hi := 0, len(spans)-1
		for lo < hi {
			mid := (lo + hi + 1) / 2
			if spans[mid].first <= t {
				lo = mid
			} else {
				hi = mid - 1
			}
		}
		g, sp := &gs[lo], spans[lo]
		t -= sp.first
		m0, n0 := (t/sp.nt)*blockM, (t%sp.nt)*blockN
		g.tile(get(w), m0, min(blockM, g.m-m0), n0, min(blockN, g.n-n0))
	})
	for _, s := range scr {
		if s != nil {
			scratchPool.Put(s)
		}
	}
}

// tile computes C[m0:m0+mc, n0:n0+nc] completely, epilogue included.
func (g *gemm) tile(s *scratch, m0, mc, n0, nc int) {
	for i := m0; i < m0+mc; i++ {
		clear(g.c[i*g.ldc+n0 : i*g.ldc+n0+nc])
	}
	mp, np := (mc+mr-1)/mr, (nc+nr-1)/nr
	for k0 := 0; k0 < g.k; k0 += blockK {
		kc := min(blockK, g.k-k0)
		ap, bp := s.a[:mp*mr*kc], s.b[:np*nr*kc]
		g.a.pack(ap, m0, mc, k0, kc)
		g.b.pack(bp, n0, nc, k0, kc)
		for ip := 0; ip < mp; ip++ {
			pa := ap[ip*mr*kc : (ip+1)*mr*kc]
			i := m0 + ip*mr
			rows := min(mr, mc-ip*mr)
			for jp := 0; jp < np; jp++ {
				pb := bp[jp*nr*kc : (jp+1)*nr*kc]
				j := n0 + jp*nr
				cols := min(nr, nc-jp*nr)
				if rows == mr && cols == nr {
					kernel(pa, pb, g.c[i*g.ldc+j:], g.ldc)
					continue
				}
				// Edge block: compute it whole into scratch, keep what fits.
				clear(s.tmp[:])
				kernel(pa, pb, s.tmp[:], nr)
				for r := 0; r < rows; r++ {
					for q := 0; q < cols; q++ {
						g.c[(i+r)*g.ldc+j+q] += s.tmp[r*nr+q]
					}
				}
			}
		}
	}
	g.epilogue(m0, mc, n0, nc)
}

// epilogue adds the bias and the residual to a finished tile and applies
// the ReLU, in that order (the residual is added before the ReLU).
func (g *gemm) epilogue(m0, mc, n0, nc int) {
	for i := m0; i < m0+mc; i++ {
		off := i*g.ldc + n0
		row := g.c[off : off+nc]
		var bv float32
		if g.bias != nil {
			bv = g.bias[i]
		}
		if g.res != nil {
			for j, r := range g.res[off : off+nc] {
				row[j] = row[j] + bv + r // (A·B + bias) + residual, as PyTorch adds them
			}
		} else if bv != 0 {
			for j := range row {
				row[j] += bv
			}
		}
		if g.relu {
			for j, v := range row {
				if v < 0 {
					row[j] = 0
				}
			}
		}
	}
}
