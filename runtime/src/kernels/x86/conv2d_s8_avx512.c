/*
 * AVX-512 VNNI variants of ptec::quantized_conv2d (not depthwise): what the
 * AVX2 variant takes (quantized/gemm_s8.h), with weight zero point 0 and
 * outputs with channels innermost (NHWC); anything else declines to AVX2.
 *
 * Packed path (ptec::quantized_conv2d_packed: weights packed at compile
 * time, conv2d.h's ptec_qconv_packed, checked at method init): panels of 32
 * output channels, four values of k per channel side by side, k padded to a
 * multiple of 4 with zeros:
 *
 *   panel[b][k / 4][c][k % 4] = w[32 b + c][k]      (c < 32)
 *
 * so that one 64-byte load holds four values of k for sixteen channels,
 * which is what VPDPBUSD multiplies against one broadcast 4-byte group of a
 * pixel. The microkernel keeps 8 pixels x 32 channels in sixteen
 * accumulators (sixteen VPDPBUSD, 1024 MACs, per two loads and eight
 * broadcasts), and its accumulators are already in channel order: the
 * correction, the requantization (requantize_avx512.h) and a 16-byte store
 * follow directly. The pixels' windows (im2col, or the pixel's channels for
 * 1x1) are copied as x + 128 (sign bit flipped) into a tile of 8 rows in the
 * call's planned scratch, one tile per concurrent share (tiles of up to
 * 8 KiB on the stack instead, so that shares need not wait for a slot).
 *
 * Unpacked weights (ptec::quantized_conv2d): the dot-product rows kernel of
 * gemm_s8_avx512.h, which reads the filters where they are. (Packing per
 * call, as an earlier version did, needed up to 512 KiB of stack.)
 *
 * When no acc + bias can overflow int32 the bias is in the packed
 * per-filter correction and the requantization skips its saturating add.
 *
 * Arithmetic (gemm_s8_avx512.h): sum (x - in_zp) w = sum (x + 128) w -
 * (128 + in_zp) sum w, the last term per filter computed by the compiler;
 * exact in int32 for k <= PTEC_Q_MAX_TERMS_I32, as the reference.
 */
#include "kernels/isa.h"

#if PTEC_KERNELS_X86
#include <string.h>

#include "kernels/parallel.h"
#include "kernels/quantized/conv2d.h"
#include "kernels/x86/gemm_s8_avx512.h"
#include "kernels/x86/requantize_avx512.h"
#include "kernels/x86/packed_s8_avx512.h"

enum { MR = PTEC_QCONV_PACK_MR, NR = PTEC_QCONV_PACK_NR, DOT_MIN_K = 256 };

typedef struct packed_job {
  const ptec_qconv *p;
  const ptec_qconv_packed *pk;
  ptec_avx512_panel_q q; /* the requantization (packed_s8_avx512.h) */
  int64_t tiles, units; /* tiles of MR pixels, cut into `units` shares of one slot each */
  bool full_out;        /* ptec_avx512_panel_full_fits: full tiles take panel_out_full */
} packed_job;

/* Bytes [0, len) of dst: 64-byte masked stores of v. */
static inline void store_run(uint8_t *dst, int64_t len, __m512i v) {
  for (int64_t i = 0; i < len; i += 64)
    _mm512_mask_storeu_epi8(dst + i, len - i >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << (len - i)) - 1), v);
}

/* The window of input corner (iy, ix), dilation 1 and each pixel's channels
 * adjacent (NHWC): per row of taps, one run of KW * C bytes copied and flipped
 * with 64-byte masked loads and stores; taps in the padding hold input_zp
 * flipped. (ptec_qconv_s8_window's memcpy of C bytes per tap, then a second
 * pass to flip, cost more than the products on MobileNetV2's 3-channel stem
 * and DS-CNN's 1-channel first layer.) */
