/*
 * AVX-512 float32 depthwise convolution (groups == C == OC, NCHW planes,
 * output rows contiguous), called by the x86 convolution variant
 * (conv2d_f32_avx2.c) when ptec_x86_has_avx512_vnni().
 *
 * Per channel and output row: the row starts at the bias; then for each
 * filter row inside the image, that input row is copied once with its zero
 * padding into a stack buffer split into `stride` phases (element j of the
 * padded row goes to phase j % stride, position j / stride), so that tap kx
 * of sixteen consecutive outputs is one contiguous load (phase
 * (kx * dil) % stride, offset (kx * dil) / stride), and the taps of the row
 * are FMAs into one register before the output row is updated. Sums run in
 * another order than the reference's, with fused multiply-adds: within the
 * float tolerance of docs/kernels-cpu.md. Channels are split over threads.
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_X86
#include <immintrin.h>
#include <string.h>

#include "kernels/parallel.h"
#include "kernels/portable/variants.h"
#include "kernels/x86/conv2d_f32_x86.h"

enum { ROW = 4096 + 64, MAX_STRIDE = 4 };

static void channels(const void *arg, int64_t c0, int64_t c1) {
  const ptec_conv_f32 *p = arg;
  const int64_t s = p->stride[1], wp = p->w_ + 2 * p->pad[1], phase_len = wp / s + 32;
  float row[ROW], flat[ROW];
  for (int64_t nc = c0; nc < c1; nc++) {
    const int64_t n = nc / p->c, c = nc % p->c;
    const float *xc = p->x + n * p->xs[0] + c * p->xs[1], *wc = p->w + c * p->ws[0];
    float *yc = p->y + n * p->ys[0] + c * p->ys[1];
    const __m512 bias = _mm512_set1_ps(p->b ? p->b[c] : 0.0f);
    for (int64_t oy = 0; oy < p->oh; oy++) {
      float *yr = yc + oy * p->ys[2];
      for (int64_t ox = 0; ox < p->ow; ox += 16) {
        const __mmask16 m = p->ow - ox >= 16 ? 0xFFFF : (__mmask16)((1u << (p->ow - ox)) - 1);
        _mm512_mask_storeu_ps(yr + ox, m, bias);
      }
      for (int64_t ky = 0; ky < p->kh; ky++) {
        const int64_t iy = oy * p->stride[0] - p->pad[0] + ky * p->dil[0];
        if (iy < 0 || iy >= p->h) continue;
        /* The padded row, phase by phase; zeros past its end. */
        memset(row, 0, sizeof(float) * (size_t)(phase_len * s));
        const float *src = xc + iy * p->xs[2];
        if (s == 1 && p->xs[3] == 1) {
          memcpy(row + p->pad[1], src, sizeof(float) * (size_t)p->w_);
        } else if (s == 2 && p->xs[3] == 1) {
          /* The padded row in `flat` first, then split 32 at a time into evens and odds. */
          memset(flat, 0, sizeof(float) * (size_t)(p->pad[1]));
          memcpy(flat + p->pad[1], src, sizeof(float) * (size_t)p->w_);
          memset(flat + p->pad[1] + p->w_, 0, sizeof(float) * (size_t)(p->pad[1] + 32));
          const __m512i ev = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
                                               28, 30);
          const __m512i od = _mm512_add_epi32(ev, _mm512_set1_epi32(1));
          for (int64_t j = 0; j < wp; j += 32) {
            const __m512 a = _mm512_loadu_ps(flat + j), b = _mm512_loadu_ps(flat + j + 16);
            _mm512_storeu_ps(row + j / 2, _mm512_permutex2var_ps(a, ev, b));
            _mm512_storeu_ps(row + phase_len + j / 2, _mm512_permutex2var_ps(a, od, b));
          }
        } else {
          int64_t ph = p->pad[1] % s, pos = p->pad[1] / s;
          for (int64_t i = 0; i < p->w_; i++) {
            row[ph * phase_len + pos] = src[i * p->xs[3]];
            if (++ph == s) ph = 0, pos++;
          }
        }
        const float *wr = wc + ky * p->ws[2];
        for (int64_t ox = 0; ox < p->ow; ox += 16) {
          const __mmask16 m = p->ow - ox >= 16 ? 0xFFFF : (__mmask16)((1u << (p->ow - ox)) - 1);
          __m512 acc = _mm512_setzero_ps();
          for (int64_t kx = 0; kx < p->kw; kx++) {
            const int64_t t = kx * p->dil[1];
            const float *xp = row + (t % s) * phase_len + t / s + ox;
            acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, xp), _mm512_set1_ps(wr[kx * p->ws[3]]),
                                  acc);
          }
          _mm512_mask_storeu_ps(yr + ox, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, yr + ox), acc));
        }
      }
    }
  }
}

