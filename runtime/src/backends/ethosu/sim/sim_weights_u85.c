/*
 * The Ethos-U85's weights: the order Vela's EthosU85WeightOrdering puts
 * them in, inverted. The registers name everything it depends on:
 *   traversal: DEPTHWISE op, else KERNEL_STRIDE weight_order (depth first
 *     or part kernel first);
 *   OFM block depth: OFM_BLK_DEPTH_M1 + 1; OFM microblock depth: the
 *     ACC_FORMAT microblock's area into MACs / 8;
 *   IFM block depth (not a register; Vela's fixed choice): 16 for part
 *     kernel first, 32 for 32-bit IFMs or a 16-deep microblock on 128/256
 *     MACs, else 64;
 *   2:4 sparse streams (WEIGHT_FORMAT sparsity) keep every weight, in
 *     16-deep IFM slices, IFM blocks of 128 (depth first, int8) and kernels
 *     padded to 10 elements;
 *   streams: one per core (U85-512 two, U85-1024/2048 four), stream s
 *     holding the OFM channels 4s..4s+3 of every 4*streams.
 * Loops, outermost first: OFM blocks; IFM blocks (the direction alternates
 * with each OFM block); sub-kernels of 8/dilation, X outer; IFM microblocks
 * of the IFM microblock depth (the IFM block for depth first and int8 part
 * kernel, 1 for depthwise); OFM microblocks; the stride phases (not for depth
 * first) and the kernel elements of each phase, rows in serpentine order;
 * 8-deep IFM slices (1 for depthwise); OFM channels, 4 at a time, and the
 * IFM slice. Each sub-kernel's elements are padded to a multiple of 5 (part
 * kernel int8), 10 (depthwise, part kernel int16) or 1 with zero weights;
 * depthwise streams on wide NPUs pad 2 or 6 more elements per 10.
 */
#include "backends/ethosu/sim/sim_internal.h"

typedef struct u85_order {
  int od, id, kh, kw;
  int obd, ibd, oubd, iubd, streams, stream;
  int stride_x, stride_y, dec_x, dec_y, round, dw_pad;
  bool depthwise, sparse;
} u85_order;

/* A stream's values in decoded order; with FWD on several cores the
 * streams are interleaved in blocks of `block` values (stream 0's first
 * block, stream 1's, ..., stream 0's second). */
typedef struct cursor {
  const int16_t *v;
  int64_t n, pos; /* n: values in the decoded buffer; pos: this stream's count */
  int64_t block, streams, stream;
} cursor;

static int64_t at(const cursor *c, int64_t i) {
  if (c->block == 0) return i;
  return i / c->block * c->block * c->streams + c->stream * c->block + i % c->block;
}

static bool next(cursor *c, int16_t *v) {
  int64_t i = at(c, c->pos);
  if (i >= c->n) return false;
  *v = c->v[i];
  c->pos++;
  return true;
}

static bool skip(cursor *c, int64_t count) {
  if (count > 0 && at(c, c->pos + count - 1) >= c->n) return false;
  c->pos += count;
  return true;
}