static void window_rows(const ptec_qconv *p, int64_t n, int64_t iy, int64_t ix, int32_t k,
                        int32_t kp, uint8_t *dst) {
  const ptec_q_view4 X = p->x;
  const int64_t C = X.c, run = p->w.w * C;
  const __m512i flip = _mm512_set1_epi8((char)0x80);
  const __m512i pad = _mm512_set1_epi8((char)(p->in_zp ^ 0x80));
  const int64_t left = ix < 0 ? -ix : 0, right = ix + p->w.w > X.w ? ix + p->w.w - X.w : 0;
  const int64_t inside = p->w.w - left - right; /* taps of a row inside the image, maybe < 0 */
  const int8_t *xn = (const int8_t *)p->in->data + n * X.sn;
  for (int64_t ky = 0; ky < p->w.h; ky++, dst += run) {
    const int64_t y = iy + ky;
    if (y < 0 || y >= X.h || inside <= 0) {
      store_run(dst, run, pad);
      continue;
    }
    if (left || right) store_run(dst, run, pad);
    const int8_t *src = xn + y * X.sh + (ix + left) * C;
    const int64_t len = inside * C;
    for (int64_t i = 0; i < len; i += 64) {
      const __mmask64 m = len - i >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << (len - i)) - 1);
      _mm512_mask_storeu_epi8(dst + left * C + i, m,
                              _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, src + i), flip));
    }
  }
  store_run(dst, kp - k, flip);
}

/* k bytes of output pixel (n, oy, ox)'s window or input pixel, sign bits
 * flipped, then 0x80 up to kp. */
static void load_row(const ptec_qconv *p, int64_t n, int64_t oy, int64_t ox, int32_t k,
                     int32_t kp, uint8_t *dst, const uint8_t *limit) {
  const int64_t iy = oy * p->stride[0] - p->pad[0], ix = ox * p->stride[1] - p->pad[2];
  const __m512i flip = _mm512_set1_epi8((char)0x80);
  if (p->w.h == 1 && p->w.w == 1 && iy >= 0 && iy < p->x.h && ix >= 0 && ix < p->x.w) {
    /* 1x1 inside the image: the pixel's channels, flipped on the way. */
    const int8_t *src = (const int8_t *)p->in->data + n * p->x.sn + iy * p->x.sh + ix * p->x.sw;
    if (kp <= 64 && limit - dst >= 64) {
      /* One whole 64-byte store: its bytes past kp belong to the next row,
       * which is written after this one (or lie unused before `limit`). The
       * microkernel's 4-byte loads that follow at once are then forwarded
       * from the store; a masked store cannot forward and each load waited
       * for it to reach the cache (the small-k 1x1 layers' tile cost). */
      const __mmask64 m = k >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << k) - 1);
      _mm512_storeu_si512(dst, _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, src), flip));
      return;
    }
    for (int32_t i = 0; i < kp; i += 64) {
      __mmask64 m = i + 64 <= k ? ~(__mmask64)0 : i < k ? (((__mmask64)1 << (k - i)) - 1) : 0;
      __m512i v = _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, src + i), flip);
      __mmask64 store = kp - i >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << (kp - i)) - 1);
      _mm512_mask_storeu_epi8(dst + i, store, v);
    }
    return;
  }
  if (p->dilation[0] == 1 && p->dilation[1] == 1 && p->x.sw == p->x.c) {
    window_rows(p, n, iy, ix, k, kp, dst);
    return;
  }
  ptec_qconv_s8_window(p, n, oy, ox, (int8_t *)dst);
  for (int32_t i = 0; i < k; i += 64) {
    __mmask64 m = k - i >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << (k - i)) - 1);
    _mm512_mask_storeu_epi8(dst + i, m, _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, dst + i), flip));
  }
  memset(dst + k, 0x80, (size_t)(kp - k));
}

/* The tile's rows times panel b, requantized into y (channels at stride y.sc). */
static void tile_panel(const packed_job *job, const uint8_t *rows, int count, int32_t b,
                       int8_t *const y[MR]) {
  const ptec_qconv_packed *pk = job->pk;
  __m512i c[MR][2];
  ptec_avx512_panel_dot(rows, (size_t)pk->kp, pk->panels, pk->corr, pk->n, b, c);
  ptec_avx512_panel_store(&job->q, c, count, b, y, job->full_out);
}

/* Tile t's rows (its pixels' windows, the last pixel repeated past the
 * image's end) into `rows`, its outputs into y; returns its pixel count. */
