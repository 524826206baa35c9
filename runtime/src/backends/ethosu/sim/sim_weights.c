/*
 * Weights: the MLW stream decoder and the inverse of Vela's weight ordering.
 *
 * MLW (Arm's lossless weight compression, format as Vela's mlw_codec reads
 * it): a sequence of slices, bits read LSB first. A slice header gives the
 * zero-run divisor (3 bits; 6 = no zero runs, 7 = end of stream: byte
 * align, then a new slice or the end), the number of values (15 bits + 1),
 * the weight divisor (3 bits; 7 = uncompressed), a truncation flag, and an
 * optional new palette (direct offset 5 bits, size 5 bits, entry bits 3 bits
 * + 2, entries). Values are Golomb-Rice codes sent in chunks: a 12-bit unary
 * map for the weights (and 12 or 8 bits for the zero runs) and the remainders
 * of the previous chunk. A weight index below the palette size is a palette
 * entry, else index - size + offset; the value is sign-magnitude (bit 0 the
 * sign). After each weight come its run of zeros.
 *
 * Ordering (Vela's EthosUWeightOrdering): the stream visits OFM blocks
 * (OFM_BLK_DEPTH deep), IFM blocks (16 deep for part-kernel-first or 16-bit
 * IFM, else 32), 8x8 sub-kernels (8/dilation), then IFM u-blocks, OFM
 * u-blocks, kernel elements (padded to 4 for depthwise and part-kernel int8,
 * 2 for part-kernel int16) and the u-block elements, in an order that depends
 * on the traversal; positions outside the kernel are zeros. The simulator
 * walks the same loops to put each decoded value back at (o, ky, kx, i).
 */
#include <string.h>

#include "backends/ethosu/sim/sim_internal.h"

typedef struct bits {
  const uint8_t *buf;
  size_t size; /* bytes */
  size_t pos;  /* next bit */
  bool overrun;
} bits;

static uint32_t get_bits(bits *b, uint32_t n) {
  uint32_t v = 0;
  for (uint32_t i = 0; i < n; i++, b->pos++) {
    size_t byte = b->pos >> 3;
    if (byte >= b->size) {
      b->overrun = true;
      return 0;
    }
    v |= (uint32_t)((b->buf[byte] >> (b->pos & 7)) & 1u) << i;
  }
  return v;
}

enum { ZDIV_NO_RUNS = 6, ZDIV_END = 7, WDIV_RAW = 7 };

/* Golomb-Rice quotients of one chunk: a unary bit map, carried across chunks. */
typedef struct rice {
  int32_t q[12];
  int n;
  int carry;
} rice;

