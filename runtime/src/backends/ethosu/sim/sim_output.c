/*
 * The output stage every op ends with: accumulator scaling (per-channel
 * records from the scale stream, or the global OFM_SCALE), rounding, the
 * OFM zero point, the activation (clamp, or an 8-bit LUT in SHRAM loaded by
 * DMA) and the OFM type's range.
 *
 * The rounding modes are TOSA's, which is what Vela maps onto them
 * (SINGLE_ROUND -> NATURAL, DOUBLE_ROUND -> DBL):
 *   NATURAL:  (v * m + 2^(s-1)) >> s                      (round half up)
 *   DBL:      as NATURAL, plus/minus 2^30 more when s > 31 (TFLite's double
 *             rounding, as TOSA's apply_scale_32 defines it)
 *   TRUNCATE: (v * m) >> s, rounded towards zero
 */
#include "backends/ethosu/sim/sim_internal.h"

/* v >> s for signed v without implementation-defined behaviour. */
static int64_t asr64(int64_t v, uint32_t s) {
  if (s >= 63) return v < 0 ? -1 : 0;
  return v >= 0 ? v >> s : -(int64_t)(((uint64_t)(-(v + 1)) >> s) + 1);
}

uint32_t sim_ofm_cores(const ethosu_sim *sim) {
  return sim->product == ETHOSU_SIM_U65 && sim->r.parallel_mode == 1 ? 2 : 1;
}

ethosu_sim_status sim_scale_stream(ethosu_sim *sim, uint32_t channels, sim_scales *out) {
  const ethosu_sim_regs *r = &sim->r;
  out->cores = sim_ofm_cores(sim);
  out->core[0] = out->core[1] = NULL;
  for (uint32_t k = 0; k < out->cores; k++) {
    /* Core k's share of the channels (Vela gives core 1 nothing for one channel). */
    uint64_t n = (channels + out->cores - 1 - k) / out->cores, need = n * 10;
    if (n == 0) continue;
    uint64_t base = k == 0 ? r->scale_base : r->scale1_base;
    uint64_t length = k == 0 ? r->scale_length : r->scale1_length;
    SIM_CHECK(sim, length >= need, ETHOSU_SIM_ERR_WEIGHT_STREAM,
              "SCALE%s_LENGTH %llu is short of %llu channels x 10 bytes", k == 0 ? "" : "1",
              (unsigned long long)length, (unsigned long long)n);
    uint8_t *p;
    SIM_TRY(sim_region_span(sim, r->scale_region, base, need,
                            k == 0 ? "scale stream" : "core 1 scale stream", &p));
    sim->cur.bytes_read[r->scale_region] += need;
    out->core[k] = p;
  }
  return ETHOSU_SIM_OK;
}

sim_scale sim_channel_scale(const ethosu_sim *sim, const sim_scales *s, uint32_t c) {
  const uint8_t *stream = s->core[c % s->cores];
  uint32_t at = c / s->cores;
  if (sim->product != ETHOSU_SIM_U85) return sim_scale_record(stream, at);
  return (sim->r.acc_format & 3) == 1 ? sim_u85_scale_record48(stream, at)
                                      : sim_u85_scale_record(stream, at);
}

/* A record's fields: `bias_bytes` of little-endian two's complement bias,
 * then `scale_bytes` of scale (masked to `scale_bits`), then the shift byte. */
static sim_scale record(const uint8_t *stream, uint32_t c, int bias_bytes, int scale_bytes,
                        uint32_t scale_bits) {
  const uint8_t *p = stream + (size_t)c * 10;
  uint64_t b = 0, m = 0;
  for (int i = bias_bytes - 1; i >= 0; i--) b = b << 8 | p[i];
  for (int i = scale_bytes - 1; i >= 0; i--) m = m << 8 | p[bias_bytes + i];
  int unused = 64 - 8 * bias_bytes;
  sim_scale s;
  s.bias = (int64_t)(b << unused) / ((int64_t)1 << unused); /* sign-extend */
  s.scale = (uint32_t)(m & ((1ull << scale_bits) - 1));
  s.shift = p[bias_bytes + scale_bytes] & 63u;
  return s;
}

