// Residual's wasm SIMD128 kernels: what a ResNet forward pass needs, over
// memory the Go side lays out (weights packed once, activations kept
// here). Built freestanding (no libc) by tools/build_kernels.sh, over an
// imported shared memory: several instances of this module (the page's
// thread and Web Workers, or goroutines natively) run one kernel call
// together, each its part of the outputs (see dispatch and worker at the
// end). Every pointer is an offset into that memory.
//
// Every kernel takes (part, nparts) last and writes only that part's
// share of the outputs, so parts never write the same bytes; a call is
// cut into more parts than there are instances, which take the parts one
// at a time (so that a thread the OS holds up costs the others only the
// part it is in).
#include <stdint.h>
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name)))

// Built with -DRELAXED (tools/build_kernels.sh OUT relaxed), gemm_q8
// multiplies unsigned activations with relaxed SIMD's
// i32x4.relaxed_dot_i8x16_i7x16_add_s (16 multiplies an instruction),
// which wants them in 0..127 (the i7 operand): each x is taken as
// 2h + l, h = x>>1 and l = x&1, two dot products exact to the bit. Debian's clang 14 has no builtin for it:
// the calls to this import are turned into the instruction after
// linking.
#ifdef RELAXED
__attribute__((import_module("relaxed"), import_name("dot")))
v128_t relaxed_dot(v128_t a, v128_t b, v128_t acc);
#define RELAXED_BUILD 1
#else
#define RELAXED_BUILD 0
#endif

// A non-negative tensor is quantized to 0..U8_LEVELS.
#define U8_LEVELS 255

// relaxed says whether this is the relaxed-SIMD build.
EXPORT(relaxed)
int relaxed(void) { return RELAXED_BUILD; }

// SHARE sets [lo, hi) to part's share of n units (balanced to one unit).
#define SHARE(n, part, nparts, lo, hi)                                  \
  do {                                                                  \
    lo = (int)((int64_t)(n) * (part) / (nparts));                      \
    hi = (int)((int64_t)(n) * ((part) + 1) / (nparts));                \
  } while (0)

// im2col lays the KHxKW patches of a CxHxW tensor out as the K x P
// matrix a conv's GEMM reads: col[k*P + p] with k = (c*KH + kh)*KW + kw
// and p = oh*OW + ow; taps outside the picture (padding) are 0. Only the
// OH output rows from OH0 on: a large conv is laid out (and multiplied)
// a strip of rows at a time, so the matrix stays small. Parts share the
// K rows.
static void im2col(const float *in, int C, int H, int W, int KH, int KW,
                   int stride, int pad, int OH, int OW, float *col, int OH0,
                   int part, int nparts) {
  int P = OH * OW, lo, hi;
  SHARE(C * KH * KW, part, nparts, lo, hi);
  for (int k = lo; k < hi; k++) {
        int c = k / (KH * KW), kh = k / KW % KH, kw = k % KW;
        float *dst = col + k * P;
        for (int oh = 0; oh < OH; oh++) {
          int ih = (OH0 + oh) * stride - pad + kh;
          float *row = dst + oh * OW;
          if (ih < 0 || ih >= H) {
            for (int ow = 0; ow < OW; ow++) row[ow] = 0;
            continue;
          }
          const float *src = in + (c * H + ih) * W;
          for (int ow = 0; ow < OW; ow++) {
            int iw = ow * stride - pad + kw;
            row[ow] = (iw >= 0 && iw < W) ? src[iw] : 0;
          }
        }
  }
}

// The epilogue of one output row segment: scale, bias, optional
// residual, optional ReLU.
static inline v128_t epi(v128_t acc, v128_t s, v128_t b, const float *res,
                         int relu) {
  v128_t v = wasm_f32x4_add(wasm_f32x4_mul(acc, s), b);
  if (res) v = wasm_f32x4_add(v, wasm_v128_load(res));
  if (relu) v = wasm_f32x4_max(v, wasm_f32x4_splat(0));
  return v;
}