/* Places one stream's values; false when the stream is short. */
static bool unorder_u85(const u85_order *o, sim_kernel *k, cursor *c) {
  int inc = -o->ibd, saved_ib = 0;
  const int id_lim = o->depthwise ? 1 : o->id;
  for (int ob = 0; ob < o->od; ob += o->obd) {
    inc = -inc;
    int cob = o->obd < o->od - ob ? o->obd : o->od - ob;
    for (int ib = saved_ib; ib < id_lim && ib >= 0; ib += inc) {
      saved_ib = ib;
      int cib = o->ibd < o->id - ib ? o->ibd : o->id - ib;
      for (int skx = 0; skx < o->kw; skx += o->dec_x) {
        int sw = o->dec_x < o->kw - skx ? o->dec_x : o->kw - skx;
        for (int sky = 0; sky < o->kh; sky += o->dec_y) {
          int sh = o->dec_y < o->kh - sky ? o->dec_y : o->kh - sky;
          int outer = o->depthwise ? 1 : cib;
          for (int iuo = 0; iuo < outer; iuo += o->iubd) {
            for (int ouo = 0; ouo < cob; ouo += o->oubd) {
              int remaining = (sw * sh + o->round - 1) / o->round * o->round;
              for (int sty = 0; sty < o->stride_y; sty++) {
                int skh = (sh + o->stride_y - 1 - sty) / o->stride_y;
                for (int stx = 0; stx < o->stride_x; stx++) {
                  int skw = (sw + o->stride_x - 1 - stx) / o->stride_x;
                  for (int ky = 0; ky < skh; ky++) {
                    for (int kx0 = 0; kx0 < skw; kx0++) {
                      int x = ky % 2 == 0 ? kx0 : skw - 1 - kx0;
                      int wx = skx + stx + x * o->stride_x, wy = sky + sty + ky * o->stride_y;
                      remaining--;
                      int step = o->depthwise ? 1 : o->sparse ? 16 : 8;
                      for (int iui = 0; iui < o->iubd; iui += step) {
                        for (int ouz = o->stream * 4; ouz < o->oubd; ouz += 4 * o->streams) {
                          for (int oui = 0; oui < 4; oui++) {
                            for (int iz = 0; iz < step; iz++) {
                              int16_t val;
                              if (!next(c, &val)) return false;
                              int i = ib + iuo + iui + iz, oc = ob + ouo + oui + ouz;
                              int ki = o->depthwise ? 0 : i;
                              if ((o->depthwise ? i == 0 : i < o->id) && oc < o->od) {
                                size_t at = (((size_t)oc * (size_t)o->kh + (size_t)wy) *
                                                 (size_t)o->kw + (size_t)wx) *
                                                (size_t)(o->depthwise ? 1 : o->id) +
                                            (size_t)ki;
                                k->w[at] = val;
                              }
                            }
                          }
                        }
                      }
                      if (o->depthwise && remaining % o->round == 0 &&
                          !skip(c, (int64_t)o->dw_pad * o->oubd / o->streams)) {
                        return false;
                      }
                    }
                  }
                }
              }
              if (remaining > 0) {
                int64_t pad = (int64_t)(remaining + (o->depthwise ? o->dw_pad : 0)) * o->iubd *
                              o->oubd / o->streams;
                if (!skip(c, pad)) return false;
              }
            }
          }
        }
      }
    }
  }
  return true;
}

static int u85_cores(uint32_t macs) { return macs == 512 ? 2 : macs >= 1024 ? 4 : 1; }

