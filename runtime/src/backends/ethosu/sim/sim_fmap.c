/*
 * Feature-map addressing. A feature map is up to four tiles (BASE0 top
 * left, BASE1 right of WIDTH0, BASE2 below HEIGHT0 on the left, BASE3 below
 * HEIGHT1 on the right), each with the same X/Y/C strides, in NHWC or in
 * NHCWB16 (16-channel bricks: element (y, x, c) at
 * y*stride_y + x*stride_x + (c/16)*stride_c + (c%16)*elem).
 * Every tile's span is checked once at setup so element access is free of
 * checks and can never leave the region.
 */
#include <string.h>

#include "backends/ethosu/sim/sim_internal.h"

uint32_t sim_precision_bytes(uint32_t precision_field) { return 1u << (precision_field & 3); }

/* The span of one stride over n steps: [min, max] of k * stride, k < n. */
static void stride_span(int64_t stride, uint32_t n, int64_t *lo, int64_t *hi) {
  int64_t last = (int64_t)(n - 1) * stride; /* |stride| < 2^39, n <= 2^16: no overflow */
  *lo += last < 0 ? last : 0;
  *hi += last > 0 ? last : 0;
}

/* A tile's bytes relative to its base: [*lo, *hi) (strides may be negative). */
static void tile_span(const sim_fmap *f, uint32_t rows, uint32_t cols, int64_t *lo, int64_t *hi) {
  *lo = 0;
  *hi = 0;
  stride_span(f->stride_y, rows, lo, hi);
  stride_span(f->stride_x, cols, lo, hi);
  if (f->brick) {
    stride_span(f->stride_c, (f->c - 1) / 16 + 1, lo, hi);
    *hi += (int64_t)(f->c - 1 < 15 ? f->c - 1 : 15) * f->elem_size;
  } else {
    *hi += (int64_t)(f->c - 1) * f->elem_size;
  }
  *hi += f->elem_size;
}

/* A 40-bit stride register as a signed value. */
static int64_t stride40(uint64_t v) { return (int64_t)(v << 24) / ((int64_t)1 << 24); }

ethosu_sim_status sim_fmap_setup(ethosu_sim *sim, sim_fmap *f, const ethosu_sim_fmap_regs *r,
                                 const char *name, uint32_t h, uint32_t w, uint32_t c,
                                 bool is_ofm) {
  /* SET_IFM/IFM2_PRECISION: type bit 0, precision bits 2-3, format bits 6-7;
   * SET_OFM_PRECISION: precision in bits 1-2 (ethosu55_interface.h). */
  uint32_t p = r->precision;
  uint32_t prec = is_ofm ? (p >> 1) & 3 : (p >> 2) & 3, format = (p >> 6) & 3;
  /* B64 (field 3): only U85 accumulators loaded from IFM2 (Vela's int48
   * constants, stored as int64). */
  bool acc64 = prec == 3 && sim->product == ETHOSU_SIM_U85 && !is_ofm &&
               strcmp(name, "IFM2") == 0 && ((sim->r.acc_format >> 4) & 3) == 2;
  SIM_CHECK(sim, prec <= 2 || acc64, ETHOSU_SIM_ERR_REGISTER_RANGE, "%s precision field %u",
            name, prec);
  SIM_CHECK(sim, format <= 1, ETHOSU_SIM_ERR_REGISTER_RANGE, "%s format %u", name, format);
  f->name = name;
  f->region = r->region;
  for (int i = 0; i < 4; i++) f->base[i] = r->base[i];
  f->stride_x = stride40(r->stride_x);
  f->stride_y = stride40(r->stride_y);
  f->stride_c = stride40(r->stride_c);
  f->width0 = r->width0_m1 + 1;
  f->height0 = r->height0_m1 + 1;
  f->height1 = r->height1_m1 + 1;
  f->elem_size = sim_precision_bytes(prec);
  f->is_signed = (p & 1) != 0;
  f->brick = format == 1;
  f->zero_point = r->zero_point;
  f->transpose = 0;
  f->reverse = 0;
  if (is_ofm && sim->product == ETHOSU_SIM_U85) {
    /* U85 OFM transpose/reverse: the registers give the op's (h, w, c); the
     * tensor in memory is its permutation (sim_fmap_write). */
    f->transpose = (p >> 11) & 7;
    f->reverse = (p >> 9) & 3;
    SIM_CHECK(sim, f->transpose != 4 && f->transpose != 5, ETHOSU_SIM_ERR_REGISTER_RANGE,
              "OFM transpose %u", f->transpose);
    uint32_t d[3] = {h, w, c}, o[3];
    sim_permute(f->transpose, d, o);
    h = o[0], w = o[1], c = o[2];
  }
  f->h = h;
  f->w = w;
  f->c = c;
  f->mem = NULL;
  if (h == 0 || w == 0 || c == 0) return ETHOSU_SIM_OK;
  if (sim->product == ETHOSU_SIM_U85 && ((p >> 14) & 3) == SIM_STORAGE_CHAINED) {
    return sim_u85_chain_fmap(sim, f, is_ofm);
  }
  const uint64_t limit = (uint64_t)1 << 40; /* addresses and strides are 40-bit */
  SIM_CHECK(sim, r->stride_x < limit && r->stride_y < limit && r->stride_c < limit,
            ETHOSU_SIM_ERR_REGISTER_RANGE, "%s stride beyond 40 bits", name);
  uint32_t w0 = w < f->width0 ? w : f->width0;
  uint32_t hl0 = h < f->height0 ? h : f->height0, hr0 = h < f->height1 ? h : f->height1;
  struct {
    uint32_t rows, cols;
  } tiles[4] = {{hl0, w0}, {hr0, w - w0}, {h - hl0, w0}, {h - hr0, w - w0}};
  for (int t = 0; t < 4; t++) {
    if (tiles[t].rows == 0 || tiles[t].cols == 0) continue;
    uint8_t *unused;
    SIM_CHECK(sim, f->base[t] < limit, ETHOSU_SIM_ERR_REGISTER_RANGE, "%s BASE%d beyond 40 bits",
              name, t);
    int64_t lo, hi;
    tile_span(f, tiles[t].rows, tiles[t].cols, &lo, &hi);
    SIM_CHECK(sim, lo >= 0 || (uint64_t)-lo <= f->base[t], ETHOSU_SIM_ERR_REGION_ACCESS,
              "%s: tile %d reaches %lld bytes before its BASE%d %llu", name, t, (long long)-lo,
              t, (unsigned long long)f->base[t]);
    SIM_TRY(sim_region_span(sim, f->region, (uint64_t)((int64_t)f->base[t] + lo),
                            (uint64_t)(hi - lo), name, &unused));
  }
  return ETHOSU_SIM_OK;
}