// epi1 is epi for one value v (already scaled and biased); res, when not
// 0, points at its residual.
static inline float epi1(float v, const float *res, int relu) {
  if (res) v += *res;
  return relu && v < 0 ? 0 : v;
}

// gemm_i8 computes out[co*P + p] = epilogue(scale[co] * sum_k
// w[co][k] * col[k*P + p] + bias[co]) for a conv (or fc, with P the
// batch) whose int8 weights are packed in panels of 4 output channels:
// wp[((co/4)*K + k)*4 + co%4] (rows past CO are zero). res, when not 0,
// is added (a residual, laid out like out) before the ReLU. Rows of out
// (and res) are LDO floats apart: P, or the whole output's width when
// this call computes a strip of its columns.
//
// The loop runs over strips of 8 columns: each strip of col is copied
// once into scratch (K*8 floats, contiguous), then every panel of 4
// output channels multiplies it in a 4x8 register tile (8 f32x4
// accumulators; each int8 weight widened once and shared by 8 columns).
// So col streams from memory once, not once per panel.
//
// Parts share the strips, or where there are many more outputs than
// columns (the last stages) or too few strips, the panels: each part
// reads all of the other operand, and weights are the smaller one to
// read again there. The last P%8 columns share the panels. Each
// instance has its own K*8 floats of scratch, at scratch + self*K*8.
static void gemm_i8(const int8_t *wp, const float *scale, const float *bias,
                    const float *col, int K, int P, int CO, float *out,
                    const float *res, int relu, float *scratch, int LDO,
                    int part, int nparts, int self) {
  int lo = 0, hi = P / 8, clo = 0, chi = (CO + 3) / 4;
  if (CO > 4 * P || P / 8 < nparts)
    SHARE((CO + 3) / 4, part, nparts, clo, chi);
  else
    SHARE(P / 8, part, nparts, lo, hi);
  scratch += self * K * 8;
  for (int p = 8 * lo; p < 8 * hi; p += 8) {
    const float *src = col + p;
    for (int k = 0; k < K; k++, src += P) {
      wasm_v128_store(scratch + 8 * k, wasm_v128_load(src));
      wasm_v128_store(scratch + 8 * k + 4, wasm_v128_load(src + 4));
    }
    for (int c0 = 4 * clo; c0 < 4 * chi; c0 += 4) {
      const int8_t *q = wp + (c0 / 4) * K * 4;
      int rows = CO - c0 < 4 ? CO - c0 : 4;
      v128_t a00 = wasm_f32x4_splat(0), a01 = a00, a10 = a00, a11 = a00,
             a20 = a00, a21 = a00, a30 = a00, a31 = a00;
      const float *cp = scratch;
      for (int k = 0; k < K; k++, cp += 8, q += 4) {
        v128_t x0 = wasm_v128_load(cp), x1 = wasm_v128_load(cp + 4);
        v128_t w0 = wasm_f32x4_splat((float)q[0]), w1 = wasm_f32x4_splat((float)q[1]),
               w2 = wasm_f32x4_splat((float)q[2]), w3 = wasm_f32x4_splat((float)q[3]);
        a00 = wasm_f32x4_add(a00, wasm_f32x4_mul(w0, x0));
        a01 = wasm_f32x4_add(a01, wasm_f32x4_mul(w0, x1));
        a10 = wasm_f32x4_add(a10, wasm_f32x4_mul(w1, x0));
        a11 = wasm_f32x4_add(a11, wasm_f32x4_mul(w1, x1));
        a20 = wasm_f32x4_add(a20, wasm_f32x4_mul(w2, x0));
        a21 = wasm_f32x4_add(a21, wasm_f32x4_mul(w2, x1));
        a30 = wasm_f32x4_add(a30, wasm_f32x4_mul(w3, x0));
        a31 = wasm_f32x4_add(a31, wasm_f32x4_mul(w3, x1));
      }
      v128_t acc[4][2] = {{a00, a01}, {a10, a11}, {a20, a21}, {a30, a31}};
      for (int r = 0; r < rows; r++) {
        int co = c0 + r;
        v128_t s = wasm_f32x4_splat(scale[co]), b = wasm_f32x4_splat(bias[co]);
        float *o = out + co * LDO + p;
        const float *rp = res ? res + co * LDO + p : 0;
        wasm_v128_store(o, epi(acc[r][0], s, b, rp, relu));
        wasm_v128_store(o + 4, epi(acc[r][1], s, b, rp ? rp + 4 : 0, relu));
      }
    }
  }
  SHARE((CO + 3) / 4, part, nparts, lo, hi);
  for (int p = P / 8 * 8; p < P; p++) { // the last columns, one at a time
    for (int c0 = 4 * lo; c0 < 4 * hi; c0 += 4) {
      const int8_t *q = wp + (c0 / 4) * K * 4;
      int rows = CO - c0 < 4 ? CO - c0 : 4;
      float a[4] = {0, 0, 0, 0};
      for (int k = 0; k < K; k++, q += 4) {
        float x = col[k * P + p];
        a[0] += q[0] * x, a[1] += q[1] * x, a[2] += q[2] * x, a[3] += q[3] * x;
      }
      for (int r = 0; r < rows; r++) {
        int co = c0 + r;
        out[co * LDO + p] = epi1(a[r] * scale[co] + bias[co], res ? res + co * LDO + p : 0, relu);
      }
    }
  }
}