int64_t sim_mlw_decode(const uint8_t *in, size_t in_size, int16_t *out, size_t cap,
                       int32_t *tmp, size_t tmp_cap, const char **why) {
  bits b = {in, in_size, 0, false};
  size_t k = 0;
  bool need_palette = true;
  int prev_runs = -1;
  int16_t palette[32];
  int palsize = 0, palbits = 0, direct_offset = 0;
  *why = "";
  for (;;) {
    uint32_t zdiv = get_bits(&b, 3);
    while (zdiv == ZDIV_END && !b.overrun) {
      b.pos = (b.pos + 7) & ~(size_t)7;
      need_palette = true;
      if (b.pos / 8 >= in_size) return (int64_t)k;
      zdiv = get_bits(&b, 3);
    }
    if (b.overrun || b.pos / 8 >= in_size) return (int64_t)k;
    if (zdiv >= 4 && zdiv != ZDIV_NO_RUNS) return *why = "bad zero-run divisor", -1;
    bool runs = zdiv != ZDIV_NO_RUNS;
    int nvalues = (int)get_bits(&b, 15) + 1;
    uint32_t wdiv = get_bits(&b, 3), wtrunc = get_bits(&b, 1), new_palette = get_bits(&b, 1);
    if (need_palette && !new_palette) return *why = "a slice without its palette", -1;
    if (!new_palette && prev_runs != (int)runs) return *why = "zero-run mode changed", -1;
    need_palette = false;
    prev_runs = runs;
    if (new_palette) {
      direct_offset = (int)get_bits(&b, 5);
      palsize = (int)get_bits(&b, 5);
      if (palsize > 0) palsize++;
      palbits = (int)get_bits(&b, 3) + 2;
      for (int i = 0; i < palsize; i++) palette[i] = (int16_t)get_bits(&b, (uint32_t)palbits);
    }
    bool raw = wdiv == WDIV_RAW;
    if (raw) {
      int n = 0;
      if (palsize > 0) {
        while ((1 << n) < palsize) n++;
      } else {
        n = palbits;
      }
      wdiv = (uint32_t)n;
    } else if (wdiv >= 6) {
      return *why = "bad weight divisor", -1;
    }
    int z_n = nvalues + (new_palette ? 1 : 0);
    if ((size_t)nvalues + (size_t)z_n > tmp_cap) return *why = "slice larger than the work buffer", -1;
    int32_t *wv = tmp, *zv = tmp + nvalues;
    int w_pos = 0, z_pos = 0, w_done = 0, z_done = 0;
    rice w = {{0}, 0, 0}, z = {{0}, 0, 0}, w_prev = w, z_prev = z;
    bool w_prev_on = false, z_prev_on = false;
    int z_len = zdiv < 3 ? 12 : 8, total_zeros = 0;
    do {
      /* Flow control keeps the weights at most 8 values ahead of the runs. */
      int balance = runs ? w_pos - z_pos : 0;
      bool w_on = (balance < 8 || !runs) && w_pos < nvalues;
      bool z_on = balance >= 0 && runs && z_pos < z_n;
      uint32_t w_unary0 = 0;
      if (w_on && !raw) w_unary0 = get_bits(&b, 12);
      if (z_on) {
        uint32_t u = get_bits(&b, (uint32_t)z_len);
        int cnt = z.carry;
        z.n = 0;
        for (int i = 0; i < z_len; i++) {
          if (u & (1u << i)) {
            cnt++;
          } else {
            z.q[z.n++] = cnt;
            cnt = 0;
          }
        }
        z.carry = cnt;
        z_pos += z.n;
      }
      if (w_on) {
        int max_symbols = raw && wdiv > 5 ? 8 : 12, ones = 0;
        for (int i = 0; i < max_symbols; i++) ones += (w_unary0 >> i) & 1u;
        uint32_t w_unary1 = get_bits(&b, (uint32_t)ones);
        int cnt = w.carry;
        w.n = 0;
        for (int i = 0; i < max_symbols; i++) {
          int code = 0;
          if (w_unary0 & (1u << i)) {
            code = 1 + (int)(w_unary1 & 1u);
            w_unary1 >>= 1;
          }
          cnt += code;
          if (code < 2 || wtrunc) {
            w.q[w.n++] = cnt;
            cnt = 0;
          }
        }
        w.carry = cnt;
        w_pos += w.n;
      }
      if (w_prev_on) {
        for (int i = 0; i < w_prev.n && w_done < nvalues; i++, w_done++) {
          wv[w_done] = (w_prev.q[i] << wdiv) + (int32_t)get_bits(&b, wdiv);
        }
      }
      if (z_prev_on) {
        for (int i = 0; i < z_prev.n && z_done < z_n; i++, z_done++) {
          zv[z_done] = (z_prev.q[i] << zdiv) + (int32_t)get_bits(&b, zdiv);
          total_zeros += zv[z_done];
        }
      }
      if (b.overrun) return *why = "the stream ends inside a slice", -1;
      if (total_zeros > 0x1000000) return *why = "zero runs too long", -1;
      w_prev_on = w_on;
      w_prev = w;
      z_prev_on = z_on;
      z_prev = z;
    } while (w_prev_on || z_prev_on);
    if (w_done < nvalues || (runs && z_done < z_n)) return *why = "slice values missing", -1;
    /* -2: past the room the work buffer gives (sim_weights_decode tells a small
     * buffer from a stream longer than any the op could have). */
    if (k + (size_t)nvalues + (size_t)total_zeros > cap) return *why = "more weights than the op has", -2;
    if (new_palette && runs) {
      for (int j = 0; j < zv[0]; j++) out[k++] = 0;
    }
    for (int i = 0; i < nvalues; i++) {
      if (wv[i] >= 512) return *why = "a weight index beyond 9 bits", -1;
      int v = wv[i] < palsize ? palette[wv[i]] : wv[i] - palsize + direct_offset;
      out[k++] = (int16_t)((v & 1) ? -(v >> 1) : (v >> 1));
      if (runs) {
        for (int j = 0; j < zv[i + (new_palette ? 1 : 0)]; j++) out[k++] = 0;
      }
    }
  }
}