ethosu_sim_status sim_u85_weights_decode(ethosu_sim *sim, sim_kernel *k, bool depthwise,
                                         uint32_t ifm_bits) {
  const ethosu_sim_regs *r = &sim->r;
  bool fwd = (r->weight_format & 1) != 0, sparse = ((r->weight_format >> 4) & 1) != 0;
  bool part_kernel = !depthwise && ((r->kernel_stride >> 2) & 1) != 0;
  u85_order o;
  o.od = (int)k->ofm_depth;
  o.id = depthwise ? 1 : (int)k->ifm_depth;
  o.kh = (int)k->kh;
  o.kw = (int)k->kw;
  o.obd = (int)r->ofm_blk_depth_m1 + 1;
  o.oubd = (int)sim_u85_ofm_ublock_depth(sim);
  o.depthwise = depthwise;
  o.sparse = sparse;
  SIM_CHECK(sim, !sparse || !depthwise, ETHOSU_SIM_ERR_REGISTER_RANGE,
            "2:4 sparse weights for a depthwise convolution");
  o.ibd = part_kernel                                                      ? 16
          : ifm_bits == 32 || (sim->macs <= 256 && o.oubd == 16 && !sparse) ? 32
          : sparse && ifm_bits == 8                                        ? 128
                                                                           : 64;
  o.iubd = depthwise ? 1 : part_kernel && ifm_bits == 16 && !sparse ? 8 : o.ibd;
  o.round = depthwise ? 10 : part_kernel ? (ifm_bits == 16 || sparse ? 10 : 5) : 1;
  o.stride_x = part_kernel || depthwise ? (int)k->stride_x : 1;
  o.stride_y = part_kernel || depthwise ? (int)k->stride_y : 1;
  o.dec_x = 8 / (int)k->dil_x;
  o.dec_y = 8 / (int)k->dil_y;
  o.dw_pad = ifm_bits != 16 && sim->macs <= 256 ? 0 : sim->macs <= 512 ? 2 : 6;
  o.streams = u85_cores(sim->macs);
  SIM_CHECK(sim, o.oubd >= 4 && o.oubd % (4 * o.streams) == 0, ETHOSU_SIM_ERR_REGISTER_RANGE,
            "microblock depth %d for %d weight streams", o.oubd, o.streams);
  /* FWD: one stream, the cores' orders interleaved in blocks (Vela's
   * EthosU85WeightOrderingFwd): a microblock's kernel-round of values each. */
  int cores = u85_cores(sim->macs);
  int64_t fwd_block = fwd && cores > 1 ? (int64_t)o.oubd * o.iubd * o.round / cores : 0;

  size_t dense = (size_t)k->ofm_depth * k->kh * k->kw * (size_t)o.id;
  sim_weight_work ww = {NULL, NULL, 0, NULL, 0};
  SIM_TRY(sim_weight_work_setup(sim, dense, &ww));
  int16_t *w = ww.dense, *decoded = ww.decoded;
  size_t cap = ww.cap;
  k->w = w;
  int64_t n = 0;
  for (int s = 0; s < o.streams; s++) {
    if (fwd && s > 0) {
      o.stream = s;
      cursor c = {decoded, n, 0, fwd_block, cores, s};
      SIM_CHECK(sim, unorder_u85(&o, k, &c), ETHOSU_SIM_ERR_WEIGHT_STREAM,
                "FWD core %d: %lld weights decoded, the op's %ux%ux%ux%d kernel needs more", s,
                (long long)n, k->ofm_depth, k->kh, k->kw, o.id);
      continue;
    }
    uint64_t base = s == 0 ? r->weight_base : r->weightn_base[s - 1];
    uint64_t length = s == 0 ? r->weight_length : r->weightn_length[s - 1];
    SIM_CHECK(sim, length > 0, ETHOSU_SIM_ERR_WEIGHT_STREAM, "weight stream %d: length 0", s);
    uint8_t *stream;
    SIM_TRY(sim_region_span(sim, r->weight_region, base, length, "weight stream", &stream));
    sim->cur.bytes_read[r->weight_region] += length;
    const char *why;
    n = fwd ? sim_fwd_decode(stream, length, decoded, cap, &why)
                    : sim_mlw_decode(stream, length, decoded, cap, ww.tmp, ww.tmp_cap, &why);
    size_t enough = ethosu_sim_work_size(k->ofm_depth, k->kh, k->kw, (uint32_t)o.id);
    SIM_CHECK(sim, n != -2 || sim->work_size >= enough, ETHOSU_SIM_ERR_WORKSPACE,
              "%zu bytes of work buffer; the op's %ux%ux%ux%d kernel may need up to %zu",
              sim->work_size, k->ofm_depth, k->kh, k->kw, o.id, enough);
    SIM_CHECK(sim, n >= 0, ETHOSU_SIM_ERR_WEIGHT_STREAM, "%s: %s", fwd ? "FWD" : "MLW", why);
    o.stream = s;
    cursor c = {decoded, n, 0, fwd_block, cores, 0};
    SIM_CHECK(sim, unorder_u85(&o, k, &c), ETHOSU_SIM_ERR_WEIGHT_STREAM,
              "stream %d: %lld weights decoded, the op's %ux%ux%ux%d kernel needs more", s,
              (long long)n, k->ofm_depth, k->kh, k->kw, o.id);
  }
  return ETHOSU_SIM_OK;
}