// maxpool takes the KxK maximum with stride S and padding P (padding
// never wins: torch pads max pooling with -inf) of each of C planes.
// Parts share the planes.
static void maxpool(const float *in, int C, int H, int W, int K, int S, int P,
                    int OH, int OW, float *out, int part, int nparts) {
  int lo, hi;
  SHARE(C, part, nparts, lo, hi);
  for (int c = lo; c < hi; c++) {
    const float *plane = in + c * H * W;
    for (int oh = 0; oh < OH; oh++)
      for (int ow = 0; ow < OW; ow++) {
        float m = -__builtin_inff();
        for (int i = 0; i < K; i++) {
          int ih = oh * S - P + i;
          if (ih < 0 || ih >= H) continue;
          for (int j = 0; j < K; j++) {
            int iw = ow * S - P + j;
            if (iw < 0 || iw >= W) continue;
            float v = plane[ih * W + iw];
            m = v > m ? v : m;
          }
        }
        out[(c * OH + oh) * OW + ow] = m;
      }
  }
}

// avgpool averages each of n planes of hw values (the global average
// pool: one value a channel), summing in order as the reference does.
// Parts share the planes.
static void avgpool(const float *in, int n, int hw, float *out, int part,
                    int nparts) {
  int lo, hi;
  SHARE(n, part, nparts, lo, hi);
  for (int c = lo; c < hi; c++) {
    float s = 0;
    for (int i = 0; i < hw; i++) s += in[c * hw + i];
    out[c] = s / (float)hw;
  }
}

// relu writes max(x, 0) of n values; parts share groups of 4, the last
// part the tail.
static void relu(const float *in, int n, float *out, int part, int nparts) {
  int lo, hi;
  SHARE(n / 4, part, nparts, lo, hi);
  for (int i = 4 * lo; i < 4 * hi; i += 4)
    wasm_v128_store(out + i, wasm_f32x4_max(wasm_v128_load(in + i), wasm_f32x4_splat(0)));
  if (part == nparts - 1)
    for (int i = n / 4 * 4; i < n; i++) out[i] = in[i] > 0 ? in[i] : 0;
}