/* U85: bytes 0-3 int32 bias, 4-7 uint31 scale, 8 shift (EncodeBias32). */
sim_scale sim_u85_scale_record(const uint8_t *stream, uint32_t c) {
  return record(stream, c, 4, 4, 31);
}

/* U85, 48-bit accumulators: bytes 0-5 int48 bias, 6-7 uint15 scale, 8 shift. */
sim_scale sim_u85_scale_record48(const uint8_t *stream, uint32_t c) {
  return record(stream, c, 6, 2, 15);
}

/* U55/U65: bytes 0-4 int40 bias, 5-8 uint32 scale, 9 shift. */
sim_scale sim_scale_record(const uint8_t *stream, uint32_t c) {
  return record(stream, c, 5, 4, 32);
}

static int64_t sat32(int64_t v) { return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : v; }

/* floor((v * scale + round) / 2^shift), saturated to int32, exact for
 * |v| < 2^40 with any 32-bit scale or |v| < 2^48 with a 16-bit one, and
 * round < 2^63 - 2^48: v * scale may need 72 bits, so it is split at bit 16
 * of v. */
static int64_t mul_shift(int64_t v, uint32_t scale, uint32_t shift, int64_t round) {
  int64_t a = asr64(v, 16), b = v - a * 65536; /* v = a * 2^16 + b, 0 <= b < 2^16 */
  int64_t t2 = b * (int64_t)scale + round;     /* < 2^48 + round */
  int64_t t2_hi = asr64(t2, 16), t2_lo = t2 - t2_hi * 65536;
  int64_t x = a * (int64_t)scale + t2_hi;      /* |x| < 2^57: total = x * 2^16 + t2_lo */
  if (shift >= 16) return sat32(asr64(x, shift - 16));
  if (x > ((int64_t)1 << (46 + shift)) || x < -((int64_t)1 << (46 + shift))) {
    return x < 0 ? INT32_MIN : INT32_MAX;
  }
  return sat32(x * ((int64_t)1 << (16 - shift)) + asr64(t2_lo, shift));
}

/* floor((p * scale + round) / 2^shift) saturated to int32, exact for any int64
 * p with |p| <= 2^62, a 32-bit scale, 0 <= round < 2^62 and shift < 64: the
 * product is carried as a 128-bit value in two 64-bit halves. */
static int64_t mul_shift_wide(int64_t p, uint32_t scale, uint32_t shift, int64_t round) {
  int64_t p_hi = asr64(p, 32);                      /* p = p_hi * 2^32 + p_lo */
  uint64_t p_lo = (uint64_t)(p - p_hi * ((int64_t)1 << 32));
  int64_t h = p_hi * (int64_t)scale;                /* |h| < 2^62 */
  uint64_t l = p_lo * (uint64_t)scale;              /* < 2^64 */
  int64_t hi = asr64(h, 32);                        /* value = hi * 2^64 + lo */
  uint64_t lo = (uint64_t)h << 32;
  uint64_t sum = lo + l;
  hi += sum < lo;
  lo = sum + (uint64_t)round;
  hi += lo < sum;
  uint64_t q_lo = shift == 0 ? lo : (lo >> shift) | ((uint64_t)hi << (64 - shift));
  int64_t q_hi = shift == 0 ? hi : asr64(hi, shift);
  if (q_hi > 0 || (q_hi == 0 && q_lo > (uint64_t)INT32_MAX)) return INT32_MAX;
  if (q_hi < -1 || (q_hi == -1 && q_lo < (uint64_t)INT32_MIN)) return INT32_MIN;
  return q_hi == 0 ? (int64_t)q_lo : -(int64_t)(~q_lo + 1u);
}

/* The output stage of MUL: the full product of its two 32-bit operands is
 * scaled (Vela writes a standalone RESCALE of int32 data as a MUL by the
 * multiplier with OFM_SCALE 1 and the shift, so 62-bit products must scale
 * exactly); natural or truncating rounding. */