static int load_tile(const ptec_qconv *p, const ptec_qconv_packed *pk, int64_t t, uint8_t *rows,
                     const uint8_t *limit, int8_t *y[MR]) {
  const ptec_q_view4 Y = p->y;
  const int64_t pixels = Y.n * Y.h * Y.w;
  const size_t kp = (size_t)pk->kp;
  const int count = pixels - t * MR < MR ? (int)(pixels - t * MR) : MR;
  /* One division for the tile's first pixel; the rest step along the row
   * (a division per pixel cost as much as the copy on 1x1 layers). */
  const int64_t first = t * MR;
  int64_t n = first / (Y.h * Y.w), oy = first / Y.w % Y.h, ox = first % Y.w;
  for (int r = 0; r < MR; r++) {
    if (r < count) {
      load_row(p, n, oy, ox, pk->k, pk->kp, rows + (size_t)r * kp, limit);
      y[r] = (int8_t *)p->out->data + n * Y.sn + oy * Y.sh + ox * Y.sw;
      if (++ox == Y.w) {
        ox = 0;
        if (++oy == Y.h) oy = 0, n++;
      }
    } else {
      memcpy(rows + (size_t)r * kp, rows, kp);
      y[r] = y[0];
    }
  }
  return count;
}

/* Tiles [t0, t1) of MR output pixels (all images, row-major), their windows
 * in `rows` (one slot of group tiles), `group` tiles at a time: each panel is
 * read once per group (from memory when the panels outgrow the caches,
 * ResNet's last layers: 2.3 MB), not per tile. */
static void run_tiles(const packed_job *job, int64_t t0, int64_t t1, uint8_t *rows) {
  const ptec_qconv_packed *pk = job->pk;
  const size_t tile = (size_t)MR * (size_t)pk->kp;
  int8_t *y[PTEC_QCONV_PACK_MAX_GROUP][MR];
  int count[PTEC_QCONV_PACK_MAX_GROUP];
  for (int64_t t = t0; t < t1; t += pk->group) {
    const int in_group = t1 - t < pk->group ? (int)(t1 - t) : (int)pk->group;
    for (int i = 0; i < in_group; i++)
      count[i] = load_tile(job->p, pk, t + i, rows + (size_t)i * tile,
                           rows + (size_t)pk->group * tile, y[i]);
    for (int32_t b = 0; b * NR < pk->n; b++)
      for (int i = 0; i < in_group; i++)
        tile_panel(job, rows + (size_t)i * tile, count[i], b, y[i]);
  }
}

/* Shares [u0, u1) of the planned scratch's slots: share u computes its run of
 * tiles with slot u. */
static void packed_slots(const void *arg, int64_t u0, int64_t u1) {
  const packed_job *job = arg;
  const size_t slot = (size_t)job->pk->group * MR * (size_t)job->pk->kp;
  for (int64_t u = u0; u < u1; u++)
    run_tiles(job, job->tiles * u / job->units, job->tiles * (u + 1) / job->units,
              job->pk->scratch + (size_t)u * slot);
}

/* Tiles [t0, t1) with their windows in a tile on this thread's stack (tiles of
 * at most STACK_TILE bytes): any number of shares can run, each where a thread
 * comes free, instead of one per planned slot. */
enum { STACK_TILE = 8 * 1024 };
static void packed_stack(const void *arg, int64_t t0, int64_t t1) {
  _Alignas(64) uint8_t rows[STACK_TILE];
  run_tiles(arg, t0, t1, rows);
}

