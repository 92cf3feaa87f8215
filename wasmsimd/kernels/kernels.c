// Residual's wasm SIMD128 kernels: what a ResNet forward pass needs, over
// memory the Go side lays out (weights packed once, activations kept
// here). Built freestanding (no libc) by the Makefile:
//   clang --target=wasm32 -O3 -msimd128 -nostdlib -Wl,--no-entry ...
// Every pointer is an offset into this module's own linear memory.
#include <stdint.h>
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name)))

// im2col lays the KHxKW patches of a CxHxW tensor out as the K x P
// matrix a conv's GEMM reads: col[k*P + p] with k = (c*KH + kh)*KW + kw
// and p = oh*OW + ow; taps outside the picture (padding) are 0.
EXPORT(im2col)
void im2col(const float *in, int C, int H, int W, int KH, int KW, int stride,
            int pad, int OH, int OW, float *col) {
  int P = OH * OW;
  for (int c = 0; c < C; c++)
    for (int kh = 0; kh < KH; kh++)
      for (int kw = 0; kw < KW; kw++) {
        float *dst = col + ((c * KH + kh) * KW + kw) * P;
        for (int oh = 0; oh < OH; oh++) {
          int ih = oh * stride - pad + kh;
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

// gemm_i8 computes out[co*P + p] = epilogue(scale[co] * sum_k
// w[co][k] * col[k*P + p] + bias[co]) for a conv (or fc, with P the
// batch) whose int8 weights are packed in panels of 4 output channels:
// wp[((co/4)*K + k)*4 + co%4] (rows past CO are zero). res, when not 0,
// is added (a residual, laid out like out) before the ReLU.
//
// The loop runs over strips of 8 columns: each strip of col is copied
// once into scratch (K*8 floats, contiguous), then every panel of 4
// output channels multiplies it in a 4x8 register tile (8 f32x4
// accumulators; each int8 weight widened once and shared by 8 columns).
// So col streams from memory once, not once per panel.
EXPORT(gemm_i8)
void gemm_i8(const int8_t *wp, const float *scale, const float *bias,
             const float *col, int K, int P, int CO, float *out,
             const float *res, int relu, float *scratch) {
  int p = 0;
  for (; p + 8 <= P; p += 8) {
    const float *src = col + p;
    for (int k = 0; k < K; k++, src += P) {
      wasm_v128_store(scratch + 8 * k, wasm_v128_load(src));
      wasm_v128_store(scratch + 8 * k + 4, wasm_v128_load(src + 4));
    }
    for (int c0 = 0; c0 < CO; c0 += 4) {
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
        float *o = out + co * P + p;
        const float *rp = res ? res + co * P + p : 0;
        wasm_v128_store(o, epi(acc[r][0], s, b, rp, relu));
        wasm_v128_store(o + 4, epi(acc[r][1], s, b, rp ? rp + 4 : 0, relu));
      }
    }
  }
  for (; p < P; p++) { // the last columns, one at a time
    for (int c0 = 0; c0 < CO; c0 += 4) {
      const int8_t *q = wp + (c0 / 4) * K * 4;
      int rows = CO - c0 < 4 ? CO - c0 : 4;
      float a[4] = {0, 0, 0, 0};
      for (int k = 0; k < K; k++, q += 4) {
        float x = col[k * P + p];
        a[0] += q[0] * x, a[1] += q[1] * x, a[2] += q[2] * x, a[3] += q[3] * x;
      }
      for (int r = 0; r < rows; r++) {
        int co = c0 + r;
        float v = a[r] * scale[co] + bias[co];
        if (res) v += res[co * P + p];
        if (relu && v < 0) v = 0;
        out[co * P + p] = v;
      }
    }
  }
}

// maxpool takes the KxK maximum with stride S and padding P (padding
// never wins: torch pads max pooling with -inf) of each of C planes.
EXPORT(maxpool)
void maxpool(const float *in, int C, int H, int W, int K, int S, int P,
             int OH, int OW, float *out) {
  for (int c = 0; c < C; c++) {
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
EXPORT(avgpool)
void avgpool(const float *in, int n, int hw, float *out) {
  for (int c = 0; c < n; c++) {
    float s = 0;
    for (int i = 0; i < hw; i++) s += in[c * hw + i];
    out[c] = s / (float)hw;
  }
}

// relu writes max(x, 0) of n values.
EXPORT(relu)
void relu(const float *in, int n, float *out) {
  int i = 0;
  for (; i + 4 <= n; i += 4)
    wasm_v128_store(out + i, wasm_f32x4_max(wasm_v128_load(in + i), wasm_f32x4_splat(0)));
  for (; i < n; i++) out[i] = in[i] > 0 ? in[i] : 0;
}