int64_t sim_scale_round_product(int64_t p, uint32_t scale, uint32_t shift, uint32_t round_mode) {
  if (shift > 63) shift = 63;
  if (round_mode == SIM_ROUND_TRUNCATE || round_mode == SIM_ROUND_SYMMETRIC) {
    int64_t half = round_mode == SIM_ROUND_SYMMETRIC && shift != 0 ? (int64_t)1 << (shift - 1) : 0;
    int64_t r = mul_shift_wide(p < 0 ? -p : p, scale, shift, half);
    return p < 0 ? -r : r;
  }
  if (round_mode == SIM_ROUND_TRUNCATE_LOWER) return mul_shift_wide(p, scale, shift, 0);
  int64_t round = shift == 0 ? 0 : (int64_t)1 << (shift - 1);
  if (round_mode == SIM_ROUND_DBL && shift > 31) round += p >= 0 ? (1 << 30) : -(1 << 30);
  return mul_shift_wide(p, scale, shift, round < 0 ? 0 : round);
}

int64_t sim_scale_round(int64_t v, uint32_t scale, uint32_t shift, uint32_t round_mode) {
  /* 40-bit accumulators with 32-bit scales; the U85's 48-bit ones come with
   * 15-bit scales (either way the product stays within mul_shift's range). */
  const int64_t limit = ((int64_t)1 << (scale <= 0xffffu ? 48 : 40)) - 1;
  v = v > limit ? limit : v < -limit ? -limit : v;
  if (round_mode == SIM_ROUND_TRUNCATE) {
    int64_t r = mul_shift(v < 0 ? -v : v, scale, shift, 0);
    return v < 0 ? -r : r;
  }
  if (round_mode == SIM_ROUND_TRUNCATE_LOWER) return mul_shift(v, scale, shift, 0);
  if (round_mode == SIM_ROUND_SYMMETRIC) {
    int64_t half = shift == 0 ? 0 : (int64_t)1 << (shift - 1);
    int64_t r = mul_shift(v < 0 ? -v : v, scale, shift, half);
    return v < 0 ? -r : r;
  }
  int64_t round = shift == 0 ? 0 : (int64_t)1 << (shift - 1);
  if (round_mode == SIM_ROUND_DBL && shift > 31) round += v >= 0 ? (1 << 30) : -(1 << 30);
  return mul_shift(v, scale, shift, round);
}

static void type_range(const sim_fmap *f, int64_t *lo, int64_t *hi) {
  int bits = (int)f->elem_size * 8;
  if (f->is_signed) {
    *lo = -((int64_t)1 << (bits - 1));
    *hi = ((int64_t)1 << (bits - 1)) - 1;
  } else {
    *lo = 0;
    *hi = ((int64_t)1 << bits) - 1;
  }
}

/* U85 ACTIVATION: function bits 0-4 (LUT_NONE 0, LUT_U8_U8 1, LUT_S8_S8 4, ...),
 * table bits 5-7, clip range bit 12 (B16: ACTIVATION_MIN/MAX apply; NONE). */
static ethosu_sim_status u85_check_activation(ethosu_sim *sim, const sim_fmap *ofm) {
  uint32_t fn = sim->r.activation & 31;
  SIM_CHECK(sim, fn == 0 || fn == 1 || fn == 4 || fn == 5 || (fn >= 7 && fn <= 11),
            ETHOSU_SIM_ERR_REGISTER_RANGE, "activation function %u", fn);
  if (fn == 8 || fn == 9) { /* LUT_S16_S16/S32: 512 32-bit entries fill the LUT memory */
    uint32_t want = fn == 8 ? 2 : 4;
    SIM_CHECK(sim, ofm->elem_size == want && ((sim->r.activation >> 5) & 7) == 0,
              ETHOSU_SIM_ERR_REGISTER_RANGE, "LUT_S16_S%u with a %u-byte OFM or table %u",
              want * 8, ofm->elem_size, (sim->r.activation >> 5) & 7);
    return ETHOSU_SIM_OK;
  }
  SIM_CHECK(sim, fn <= 4 && (fn == 0 || ofm->elem_size == 1), ETHOSU_SIM_ERR_NOT_IMPLEMENTED,
            "activation function %u (LUTs wider than 8 bits but S16_S16, S16_S32, TANH, SIGMOID)", fn);
  return ETHOSU_SIM_OK;
}

/* LUT_S16_S32 (TOSA's int16 TABLE): the input clamped to int16 picks entry
 * (x + 32768) >> 7, each entry two int16 halves, slope (table[i + 1] -
 * table[i]) high and base (table[i]) low, and interpolates over the low 7
 * bits: (base << 7) + slope * fraction. */