ethosu_sim_status sim_kernel_geometry(ethosu_sim *sim, sim_kernel *k) {
  uint32_t st = sim->r.kernel_stride;
  /* stride = 1 + (lsb | msb << 1); dilation bits 3/4; KERNEL_*_M1 is the dilated extent. */
  k->stride_x = 1 + ((st & 1) | ((st >> 6) & 1) << 1);
  k->stride_y = 1 + (((st >> 1) & 1) | ((st >> 9) & 1) << 1);
  k->dil_x = 1 + ((st >> 3) & 1);
  k->dil_y = 1 + ((st >> 4) & 1);
  SIM_CHECK(sim, sim->r.kernel_width_m1 % k->dil_x == 0 && sim->r.kernel_height_m1 % k->dil_y == 0,
            ETHOSU_SIM_ERR_REGISTER_RANGE, "dilated kernel %ux%u is not a multiple of dilation",
            sim->r.kernel_height_m1 + 1, sim->r.kernel_width_m1 + 1);
  k->kw = sim->r.kernel_width_m1 / k->dil_x + 1;
  k->kh = sim->r.kernel_height_m1 / k->dil_y + 1;
  return ETHOSU_SIM_OK;
}

/* Puts stream values back at their kernel positions (the encoder's loops).
 * With `cores` cores, the stream is core `core`'s: OFM channels core,
 * core + cores, ... in blocks of its share of the OFM block depth. */