/*
 * Small planes (DS-CNN: 25 x 5), stride 1: the channel's whole padded plane is
 * copied once, and outputs are computed along its flattened rows, where tap
 * (ky, kx) of output q = oy * wp + ox is padded element q + ky * dil * wp +
 * kx * dil: sixteen outputs per load and FMA whatever the row width. The
 * wp - ow columns past each output row are computed and dropped.
 */
enum { PLANE = 8192 };

static void small_planes(const void *arg, int64_t c0, int64_t c1) {
  const ptec_conv_f32 *p = arg;
  const int64_t wp = p->w_ + 2 * p->pad[1], hp = p->h + 2 * p->pad[0], q_end = p->oh * wp;
  float plane[PLANE], out[PLANE];
  for (int64_t nc = c0; nc < c1; nc++) {
    const int64_t n = nc / p->c, c = nc % p->c;
    const float *xc = p->x + n * p->xs[0] + c * p->xs[1], *wc = p->w + c * p->ws[0];
    float *yc = p->y + n * p->ys[0] + c * p->ys[1];
    memset(plane, 0, sizeof(float) * (size_t)(hp * wp + 16));
    for (int64_t iy = 0; iy < p->h; iy++) {
      float *dst = plane + (iy + p->pad[0]) * wp + p->pad[1];
      for (int64_t ix = 0; ix < p->w_; ix++) dst[ix] = xc[iy * p->xs[2] + ix * p->xs[3]];
    }
    const float bias = p->b ? p->b[c] : 0.0f;
    for (int64_t q = 0; q < q_end; q += 16) {
      const __mmask16 m = q_end - q >= 16 ? 0xFFFF : (__mmask16)((1u << (q_end - q)) - 1);
      __m512 acc = _mm512_set1_ps(bias);
      for (int64_t ky = 0; ky < p->kh; ky++)
        for (int64_t kx = 0; kx < p->kw; kx++) {
          const float *xp = plane + q + ky * p->dil[0] * wp + kx * p->dil[1];
          acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, xp),
                                _mm512_set1_ps(wc[ky * p->ws[2] + kx * p->ws[3]]), acc);
        }
      _mm512_mask_storeu_ps(out + q, m, acc);
    }
    for (int64_t oy = 0; oy < p->oh; oy++)
      memcpy(yc + oy * p->ys[2], out + oy * wp, sizeof(float) * (size_t)p->ow);
  }
}

/* The direct variant clamps a fused relu / hardtanh at its stores; the two
 * copying ones here clamp the outputs after (layers the direct one declines). */
static bool copying(const ptec_conv_f32 *p);

bool ptec_avx512_depthwise_f32(const ptec_conv_f32 *p) {
  if (ptec_avx512_depthwise_f32_direct(p)) return true;
  if (!copying(p)) return false;
  if (p->clamp) ptec_conv_f32_clamp_out(p);
  return true;
}

static bool copying(const ptec_conv_f32 *p) {
  {
    /* Reads of output q's taps stay below (oh - 1 + (kh - 1) * dil) * wp + ow - 1 +
     * (kw - 1) * dil < hp * wp: within the copied plane (plus 16 zeros). */
    const int64_t wp = p->w_ + 2 * p->pad[1], hp = p->h + 2 * p->pad[0];
    if (p->stride[0] == 1 && p->stride[1] == 1 && p->ow < 16 && p->ys[3] == 1 &&
        hp * wp + 16 <= PLANE && p->oh * wp <= PLANE) {
      ptec_parallel_range(p->parallel, small_planes, p, p->n * p->c);
      return true;
    }
  }
  const int64_t s = p->stride[1];
  if (p->ys[3] != 1 || s < 1 || s > MAX_STRIDE ||
      (p->w_ + 2 * p->pad[1]) / s + 32 > ROW / s)
    return false;
  /* Reads stay inside a phase: the last tap of the last output is within the padded row. */
  ptec_parallel_range(p->parallel, channels, p, p->n * p->c);
  return true;
}

#endif /* PTEC_KERNELS_X86 */