// stats writes the largest |x| and the smallest x of part's share of n
// values to out[2*part] and out[2*part+1] (an activation's int8 scale is
// absmax/127; one with no negative value is quantized to 0..255). An
// empty share gives 0, 0.
static void stats(const float *x, int n, float *out, int part, int nparts) {
  int lo, hi;
  SHARE(n / 4, part, nparts, lo, hi);
  v128_t m = wasm_f32x4_splat(0), mn = m;
  for (int i = 4 * lo; i < 4 * hi; i += 4) {
    v128_t v = wasm_v128_load(x + i);
    m = wasm_f32x4_max(m, wasm_f32x4_abs(v));
    mn = wasm_f32x4_min(mn, v);
  }
  float r = 0, s = 0;
  for (int j = 0; j < 4; j++) {
    float v = wasm_f32x4_extract_lane(m, 0), w = wasm_f32x4_extract_lane(mn, 0);
    r = v > r ? v : r;
    s = w < s ? w : s;
    m = wasm_i32x4_shuffle(m, m, 1, 2, 3, 0);
    mn = wasm_i32x4_shuffle(mn, mn, 1, 2, 3, 0);
  }
  if (part == nparts - 1)
    for (int i = n / 4 * 4; i < n; i++) {
      float v = x[i] < 0 ? -x[i] : x[i];
      r = v > r ? v : r;
      s = x[i] < s ? x[i] : s;
    }
  out[2 * part] = r;
  out[2 * part + 1] = s;
}

static inline int q8(float x, float inv, int lo, int hi) {
  float v = x * inv;
  v = v < lo ? lo : (v > hi ? hi : v);
  return (int)(v < 0 ? v - 0.5f : v + 0.5f); // round half away from zero
}

// im2row_q8 quantizes a CxHxW tensor (q = round(x*inv), clamped to ±127,
// or with u8 to 0..U8_LEVELS stored as bytes) and lays its KHxKW patches out
// as rows: rows[p*Kp + k], k = (c*KH + kh)*KW + kw, p = oh*OW + ow,
// padding taps and k >= C*KH*KW zero. Each output position's K inputs
// are then contiguous, as gemm_q8's dot products read them. Parts share
// the rows.
static void im2row_q8(const float *in, int C, int H, int W, int KH, int KW,
                      int stride, int pad, int OH, int OW, float inv, int Kp,
                      int u8, uint8_t *rows, int part, int nparts) {
  int lo = u8 ? 0 : -127, hi = u8 ? U8_LEVELS : 127;
  int K = C * KH * KW, p0, p1;
  SHARE(OH * OW, part, nparts, p0, p1);
  for (int p = p0; p < p1; p++) {
      int oh = p / OW, ow = p % OW;
      uint8_t *r = rows + p * Kp;
      int k = 0;
      for (int c = 0; c < C; c++)
        for (int kh = 0; kh < KH; kh++) {
          int ih = oh * stride - pad + kh;
          for (int kw = 0; kw < KW; kw++, k++) {
            int iw = ow * stride - pad + kw;
            r[k] = (ih < 0 || ih >= H || iw < 0 || iw >= W)
                       ? 0
                       : (uint8_t)q8(in[(c * H + ih) * W + iw], inv, lo, hi);
          }
        }
      for (; k < Kp; k++) r[k] = 0;
    }
}

