/*
 * AVX-512 variant of ptec::quantized_conv2d's depthwise case: int8, NHWC
 * input and output (channels innermost), depth multiplier 1, weights
 * [KH, KW, C] (dim order 1,2,3,0), at most PTEC_DEPTHWISE_MAX_TAPS taps and
 * MAX_C channels; any zero points, shifts, strides, padding and dilation.
 * The rest (one broadcast input channel, other layouts) declines to AVX2.
 *
 * Once per call the weights are turned into int16 (w - w_zp), taps taken in
 * pairs and interleaved the way VPUNPCK{L,H}WD interleaves two taps' inputs,
 * 32 channels per block, so that per output pixel and block each pair of
 * taps costs two widening loads, two unpacks and two VPDPWSSD (x * w' pairs
 * summed into int32; |x| <= 128, |w'| <= 255, exact). Every tap is taken:
 * a tap in the padding reads a row of input_zp, and the input zero point
 * comes off at the end as one per-channel term,
 *
 *   sum_taps-inside (x - in_zp) w' = sum_all-taps x w' - in_zp sum_all-taps w'
 *
 * (a padding tap's x is in_zp, so both sides agree), exact in int32 for
 * 64 taps. Multipliers, shifts, biases and corrections are copied per
 * channel (per-tensor ones repeated) so that the requantization
 * (requantize_avx512.h) reads sixteen lanes at a time; when no acc + bias
 * can overflow int32 the bias joins the correction and the saturating add
 * is skipped. A window inside the image takes its taps at fixed offsets.
 * Output rows are split over the platform's threads.
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_X86
#include <immintrin.h>
#include <string.h>

#include "kernels/parallel.h"
#include "kernels/quantized/depthwise_taps.h"
#include "kernels/quantized/variants.h"
#include "kernels/x86/requantize_avx512.h"
#include "kernels/x86/vnni_s8_avx512.h"

enum {
  MAX_TAPS = PTEC_DEPTHWISE_MAX_TAPS,
  MAX_C = 2048,                   /* channels: per-channel tables on the stack */
  MAX_PAIRS_BLOCKS = 5 * 64       /* tap pairs x 32-channel blocks (3x3 up to 2048 ch) */
};

typedef struct dw_job {
  const ptec_qconv *p;
  const __m512i *w;               /* [block][pair][2]: interleaved int16 weights */
  const int32_t *m, *s, *bias, *corr; /* per channel, padded to 32 */
  const int8_t *zp_row;           /* C bytes of input_zp */
  const ptrdiff_t *offset;        /* each tap's offset from the window's corner */
  int pairs, taps;
  int32_t blocks;
  bool bias_folded;               /* corr holds the bias too (no acc + bias can overflow) */
  const ptec_avx512_q16s *qs;     /* per 16 channels, when every shift >= 32; else NULL */
  const __m512i *corr_lanes;      /* 3x3 path: [block][2] -corr in the accumulators' order */
} dw_job;

/* 32 channels' int8 at p (fewer: `mask`) widened to int16. */
static inline __m512i widen32(const int8_t *p, __mmask32 mask) {
  return _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(mask, p));
}