static void unorder(const ethosu_sim *sim, sim_kernel *k, const int16_t *v, int64_t n,
                    bool depthwise, bool part_kernel, uint32_t ifm_bits, uint32_t core,
                    uint32_t cores, int64_t *used) {
  const int ofm_ub = sim->product == ETHOSU_SIM_U55 && sim->macs == 32 ? 4 : 8, ifm_ub = 8;
  const int od = (int)((k->ofm_depth + cores - 1 - core) / cores);
  const int id = depthwise ? 1 : (int)k->ifm_depth;
  const int kh = (int)k->kh, kw = (int)k->kw;
  const int obd = (int)((sim->r.ofm_blk_depth_m1 + 1 + cores - 1 - core) / cores);
  const int ibd = part_kernel || ifm_bits == 16 ? 16 : 32;
  const int dec_x = 8 / (int)k->dil_x, dec_y = 8 / (int)k->dil_y;
  const int round = depthwise ? 4 : part_kernel ? (ifm_bits == 16 ? 2 : 4) : 1;
  int64_t pos = 0;
  for (int ob = 0; ob < od; ob += obd) {
    int ob_n = obd < od - ob ? obd : od - ob;
    for (int ib = 0; ib < (depthwise ? 1 : id); ib += ibd) {
      int ib_n = depthwise ? ifm_ub : part_kernel ? (ibd < id - ib ? ibd : id - ib) : ibd;
      for (int sy = 0; sy < kh; sy += dec_y) {
        int sh = dec_y < kh - sy ? dec_y : kh - sy;
        for (int sx = 0; sx < kw; sx += dec_x) {
          int sw = dec_x < kw - sx ? dec_x : kw - sx;
          int elements = (sw * sh + round - 1) / round * round;
          int outer = part_kernel ? ib_n : 1, inner = part_kernel ? 1 : ib_n;
          for (int iuo = 0; iuo < outer; iuo += ifm_ub) {
            for (int oub = 0; oub < ob_n; oub += ofm_ub) {
              for (int e = 0; e < elements; e++) {
                int kx = e % sw, ky = e / sw;
                for (int iui = 0; iui < inner; iui += ifm_ub) {
                  for (int oz = 0; oz < ofm_ub; oz++) {
                    for (int iz = 0; iz < (depthwise ? 1 : ifm_ub); iz++) {
                      int i = ib + iui + iuo + iz, o = ob + oub + oz;
                      if (pos >= n) {
                        *used = -1; /* the stream is short */
                        return;
                      }
                      int16_t val = v[pos++];
                      if (i < id && o < od && ky < sh) {
                        size_t oc = (size_t)o * cores + core;
                        size_t at = ((oc * k->kh + (size_t)(sy + ky)) * k->kw +
                                     (size_t)(sx + kx)) * (size_t)id + (size_t)i;
                        k->w[at] = val;
                      }
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
  }
  *used = pos;
}

ethosu_sim_status sim_weight_work_setup(ethosu_sim *sim, size_t dense, sim_weight_work *ww) {
  /* Work buffer: [dense kernel | decoded stream ... | slice temporaries]. */
  /* Below the U85's chaining buffer, if an op holds one. */
  size_t work_elems = (sim->work_size - sim->chain_bytes) / sizeof(int16_t);
  size_t tmp_elems = 2 * 32769;
  SIM_CHECK(sim, work_elems > dense + 2 * tmp_elems + 2, ETHOSU_SIM_ERR_WORKSPACE,
            "%zu bytes of work buffer, the op needs more than %zu", sim->work_size,
            (dense + 2 * tmp_elems) * sizeof(int16_t));
  int16_t *w = sim->work;
  ww->dense = w;
  ww->decoded = w + dense;
  ww->cap = work_elems - dense - 2 * tmp_elems - 2;
  /* int32 temporaries at an even int16 index: 4-byte aligned (work is 8-aligned). */
  ww->tmp = (int32_t *)(void *)(w + ((dense + ww->cap + 1) & ~(size_t)1));
  ww->tmp_cap = tmp_elems - 1;
  memset(w, 0, dense * sizeof *w);
  return ETHOSU_SIM_OK;
}

/* Decodes core `core`'s stream (`base`, `length`) into the dense kernel. */
static ethosu_sim_status decode_core(ethosu_sim *sim, sim_kernel *k, const sim_weight_work *ww,
                                     bool depthwise, uint32_t ifm_bits, uint32_t core,
                                     uint32_t cores) {
  const ethosu_sim_regs *r = &sim->r;
  uint64_t base = core == 0 ? r->weight_base : r->weight1_base;
  uint64_t length = core == 0 ? r->weight_length : r->weight1_length;
  const char *reg = core == 0 ? "WEIGHT" : "WEIGHT1";
  uint32_t id = depthwise ? 1 : k->ifm_depth;
  SIM_CHECK(sim, length > 0, ETHOSU_SIM_ERR_WEIGHT_STREAM,
            "%s_LENGTH is 0, core %u has OFM channels", reg, core);
  uint8_t *stream;
  SIM_TRY(sim_region_span(sim, r->weight_region, base, length,
                          core == 0 ? "weight stream" : "core 1 weight stream", &stream));
  sim->cur.bytes_read[r->weight_region] += length;
  const char *why;
  int64_t n = sim_mlw_decode(stream, length, ww->decoded, ww->cap, ww->tmp, ww->tmp_cap, &why);
  size_t enough = ethosu_sim_work_size(k->ofm_depth, k->kh, k->kw, id);
  SIM_CHECK(sim, n != -2 || sim->work_size >= enough, ETHOSU_SIM_ERR_WORKSPACE,
            "%zu bytes of work buffer; the op's %ux%ux%ux%u kernel may need up to %zu",
            sim->work_size, k->ofm_depth, k->kh, k->kw, id, enough);
  SIM_CHECK(sim, n >= 0, ETHOSU_SIM_ERR_WEIGHT_STREAM, "MLW (core %u): %s", core, why);
  int64_t used;
  unorder(sim, k, ww->decoded, n, depthwise, ((r->kernel_stride >> 2) & 1) != 0 && !depthwise,
          ifm_bits, core, cores, &used);
  SIM_CHECK(sim, used >= 0, ETHOSU_SIM_ERR_WEIGHT_STREAM,
            "%lld weights decoded from %s, the op's %ux%ux%ux%u kernel needs more",
            (long long)n, reg, k->ofm_depth, k->kh, k->kw, id);
  return ETHOSU_SIM_OK;
}

ethosu_sim_status sim_weights_decode(ethosu_sim *sim, sim_kernel *k, bool depthwise,
                                     uint32_t ifm_bits) {
  uint32_t id = depthwise ? 1 : k->ifm_depth;
  size_t dense = (size_t)k->ofm_depth * k->kh * k->kw * id;
  sim_weight_work ww = {NULL, NULL, 0, NULL, 0};
  SIM_TRY(sim_weight_work_setup(sim, dense, &ww));
  k->w = ww.dense;
  /* U65-512 (PARALLEL_MODE 1): each core has its own stream of its channels,
   * compressed separately; a core with no channel has none (Vela: length 0). */
  uint32_t cores = sim_ofm_cores(sim);
  for (uint32_t core = 0; core < cores && core < k->ofm_depth; core++) {
    SIM_TRY(decode_core(sim, k, &ww, depthwise, ifm_bits, core, cores));
  }
  return ETHOSU_SIM_OK;
}