static inline int32_t hsum(v128_t v) {
  v = wasm_i32x4_add(v, wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
  v = wasm_i32x4_add(v, wasm_i32x4_shuffle(v, v, 1, 0, 3, 2));
  return wasm_i32x4_extract_lane(v, 0);
}

// gemm_q8 is gemm_i8 with int8 activations: out[co*P + p] =
// epilogue(sx * scale[co] * sum_k w[co*Kp + k] * rows[p*Kp + k] +
// bias[co]), exact int32 sums of i16x8 dot products (8 multiplies a
// step), in a 4x2 tile (8 i32x4 accumulators). rows are int8, or with
// u8 unsigned bytes (0..U8_LEVELS: an i16 holds them, and 255*127
// products still sum exactly in int32). Weight rows past CO must be zero, up to a
// multiple of 4; Kp is a multiple of 16.
//
// Parts share the pairs of columns, or the panels of 4 outputs where
// there are more outputs than columns (the weights are then the larger
// operand, better read once) or fewer pairs than parts (the fc: one
// column).
static void gemm_q8(const int8_t *w, const float *scale, float sx,
                    const float *bias, const uint8_t *rows, int Kp, int P,
                    int CO, float *out, const float *res, int relu, int u8,
                    int part, int nparts) {
  int pairs = (P + 1) / 2, plo = 0, phi = pairs, clo = 0, chi = (CO + 3) / 4;
  if (CO > P || pairs < nparts)
    SHARE((CO + 3) / 4, part, nparts, clo, chi);
  else
    SHARE(pairs, part, nparts, plo, phi);
  for (int c0 = 4 * clo; c0 < 4 * chi; c0 += 4) {
    const int8_t *w0 = w + c0 * Kp, *w1 = w0 + Kp, *w2 = w1 + Kp, *w3 = w2 + Kp;
    int nr = CO - c0 < 4 ? CO - c0 : 4;
    for (int p = 2 * plo; p < 2 * phi; p += 2) {
      int np = P - p < 2 ? 1 : 2;
      const uint8_t *x0 = rows + p * Kp, *x1 = np == 2 ? x0 + Kp : x0;
      int32_t s[4][2];
#ifdef RELAXED
      if (u8) { // x = 2h + l, both parts in 0..127: the i7 operand
        for (int j = 0; j < np; j++) { // a 4x1 tile: 8 accumulators
          const uint8_t *x = j ? x1 : x0;
          v128_t h0 = wasm_i32x4_splat(0), h1 = h0, h2 = h0, h3 = h0, l0 = h0,
                 l1 = h0, l2 = h0, l3 = h0;
          for (int k = 0; k < Kp; k += 16) {
            v128_t u = wasm_v128_load(x + k);
            v128_t h = wasm_u8x16_shr(u, 1), l = wasm_i8x16_sub(u, wasm_i8x16_add(h, h));
            v128_t v0 = wasm_v128_load(w0 + k), v1 = wasm_v128_load(w1 + k),
                   v2 = wasm_v128_load(w2 + k), v3 = wasm_v128_load(w3 + k);
            h0 = relaxed_dot(v0, h, h0), l0 = relaxed_dot(v0, l, l0);
            h1 = relaxed_dot(v1, h, h1), l1 = relaxed_dot(v1, l, l1);
            h2 = relaxed_dot(v2, h, h2), l2 = relaxed_dot(v2, l, l2);
            h3 = relaxed_dot(v3, h, h3), l3 = relaxed_dot(v3, l, l3);
          }
          s[0][j] = 2 * hsum(h0) + hsum(l0), s[1][j] = 2 * hsum(h1) + hsum(l1);
          s[2][j] = 2 * hsum(h2) + hsum(l2), s[3][j] = 2 * hsum(h3) + hsum(l3);
        }
      } else
#endif
      {
        v128_t a00 = wasm_i32x4_splat(0), a01 = a00, a10 = a00, a11 = a00,
               a20 = a00, a21 = a00, a30 = a00, a31 = a00;
        for (int k = 0; k < Kp; k += 8) {
          v128_t u0 = u8 ? wasm_u16x8_load8x8(x0 + k) : wasm_i16x8_load8x8(x0 + k);
          v128_t u1 = u8 ? wasm_u16x8_load8x8(x1 + k) : wasm_i16x8_load8x8(x1 + k);
          v128_t v0 = wasm_i16x8_load8x8(w0 + k), v1 = wasm_i16x8_load8x8(w1 + k),
                 v2 = wasm_i16x8_load8x8(w2 + k), v3 = wasm_i16x8_load8x8(w3 + k);
          a00 = wasm_i32x4_add(a00, wasm_i32x4_dot_i16x8(v0, u0));
          a01 = wasm_i32x4_add(a01, wasm_i32x4_dot_i16x8(v0, u1));
          a10 = wasm_i32x4_add(a10, wasm_i32x4_dot_i16x8(v1, u0));
          a11 = wasm_i32x4_add(a11, wasm_i32x4_dot_i16x8(v1, u1));
          a20 = wasm_i32x4_add(a20, wasm_i32x4_dot_i16x8(v2, u0));
          a21 = wasm_i32x4_add(a21, wasm_i32x4_dot_i16x8(v2, u1));
          a30 = wasm_i32x4_add(a30, wasm_i32x4_dot_i16x8(v3, u0));
          a31 = wasm_i32x4_add(a31, wasm_i32x4_dot_i16x8(v3, u1));
        }
        s[0][0] = hsum(a00), s[0][1] = hsum(a01), s[1][0] = hsum(a10), s[1][1] = hsum(a11);
        s[2][0] = hsum(a20), s[2][1] = hsum(a21), s[3][0] = hsum(a30), s[3][1] = hsum(a31);
      }
      for (int r = 0; r < nr; r++) {
        int co = c0 + r;
        for (int j = 0; j < np; j++) {
          out[co * P + p + j] = epi1((float)s[r][j] * (sx * scale[co]) + bias[co],
                                     res ? res + co * P + p + j : 0, relu);
        }
      }
    }
  }
}

// ---- Running a kernel on every instance ----
//
// A control block of int32 words, in shared memory, carries one call at
// a time: the caller (instance 0: the page's thread, or a goroutine
// natively) writes the kernel's number, its arguments and how many parts
// to cut it into; dispatch then opens the parts (CTL_LEFT), wakes the
// other instances, which sit in worker, and every instance takes parts
// one at a time until none is left. dispatch returns when all parts are
// done (CTL_DONE): an instance that wakes late finds nothing left and is
// not waited for.
//
// The words the caller writes plainly (PARTS on) follow those only
// atomics touch. A part's arguments are read after it is taken from
// CTL_LEFT, which the caller set after writing them, and the caller
// writes the next call's only after all parts are done: an instance
// never reads arguments being written.
enum {
  CTL_SEQ,     // the call's number: bumped once per call, to wake workers
  CTL_LEFT,    // parts not yet taken; a part is taken by decrementing it
  CTL_DONE,    // parts done
  CTL_SLEEP,   // workers asleep in memory.atomic.wait (notify only then)
  CTL_QUIT,    // 1: workers return
  CTL_PARTS,   // how many parts the call is cut into
  CTL_FN,      // which kernel: one of the K_ values
  CTL_ARGS,    // its arguments, i32 or f32 bits
  CTL_WORDS = CTL_ARGS + 16,
};

// The kernels' numbers; the Go side (kernels.go) uses the same.
enum { K_NONE, K_IM2COL, K_GEMM_I8, K_MAXPOOL, K_AVGPOOL, K_RELU, K_STATS, K_IM2ROW_Q8, K_GEMM_Q8 };

// A worker spins this many times on CTL_SEQ before it sleeps: a ResNet's
// calls come back to back, and waking a sleeping Web Worker costs more
// than a short spin.
#define SPIN (1 << 15)

static inline float f32(int32_t v) { return __builtin_bit_cast(float, v); }
#define PTR(v) ((void *)(uintptr_t)(uint32_t)(v))

// run runs part `part` of the call ctl describes on instance self.
static void run(const int32_t *ctl, int part, int self) {
  const int32_t *a = ctl + CTL_ARGS;
  int n = ctl[CTL_PARTS];
  switch (ctl[CTL_FN]) {
  case K_IM2COL:
    im2col(PTR(a[0]), a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], PTR(a[10]), a[11], part, n);
    break;
  case K_GEMM_I8:
    gemm_i8(PTR(a[0]), PTR(a[1]), PTR(a[2]), PTR(a[3]), a[4], a[5], a[6], PTR(a[7]), PTR(a[8]), a[9], PTR(a[10]), a[11], part, n, self);
    break;
  case K_MAXPOOL:
    maxpool(PTR(a[0]), a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], PTR(a[9]), part, n);
    break;
  case K_AVGPOOL:
    avgpool(PTR(a[0]), a[1], a[2], PTR(a[3]), part, n);
    break;
  case K_RELU:
    relu(PTR(a[0]), a[1], PTR(a[2]), part, n);
    break;
  case K_STATS:
    stats(PTR(a[0]), a[1], PTR(a[2]), part, n);
    break;
  case K_IM2ROW_Q8:
    im2row_q8(PTR(a[0]), a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], f32(a[10]), a[11], a[12], PTR(a[13]), part, n);
    break;
  case K_GEMM_Q8:
    gemm_q8(PTR(a[0]), PTR(a[1]), f32(a[2]), PTR(a[3]), PTR(a[4]), a[5], a[6], a[7], PTR(a[8]), PTR(a[9]), a[10], a[11], part, n);
    break;
  }
}