bool ptec_qconv_s8_avx512_packed(const ptec_qconv *p, const ptec_qconv_packed *pk) {
  /* The weights are read from the panels only, so their layout does not
   * matter here (DS-CNN's one-channel first layer has them [KH, KW, O] as for
   * a depthwise one, which ptec_qconv_s8_gemm declines). */
  if (p->in->dtype != PTEC_DTYPE_INT8 || p->out->dtype != PTEC_DTYPE_INT8 || p->wide ||
      p->groups != 1 || p->w_zp != 0 || (p->x.sc != 1 && p->x.c != 1))
    return false;
  const int32_t *bias = p->bias ? p->bias->data : NULL;
  const int64_t tiles = (p->y.n * p->y.h * p->y.w + MR - 1) / MR;
  packed_job job = {.p = p, .pk = pk,
                    .q = {.bias = bias, .mul = p->multiplier->data, .sh = p->shift->data,
                          .scale_step = (int32_t)p->scale_step, .n = pk->n,
                          .out_zp = p->out_zp, .act_min = p->act_min, .act_max = p->act_max,
                          .y_col = p->y.sc,
                          .bias_folded = ptec_qconv_packed_folds_bias(bias, pk->n, pk->k),
                          .short_requant = ptec_avx512_requantize16s_fits(
                              p->shift->data, p->scale_step ? pk->n : 1, p->act_min,
                              p->act_max)},
                    .tiles = tiles, .units = pk->slots < tiles ? pk->slots : tiles};
  job.full_out = ptec_avx512_panel_full_fits(&job.q);
  if (pk->group * MR * pk->kp <= STACK_TILE)
    ptec_parallel_chunks(p->parallel, packed_stack, &job, tiles, 8);
  else
    ptec_parallel_range(p->parallel, packed_slots, &job, job.units);
  return true;
}

/* Small filter banks of unpacked programs (packed, at most SMALL_PACK bytes,
 * filters of at most SMALL_KP values: MobileNetV2's pointwise layers up to
 * 576 x 96) are packed per call on the stack (SMALL_PACK + 8 KiB + SMALL_SLOTS
 * tiles of 16 KiB) and take the packed kernel; the dot-product kernel's
 * reductions per output would cost more than the packing. Programs compiled
 * for x86-64-avx512 never come here: their weights are packed already. */
enum { SMALL_PACK = 64 * 1024, SMALL_KP = 2048, SMALL_N = 2048, SMALL_SLOTS = 2 };

static bool small_packed(const ptec_qconv *p, const ptec_gemm_s8 *g) {
  const int32_t kp = (g->k + 3) / 4 * 4, np = (g->n + NR - 1) / NR * NR;
  if ((int64_t)np * kp > SMALL_PACK || kp > SMALL_KP || np > SMALL_N || p->y.sc != 1)
    return false;
  _Alignas(64) int8_t panels[SMALL_PACK];
  _Alignas(64) int32_t corr[SMALL_N];
  _Alignas(64) uint8_t tiles[SMALL_SLOTS * MR * SMALL_KP];
  ptec_avx512_pack_panels(g->w, g->w_row, g->k, g->n, panels);
  ptec_avx512_gemm_s8_corr(g, corr);
  for (int32_t j = g->n; j < np; j++) corr[j] = 0;
  if (ptec_qconv_packed_folds_bias(g->q.bias, g->n, g->k))
    for (int32_t j = 0; g->q.bias != NULL && j < g->n; j++) corr[j] -= g->q.bias[j];
  const ptec_qconv_packed pk = {.corr = corr, .panels = panels, .k = g->k, .kp = kp,
                                .n = g->n, .np = np, .scratch = tiles,
                                .slots = (int64_t)sizeof tiles / (MR * kp), .group = 1};
  return ptec_qconv_s8_avx512_packed(p, &pk);
}

/* Unpacked weights, other than small_packed's: the dot-product rows kernel,
 * with its per-filter correction on the stack (16 KiB), for filters of
 * DOT_MIN_K values or more; shorter ones decline to the AVX2 kernel, since
 * the dot-product kernel's reductions per output outweigh its products there. */
bool ptec_qconv_s8_avx512(const ptec_qconv *p) {
  ptec_gemm_s8 g;
  if (p->w_zp != 0 || p->y.c > PTEC_AVX512_GEMM_MAX_N || !ptec_qconv_s8_gemm(p, &g))
    return false;
  if (small_packed(p, &g)) return true;
  if (g.k < DOT_MIN_K) return false;
  int32_t corr[PTEC_AVX512_GEMM_MAX_N];
  ptec_avx512_gemm_s8_corr(&g, corr);
  g.w_corr = corr;
  ptec_qconv_s8_run(p, &g, ptec_avx512_gemm_s8_rows);
  return true;
}

#endif /* PTEC_KERNELS_X86 */