static int64_t u85_lut16(const ethosu_sim *sim, int64_t v) {
  int64_t x = v < -32768 ? -32768 : v > 32767 ? 32767 : v;
  uint32_t u = (uint32_t)(x + 32768), i = u >> 7, frac = u & 127;
  const uint8_t *e = sim->shram + (size_t)i * 4;
  int64_t word = (int32_t)((uint32_t)e[0] | (uint32_t)e[1] << 8 | (uint32_t)e[2] << 16 |
                           (uint32_t)e[3] << 24);
  int64_t base = sim_sext16((uint32_t)word & 0xffffu), slope = sim_sext16((uint32_t)word >> 16);
  return base * 128 + slope * frac;
}

/* LUT_S16_S16: the same table as LUT_S16_S32 with the interpolated value
 * rounded back to int16, (base * 128 + slope * fraction + 64) >> 7. Vela
 * (5.2.0) writes it for a TOSA int16 TABLE whose int32 result goes straight
 * into a RESCALE by exactly 2^-7 (multiplier 2^30, shift 37, SINGLE_ROUND:
 * round half up), the int16 LUT of TFLite; the OFM zero point and the 16-bit
 * ACTIVATION_MIN/MAX apply after that. */
static int64_t u85_lut16_s16(const ethosu_sim *sim, const sim_fmap *ofm, int64_t v) {
  int64_t y = asr64(u85_lut16(sim, v) + 64, 7) + ofm->zero_point;
  int64_t amin = sim_sext16(sim->r.activation_min), amax = sim_sext16(sim->r.activation_max);
  if (((sim->r.activation >> 12) & 1) == 0) y = y < amin ? amin : y > amax ? amax : y;
  return y < -32768 ? -32768 : y > 32767 ? 32767 : y;
}

/* U55/U65 16-bit LUT (TABLE_0 with a 16-bit OFM): the 2 KiB at the top of
 * SHRAM hold 512 32-bit entries, slope (int16) high and base (int16) low, as
 * Vela's create_lut_int16_op packs them; the clamped value's offset from the
 * type's minimum picks entry u >> 7 and the result is base + ((slope * (u &
 * 127) + 64) >> 7), the interpolation of TFLite's int16 LUT reference. Vela
 * lowers TOSA's int16 TABLE (int32 out) to three such LUTs whose slopes are 0
 * or 128, where any rounding of the low 7 bits gives the same result; the +64
 * for other slopes is an assumption. */
static int64_t u55_lut16(const ethosu_sim *sim, uint32_t u) {
  const uint8_t *e = sim->shram + sim->shram_bytes - 2048 + (size_t)(u >> 7) * 4;
  int64_t base = sim_sext16((uint32_t)e[0] | (uint32_t)e[1] << 8);
  int64_t slope = sim_sext16((uint32_t)e[2] | (uint32_t)e[3] << 8);
  return base + asr64(slope * (int64_t)(u & 127) + 64, 7);
}

static int64_t u85_activate(const ethosu_sim *sim, const sim_fmap *ofm, int64_t v) {
  const ethosu_sim_regs *r = &sim->r;
  uint32_t fn = r->activation & 31, table = (r->activation >> 5) & 7;
  bool clip = ((r->activation >> 12) & 1) == 0;
  if (fn == 9) return u85_lut16(sim, v) + ofm->zero_point;
  if (fn == 8) return u85_lut16_s16(sim, ofm, v);
  v += ofm->zero_point;
  int64_t lo, hi;
  type_range(ofm, &lo, &hi);
  if (clip) {
    int64_t amin = ofm->is_signed ? sim_sext16(r->activation_min)
                                  : (int64_t)(r->activation_min & 0xffff);
    int64_t amax = ofm->is_signed ? sim_sext16(r->activation_max)
                                  : (int64_t)(r->activation_max & 0xffff);
    if (v < amin) v = amin;
    if (v > amax) v = amax;
    if (v < lo) v = lo;
    if (v > hi) v = hi;
  } else if (ofm->elem_size < 4) {
    /* Clip range NONE: the OFM keeps the result's low bits (Vela sets it for the
     * logical shifts and bitwise ops, whose TOSA results wrap). */
    uint32_t bits = ofm->elem_size * 8;
    uint64_t low = (uint64_t)v & ((1ull << bits) - 1);
    v = ofm->is_signed && (low >> (bits - 1)) ? (int64_t)low - ((int64_t)1 << bits) : (int64_t)low;
  } else {
    if (v < lo) v = lo;
    if (v > hi) v = hi;
  }
  if (fn != 0) {
    /* 8-bit LUT: 256 entries per table in the 2 KiB LUT memory. */
    uint8_t e = sim->shram[table * 256 + (uint8_t)(v - lo)];
    v = lo < 0 ? (int8_t)e : e;
  }
  return v;
}