#define LOAD(p) __atomic_load_n(p, __ATOMIC_SEQ_CST)
#define ADD(p, v) __atomic_add_fetch(p, v, __ATOMIC_SEQ_CST)

// take runs parts of the current call until none is left; it returns 1
// when the part it finished last was the call's last to finish.
static int take(int32_t *ctl, int self) {
  int last = 0;
  while (LOAD(&ctl[CTL_LEFT]) > 0) {
    int left = ADD(&ctl[CTL_LEFT], -1);
    if (left < 0) break; // another took the last
    // Read before this part counts as done: the caller may write the
    // next call as soon as all are.
    int n = ctl[CTL_PARTS];
    run(ctl, left, self);
    last = ADD(&ctl[CTL_DONE], 1) == n;
  }
  return last;
}

// dispatch runs the call ctl holds, cut into CTL_PARTS parts shared with
// the workers, and returns when all are done. wait, when not 0, lets
// this thread sleep (memory.atomic.wait) for the others' last parts, at
// most wait ns at a time: natively (a goroutine spinning in compiled
// wasm would hold up Go's garbage collector, and with it the workers).
// The page's main thread may not sleep, so there it is 0: a spin.
EXPORT(dispatch)
void dispatch(int32_t *ctl, int wait) {
  int n = ctl[CTL_PARTS];
  __atomic_store_n(&ctl[CTL_DONE], 0, __ATOMIC_SEQ_CST);
  __atomic_store_n(&ctl[CTL_LEFT], n, __ATOMIC_SEQ_CST); // publishes FN and ARGS
  if (n > 1) {
    ADD(&ctl[CTL_SEQ], 1);
    if (LOAD(&ctl[CTL_SLEEP]) > 0) __builtin_wasm_memory_atomic_notify(&ctl[CTL_SEQ], -1);
  }
  take(ctl, 0);
  for (int d; (d = LOAD(&ctl[CTL_DONE])) < n;)
    if (wait) __builtin_wasm_memory_atomic_wait32(&ctl[CTL_DONE], d, wait);
}