/* Byte address in the region of element (y, x, c) (inside h, w, c). */
static uint64_t element_offset(const sim_fmap *f, uint32_t y, uint32_t x, uint32_t c) {
  int t = 0;
  if (x >= f->width0) {
    x -= f->width0;
    t = 1;
    if (y >= f->height1) {
      y -= f->height1;
      t = 3;
    }
  } else if (y >= f->height0) {
    y -= f->height0;
    t = 2;
  }
  /* Inside the span checked at setup, so in [0, region size). */
  int64_t off = (int64_t)f->base[t] + (int64_t)y * f->stride_y + (int64_t)x * f->stride_x;
  if (f->brick) return (uint64_t)(off + (int64_t)(c / 16) * f->stride_c + (c % 16) * f->elem_size);
  return (uint64_t)(off + (int64_t)c * f->elem_size);
}

int64_t sim_fmap_read(ethosu_sim *sim, const sim_fmap *f, uint32_t y, uint32_t x, uint32_t c) {
  const uint8_t *p = (f->mem != NULL ? f->mem : sim->base[f->region]) + element_offset(f, y, x, c);
  if (f->mem == NULL) sim->cur.bytes_read[f->region] += f->elem_size;
  if (f->elem_size == 8) { /* int64 accumulators (U85 IFM2), within int48 */
    uint64_t w = 0;
    for (int i = 7; i >= 0; i--) w = w << 8 | p[i];
    int64_t v = w >> 63 ? -(int64_t)(~w) - 1 : (int64_t)w;
    const int64_t lim = ((int64_t)1 << 47) - 1;
    return v > lim ? lim : v < -lim - 1 ? -lim - 1 : v;
  }
  uint32_t u = p[0];
  for (uint32_t i = 1; i < f->elem_size; i++) u |= (uint32_t)p[i] << (8 * i);
  if (!f->is_signed) return (int64_t)u;
  switch (f->elem_size) {
    case 1: return (int8_t)(uint8_t)u;
    case 2: return (int16_t)(uint16_t)u;
    default: return (int32_t)u;
  }
}

void sim_permute(uint32_t transpose, const uint32_t in[3], uint32_t out[3]) {
  /* ACTIVATION_TRANSPOSE HWC 0, WHC 1, HCW 2, WCH 3, CHW 6, CWH 7: which op
   * axis (0 h, 1 w, 2 c) becomes the tensor's h, w and c (4, 5: none). */
  static const uint8_t axes[8][3] = {{0, 1, 2}, {1, 0, 2}, {0, 2, 1}, {1, 2, 0},
                                     {0, 1, 2}, {0, 1, 2}, {2, 0, 1}, {2, 1, 0}};
  for (int i = 0; i < 3; i++) out[i] = in[axes[transpose][i]];
}

void sim_fmap_write(ethosu_sim *sim, const sim_fmap *f, uint32_t y, uint32_t x, uint32_t c,
                    int64_t v) {
  if (f->transpose != 0 || f->reverse != 0) {
    uint32_t in[3] = {y, x, c}, o[3];
    sim_permute(f->transpose, in, o);
    /* ACTIVATION_REVERSE: none, H, W, C of the tensor. */
    if (f->reverse == 1) o[0] = f->h - 1 - o[0];
    if (f->reverse == 2) o[1] = f->w - 1 - o[1];
    if (f->reverse == 3) o[2] = f->c - 1 - o[2];
    y = o[0], x = o[1], c = o[2];
  }
  uint8_t *p = (f->mem != NULL ? f->mem : sim->base[f->region]) + element_offset(f, y, x, c);
  if (f->mem == NULL) sim->cur.bytes_written[f->region] += f->elem_size;
  uint32_t u = (uint32_t)v;
  for (uint32_t i = 0; i < f->elem_size; i++) p[i] = (uint8_t)(u >> (8 * i));
}