ethosu_sim_status sim_check_activation(ethosu_sim *sim, const sim_fmap *ofm) {
  if (sim->product == ETHOSU_SIM_U85) return u85_check_activation(sim, ofm);
  uint32_t fn = sim->r.activation & 31, clip = (sim->r.activation >> 12) & 7;
  SIM_CHECK(sim, clip == 0 || clip == 2 || clip == 3 || clip == 5, ETHOSU_SIM_ERR_REGISTER_RANGE,
            "activation clip range %u", clip);
  if (fn == 0) return ETHOSU_SIM_OK;
  SIM_CHECK(sim, fn >= 16 && fn <= 23, fn == 3 || fn == 4 ? ETHOSU_SIM_ERR_NOT_IMPLEMENTED
                                                          : ETHOSU_SIM_ERR_REGISTER_RANGE,
            "activation function %u (TANH/SIGMOID are for int16)", fn);
  if (clip == 2 || clip == 3 || (clip == 0 && ofm->elem_size == 1)) return ETHOSU_SIM_OK; /* 8-bit */
  SIM_CHECK(sim, ofm->elem_size == 2, ETHOSU_SIM_ERR_NOT_IMPLEMENTED,
            "LUT activation with a %u-byte OFM and clip range %u", ofm->elem_size, clip);
  /* A 16-bit LUT's 512 entries of 4 bytes fill the LUT memory: only table 0. */
  SIM_CHECK(sim, fn == 16, ETHOSU_SIM_ERR_REGISTER_RANGE,
            "16-bit LUT in table %u (its 512 entries fill the 2 KiB LUT memory)", fn - 16);
  return ETHOSU_SIM_OK;
}

int64_t sim_activate(const ethosu_sim *sim, const sim_fmap *ofm, int64_t v) {
  if (sim->product == ETHOSU_SIM_U85) return u85_activate(sim, ofm, v);
  const ethosu_sim_regs *r = &sim->r;
  uint32_t fn = r->activation & 31, clip = (r->activation >> 12) & 7;
  v += ofm->zero_point;
  int64_t lo, hi;
  type_range(ofm, &lo, &hi);
  if (clip == 2) {
    lo = 0, hi = 255;
  } else if (clip == 3) {
    lo = -128, hi = 127;
  } else if (clip == 5) {
    lo = -32768, hi = 32767;
  }
  /* ACTIVATION_MIN/MAX are 16-bit, signed unless the OFM is unsigned. */
  int64_t amin = ofm->is_signed || clip == 3 || clip == 5 ? sim_sext16(r->activation_min)
                                                          : (int64_t)(r->activation_min & 0xffff);
  int64_t amax = ofm->is_signed || clip == 3 || clip == 5 ? sim_sext16(r->activation_max)
                                                          : (int64_t)(r->activation_max & 0xffff);
  /* A 32-bit OFM keeps the full range: Vela's min/max stop at int16. */
  if (ofm->elem_size < 4 || clip != 0) {
    if (v < amin) v = amin;
    if (v > amax) v = amax;
  }
  if (v < lo) v = lo;
  if (v > hi) v = hi;
  if (fn >= 16 && hi - lo > 255) return u55_lut16(sim, (uint32_t)(v - lo));
  if (fn >= 16) {
    /* 8-bit LUT: 256 entries per slot, slots at the top 2 KiB of SHRAM. */
    uint32_t slot = sim->shram_bytes - 2048 + (fn - 16) * 256;
    uint8_t e = sim->shram[slot + (uint8_t)(v - lo)];
    v = lo < 0 ? (int8_t)e : e;
  }
  return v;
}