// stop makes the workers return.
EXPORT(stop)
void stop(int32_t *ctl) {
  __atomic_store_n(&ctl[CTL_QUIT], 1, __ATOMIC_SEQ_CST);
  ADD(&ctl[CTL_SEQ], 1);
  __builtin_wasm_memory_atomic_notify(&ctl[CTL_SEQ], -1);
}

// worker is instance self's loop: it takes parts of each call, then
// spins a while and sleeps until the next call, until stop. A Web Worker
// (or goroutine) lives in it.
EXPORT(worker)
void worker(int32_t *ctl, int self) {
  for (;;) {
    int seen = LOAD(&ctl[CTL_SEQ]);
    if (LOAD(&ctl[CTL_QUIT])) return;
    // The one who finishes a call's last part wakes the caller, who may
    // be asleep in dispatch.
    if (take(ctl, self)) __builtin_wasm_memory_atomic_notify(&ctl[CTL_DONE], 1);
    for (int spins = 0; LOAD(&ctl[CTL_SEQ]) == seen;) {
      if (++spins < SPIN) continue;
      // Counted asleep before the wait: dispatch, which bumps CTL_SEQ
      // before it reads CTL_SLEEP, either sees us or we see its bump.
      ADD(&ctl[CTL_SLEEP], 1);
      __builtin_wasm_memory_atomic_wait32(&ctl[CTL_SEQ], seen, -1);
      ADD(&ctl[CTL_SLEEP], -1);
      spins = 0;
    }
  }
}