static void dw_rows(const void *arg, int64_t r0, int64_t r1) {
  const dw_job *job = arg;
  const ptec_qconv *p = job->p;
  const ptec_q_view4 X = p->x, W = p->w, Y = p->y;
  const int32_t C = (int32_t)Y.c;
  const int8_t *x = p->in->data;
  const __m512i zp = _mm512_set1_epi32(p->out_zp);
  const __m512i lo = _mm512_set1_epi64((int64_t)p->act_min - p->out_zp);
  const __m512i hi = _mm512_set1_epi64((int64_t)p->act_max - p->out_zp);
  const __m128i lo8 = _mm_set1_epi8((char)p->act_min), hi8 = _mm_set1_epi8((char)p->act_max);
  /* Lanes 0-3 of the unpack-low result hold channels 0-3, 8-11, 16-19, 24-27 of
   * a block; these put channels 0-15 and 16-31 back in order. */
  const __m512i ord0 = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
  const __m512i ord1 =
      _mm512_setr_epi32(8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
  const int8_t *xs[MAX_TAPS + 1];
  for (int64_t r = r0; r < r1; r++) {
    const int64_t n = r / Y.h, oy = r % Y.h;
    for (int64_t ox = 0; ox < Y.w; ox++) {
      const int64_t iy0 = oy * p->stride[0] - p->pad[0], ix0 = ox * p->stride[1] - p->pad[2];
      int t = 0;
      const bool inside = iy0 >= 0 && iy0 + (W.h - 1) * p->dilation[0] < X.h && ix0 >= 0 &&
                          ix0 + (W.w - 1) * p->dilation[1] < X.w;
      if (inside) { /* the window in the image: fixed offsets from its corner */
        const int8_t *corner = x + n * X.sn + iy0 * X.sh + ix0 * X.sw;
        for (; t < job->taps; t++) xs[t] = corner + job->offset[t];
      } else {
        for (int64_t ky = 0; ky < W.h; ky++) {
          const int64_t iy = iy0 + ky * p->dilation[0];
          for (int64_t kx = 0; kx < W.w; kx++, t++) {
            const int64_t ix = ix0 + kx * p->dilation[1];
            xs[t] = iy < 0 || iy >= X.h || ix < 0 || ix >= X.w
                        ? job->zp_row
                        : x + n * X.sn + iy * X.sh + ix * X.sw;
          }
        }
      }
      xs[t] = job->zp_row; /* an odd last tap's partner: its weights are zero */
      int8_t *y = (int8_t *)p->out->data + n * Y.sn + oy * Y.sh + ox * Y.sw;
      for (int32_t b = 0; b < job->blocks; b++) {
        const int32_t c0 = b * 32;
        const __mmask32 mask = C - c0 >= 32 ? ~(__mmask32)0 : (((__mmask32)1 << (C - c0)) - 1);
        const __m512i *w = job->w + (size_t)b * (size_t)job->pairs * 2;
        __m512i a0 = _mm512_setzero_si512(), a1 = a0;
        for (int q = 0; q < job->pairs; q++) {
          const __m512i x0 = widen32(xs[2 * q] + c0, mask), x1 = widen32(xs[2 * q + 1] + c0, mask);
          a0 = ptec_avx512_dpwssd(a0, _mm512_unpacklo_epi16(x0, x1), w[2 * q]);
          a1 = ptec_avx512_dpwssd(a1, _mm512_unpackhi_epi16(x0, x1), w[2 * q + 1]);
        }
        __m512i s0 = _mm512_permutex2var_epi32(a0, ord0, a1);
        __m512i s1 = _mm512_permutex2var_epi32(a0, ord1, a1);
        s0 = _mm512_sub_epi32(s0, _mm512_loadu_si512(job->corr + c0));
        s1 = _mm512_sub_epi32(s1, _mm512_loadu_si512(job->corr + c0 + 16));
        if (job->qs) {
          if (!job->bias_folded) {
            s0 = ptec_avx512_sat_add_i32(s0, _mm512_loadu_si512(job->bias + c0));
            s1 = ptec_avx512_sat_add_i32(s1, _mm512_loadu_si512(job->bias + c0 + 16));
          }
          _mm_mask_storeu_epi8(y + c0, (__mmask16)mask,
                               ptec_avx512_requantize16s(s0, &job->qs[2 * b], zp, lo8, hi8));
          _mm_mask_storeu_epi8(y + c0 + 16, (__mmask16)(mask >> 16),
                               ptec_avx512_requantize16s(s1, &job->qs[2 * b + 1], zp, lo8, hi8));
          continue;
        }
        ptec_avx512_q16 q0 = {_mm512_loadu_si512(job->m + c0), _mm512_loadu_si512(job->s + c0),
                              _mm512_setzero_si512()};
        ptec_avx512_q16 q1 = {_mm512_loadu_si512(job->m + c0 + 16),
                              _mm512_loadu_si512(job->s + c0 + 16), _mm512_setzero_si512()};
        if (job->bias_folded) {
          s0 = ptec_avx512_requantize16_nobias(s0, &q0, zp, lo, hi);
          s1 = ptec_avx512_requantize16_nobias(s1, &q1, zp, lo, hi);
        } else {
          q0.bias = _mm512_loadu_si512(job->bias + c0);
          q1.bias = _mm512_loadu_si512(job->bias + c0 + 16);
          s0 = ptec_avx512_requantize16(s0, &q0, zp, lo, hi);
          s1 = ptec_avx512_requantize16(s1, &q1, zp, lo, hi);
        }
        _mm_mask_storeu_epi8(y + c0, (__mmask16)mask, _mm512_cvtepi32_epi8(s0));
        _mm_mask_storeu_epi8(y + c0 + 16, (__mmask16)(mask >> 16), _mm512_cvtepi32_epi8(s1));
      }
    }
  }
}

/*
 * 3x3, dilation 1, horizontal stride 1 or 2 (all of MobileNetV2's and DS-CNN's
 * depthwise layers): taps paired vertically, (row 0, row 1) and (row 2, a
 * zero-weight partner), so that the unpacked int16 pairs of one input column
 * serve the three output pixels whose windows hold that column. Per group of
 * four output pixels and 32 channels: six columns of three widening loads and
 * four unpacks, 24 VPDPWSSD; the per-tap pairing above unpacked every tap once
 * per output pixel (20 shuffles per pixel, the port they share the bottleneck).
 * A column or row in the padding reads input_zp (the correction expects it);
 * the last group of a row computes past the row's end on input_zp columns and
 * stores only its pixels. Weights: w[block][kx][pair][lo, hi].
 */
enum { G3 = 4 };

/* Output rows [r0, r1) with a horizontal stride of sx (1 or 2, a constant in
 * each instance below): pixel i of a group takes tap kx from column
 * sx * i + kx, so a group reads sx * (G3 - 1) + 3 columns (6 or 9) and each
 * column's unpacked pairs serve every pixel whose window holds it (stride 2:
 * 9 columns for 4 pixels, where the per-tap pairing widened and unpacked 10
 * taps per pixel, and worked out each pixel's tap pointers). Any vertical
 * stride. */
static inline __attribute__((always_inline)) void dw3_rows_sx(const dw_job *job, int64_t r0,
                                                              int64_t r1, const int sx) {
  enum { MAX_COLS = 2 * (G3 - 1) + 3 };
  const ptec_qconv *p = job->p;
  const ptec_q_view4 X = p->x, Y = p->y;
  const int32_t C = (int32_t)Y.c;
  const int cols = sx * (G3 - 1) + 3;
  const int8_t *x = p->in->data;
  const __m512i zp = _mm512_set1_epi32(p->out_zp);
  const __m128i lo8 = _mm_set1_epi8((char)p->act_min), hi8 = _mm_set1_epi8((char)p->act_max);
  const __m512i ord0 = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
  const __m512i ord1 =
      _mm512_setr_epi32(8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
  for (int64_t r = r0; r < r1; r++) {
    const int64_t n = r / Y.h, oy = r % Y.h;
    const int8_t *row[3];
    for (int ky = 0; ky < 3; ky++) {
      const int64_t iy = oy * p->stride[0] - p->pad[0] + ky;
      row[ky] = iy >= 0 && iy < X.h ? x + n * X.sn + iy * X.sh : NULL;
    }
    int8_t *yrow = (int8_t *)p->out->data + n * Y.sn + oy * Y.sh;
    for (int64_t ox0 = 0; ox0 < Y.w; ox0 += G3) {
      const int count = Y.w - ox0 < G3 ? (int)(Y.w - ox0) : G3;
      const int8_t *col[3][MAX_COLS];
      for (int j = 0; j < cols; j++) {
        const int64_t ix = ox0 * sx - p->pad[2] + j;
        for (int ky = 0; ky < 3; ky++)
          col[ky][j] = row[ky] && ix >= 0 && ix < X.w ? row[ky] + ix * X.sw : job->zp_row;
      }
      for (int32_t b = 0; b < job->blocks; b++) {
        const int32_t c0 = b * 32;
        const __mmask32 mask = C - c0 >= 32 ? ~(__mmask32)0 : (((__mmask32)1 << (C - c0)) - 1);
        const __m512i *w = job->w + (size_t)b * 12;
        __m512i a[G3][2];
        for (int i = 0; i < G3; i++) a[i][0] = job->corr_lanes[2 * b], a[i][1] = job->corr_lanes[2 * b + 1];
#pragma GCC unroll 9
        for (int j = 0; j < cols; j++) {
          const __m512i x0 = widen32(col[0][j] + c0, mask), x1 = widen32(col[1][j] + c0, mask);
          const __m512i x2 = widen32(col[2][j] + c0, mask), z = _mm512_setzero_si512();
          const __m512i v[4] = {_mm512_unpacklo_epi16(x0, x1), _mm512_unpackhi_epi16(x0, x1),
                                _mm512_unpacklo_epi16(x2, z), _mm512_unpackhi_epi16(x2, z)};
          for (int kx = 0; kx < 3; kx++) {
            /* the pixel whose tap kx is column j, if any */
            if ((j - kx) % sx != 0) continue;
            const int i = (j - kx) / sx;
            if (i < 0 || i >= G3) continue;
            a[i][0] = ptec_avx512_dpwssd(a[i][0], v[0], w[kx * 4 + 0]);
            a[i][1] = ptec_avx512_dpwssd(a[i][1], v[1], w[kx * 4 + 1]);
            a[i][0] = ptec_avx512_dpwssd(a[i][0], v[2], w[kx * 4 + 2]);
            a[i][1] = ptec_avx512_dpwssd(a[i][1], v[3], w[kx * 4 + 3]);
          }
        }
        /* All G3 pixels unrolled (the accumulators stay in registers), or
         * the row's last `count`. */
#pragma GCC unroll 4
        for (int i = 0; i < G3; i++) {
          if (i >= count) break;
          const __m512i s0 = _mm512_permutex2var_epi32(a[i][0], ord0, a[i][1]);
          const __m512i s1 = _mm512_permutex2var_epi32(a[i][0], ord1, a[i][1]);
          int8_t *y = yrow + (ox0 + i) * Y.sw + c0;
          _mm_mask_storeu_epi8(y, (__mmask16)mask,
                               ptec_avx512_requantize16s(s0, &job->qs[2 * b], zp, lo8, hi8));
          _mm_mask_storeu_epi8(y + 16, (__mmask16)(mask >> 16),
                               ptec_avx512_requantize16s(s1, &job->qs[2 * b + 1], zp, lo8, hi8));
        }
      }
    }
  }
}

static void dw3_rows(const void *arg, int64_t r0, int64_t r1) { dw3_rows_sx(arg, r0, r1, 1); }
static void dw3_rows_s2(const void *arg, int64_t r0, int64_t r1) { dw3_rows_sx(arg, r0, r1, 2); }

/* dw3_rows' weights, w[block][kx][pair][lo, hi] with pairs (row 0, row 1) and
 * (row 2, 0), and each block's -corr in the accumulators' lane order. */
static void dw3_weights(const ptec_qconv *p, int32_t blocks, const ptrdiff_t *woff, __m512i *w,
                        const int32_t *corr, __m512i *corr_lanes) {
  const int32_t C = (int32_t)p->y.c;
  const int8_t *wd = p->weight->data;
  const __m512i wzp = _mm512_set1_epi16((int16_t)p->w_zp), z = _mm512_setzero_si512();
  /* Inverse of dw_rows' ord0/ord1: lane l of the low/high accumulator. */
  const __m512i inv0 = _mm512_setr_epi32(0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27);
  const __m512i inv1 = _mm512_setr_epi32(4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31);
  for (int32_t b = 0; b < blocks; b++) {
    const int32_t c0 = b * 32;
    const __mmask32 lanes = C - c0 >= 32 ? ~(__mmask32)0 : (((__mmask32)1 << (C - c0)) - 1);
    for (int kx = 0; kx < 3; kx++) {
      __m512i v[3];
      for (int ky = 0; ky < 3; ky++)
        v[ky] = _mm512_maskz_sub_epi16(lanes, widen32(wd + woff[ky * 3 + kx] + c0, lanes), wzp);
      __m512i *o = w + (size_t)b * 12 + kx * 4;
      o[0] = _mm512_unpacklo_epi16(v[0], v[1]);
      o[1] = _mm512_unpackhi_epi16(v[0], v[1]);
      o[2] = _mm512_unpacklo_epi16(v[2], z);
      o[3] = _mm512_unpackhi_epi16(v[2], z);
    }
    const __m512i c_lo = _mm512_sub_epi32(z, _mm512_loadu_si512(corr + c0));
    const __m512i c_hi = _mm512_sub_epi32(z, _mm512_loadu_si512(corr + c0 + 16));
    corr_lanes[2 * b] = _mm512_permutex2var_epi32(c_lo, inv0, c_hi);
    corr_lanes[2 * b + 1] = _mm512_permutex2var_epi32(c_lo, inv1, c_hi);
  }
}

bool ptec_qconv_depthwise_s8_avx512(const ptec_qconv *p) {
  const ptec_q_view4 X = p->x, W = p->w, Y = p->y;
  const int64_t taps = W.h * W.w;
  if (p->in->dtype != PTEC_DTYPE_INT8 || p->out->dtype != PTEC_DTYPE_INT8 || p->wide ||
      X.sc != 1 || Y.sc != 1 || Y.c != X.c || X.c > MAX_C || (W.n > 1 && W.sn != 1) ||
      taps > MAX_TAPS)
    return false;
  const int32_t C = (int32_t)Y.c, blocks = (C + 31) / 32, pairs = (int)(taps + 1) / 2;
  if ((int64_t)pairs * blocks > MAX_PAIRS_BLOCKS) return false;
  _Alignas(64) int32_t m[MAX_C], s[MAX_C], bias[MAX_C], corr[MAX_C];
  __m512i w[2 * MAX_PAIRS_BLOCKS];
  int8_t zp_row[MAX_C];
  ptrdiff_t offset[MAX_TAPS];
  memset(zp_row, (int8_t)p->in_zp, (size_t)C);
  for (int64_t t = 0; t < taps; t++)
    offset[t] = (ptrdiff_t)((t / W.w) * p->dilation[0] * X.sh + (t % W.w) * p->dilation[1] * X.sw);
  const int8_t *wd = p->weight->data;
  const int32_t *pm = p->multiplier->data, *ps = p->shift->data;
  const int32_t *pb = p->bias ? p->bias->data : NULL;
  /* Per-call setup is vector code over 32 channels at a time: done per element
   * with a division per tap it cost a quarter of the kernel on 56x56 layers. */
  ptrdiff_t woff[MAX_TAPS];
  for (int64_t t = 0; t < taps; t++) woff[t] = (ptrdiff_t)((t / W.w) * W.sh + (t % W.w) * W.sw);
  const __m512i wzp = _mm512_set1_epi16((int16_t)p->w_zp);
  for (int32_t b = 0; b < blocks; b++) {
    const int32_t c0 = b * 32;
    const __mmask32 lanes = C - c0 >= 32 ? ~(__mmask32)0 : (((__mmask32)1 << (C - c0)) - 1);
    for (int q = 0; q < pairs; q++) {
      __m512i v[2];
      for (int k = 0; k < 2; k++) {
        const int64_t t = 2 * q + k;
        v[k] = t < taps ? _mm512_maskz_sub_epi16(lanes, widen32(wd + woff[t] + c0, lanes), wzp)
                        : _mm512_setzero_si512();
      }
      /* Weights of taps 2q and 2q + 1 as int16, interleaved like the inputs. */
      const __m512i lo = _mm512_unpacklo_epi16(v[0], v[1]), hi = _mm512_unpackhi_epi16(v[0], v[1]);
      w[((size_t)b * pairs + q) * 2] = lo;
      w[((size_t)b * pairs + q) * 2 + 1] = hi;
    }
    for (int32_t c = c0; c < c0 + 32; c++) {
      const bool in = c < C;
      m[c] = in ? pm[c * p->scale_step] : 1 << 30;
      s[c] = in ? ps[c * p->scale_step] : 32; /* padding lanes: any valid shift */
      bias[c] = in && pb ? pb[c] : 0;
      int32_t total = 0;
      for (int64_t t = 0; in && t < taps; t++) total += (int32_t)wd[woff[t] + c] - p->w_zp;
      corr[c] = p->in_zp * total;
    }
  }
  /* |acc| <= 255 * 255 per tap: with every |bias| below 2^31 minus that, acc + bias
   * cannot overflow, and the bias joins the correction. */
  const int64_t room = INT32_MAX - (int64_t)255 * 255 * taps;
  bool fold = true;
  for (int32_t c = 0; c < C; c++) fold = fold && bias[c] <= room && bias[c] >= -room;
  for (int32_t c = 0; fold && c < C; c++) corr[c] -= bias[c];
  /* The short requantization's constants, once per call (48 KiB at most). */
  ptec_avx512_q16s qs[MAX_C / 16];
  const bool short_requant = ptec_avx512_requantize16s_fits(s, blocks * 32, p->act_min, p->act_max);
  for (int32_t g = 0; short_requant && g < blocks * 2; g++)
    qs[g] = ptec_avx512_q16s_make(_mm512_loadu_si512(m + 16 * g), _mm512_loadu_si512(s + 16 * g));
  const bool three = W.h == 3 && W.w == 3 && (p->stride[1] == 1 || p->stride[1] == 2) &&
                     p->dilation[0] == 1 && p->dilation[1] == 1 && short_requant && fold &&
                     blocks * 12 <= 2 * MAX_PAIRS_BLOCKS;
  __m512i corr_lanes[2 * MAX_C / 32];
  if (three) dw3_weights(p, blocks, woff, w, corr, corr_lanes);
  dw_job job = {.qs = short_requant ? qs : NULL, .bias_folded = fold, .corr_lanes = corr_lanes, .p = p, .w = w, .m = m, .s = s, .bias = bias, .corr = corr, .zp_row = zp_row,
                .offset = offset,
                .pairs = pairs, .taps = (int)taps, .blocks = blocks};
  const ptec_range_fn rows = !three ? dw_rows : p->stride[1] == 1 ? dw3_rows : dw3_rows_s2;
  ptec_parallel_chunks(p->parallel, rows, &job, Y.n * Y.h, 4);
  return true;
}

#endif /* PTEC_KERNELS_X86 */
