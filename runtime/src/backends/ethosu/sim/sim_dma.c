/*
 * NPU_OP_DMA_START: a linear copy of DMA0_LEN bytes from DMA0_SRC to
 * DMA0_DST. Either side is a region (external) or, for the destination, the
 * NPU's SHRAM (internal), which is how Vela loads LUTs.
 * DMA0_*_REGION: region bits 0-2, internal bit 8, stride mode bits 9-10 (of
 * the source register), idx_mode bit 11 (U85).
 *
 * The U85 adds 2-D (D2: DMA0_SIZE0 rows of LEN bytes, DMA0_SRC/DST_STRIDE0
 * apart) and 3-D (D3: DMA0_SIZE1 planes of those, STRIDE1 apart) transfers,
 * and indexed ones, which Vela writes for TOSA GATHER: on the indexed side
 * the row number i of plane j is replaced by the next entry of an index
 * array in DMA0_IDX_REGION at DMA0_IDX, little-endian int32 (TOSA's index
 * type, read where Vela leaves it), n0 per plane with DMA0_IDX_SKIP1 bytes
 * skipped after each plane's. An index outside [0, DMA0_IDX_MAX] is refused
 * (TOSA forbids it; what the hardware does then is not documented).
 */
#include <string.h>

#include "backends/ethosu/sim/sim_internal.h"

static ethosu_sim_status dma_linear(ethosu_sim *sim) {
  const ethosu_sim_regs *r = &sim->r;
  uint32_t src_region = r->dma_src_region & 7, dst_region = r->dma_dst_region & 7;
  bool src_internal = (r->dma_src_region >> 8) & 1, dst_internal = (r->dma_dst_region >> 8) & 1;
  SIM_CHECK(sim, !src_internal, ETHOSU_SIM_ERR_REGISTER_RANGE, "DMA from SHRAM");
  uint64_t len = r->dma_len;
  uint8_t *src, *dst;
  SIM_TRY(sim_region_span(sim, src_region, r->dma_src, len, "DMA source", &src));
  if (dst_internal) {
    SIM_CHECK(sim, r->dma_dst <= sim->shram_bytes && len <= sim->shram_bytes - r->dma_dst,
              ETHOSU_SIM_ERR_REGION_ACCESS, "DMA to SHRAM bytes [%llu, +%llu) (%u bytes)",
              (unsigned long long)r->dma_dst, (unsigned long long)len, sim->shram_bytes);
    dst = sim->shram + r->dma_dst;
  } else {
    SIM_TRY(sim_region_span(sim, dst_region, r->dma_dst, len, "DMA destination", &dst));
    sim->cur.bytes_written[dst_region] += len;
  }
  sim->cur.bytes_read[src_region] += len;
  memmove(dst, src, (size_t)len);
  return ETHOSU_SIM_OK;
}

/* The U85's row and plane counts (1 and 1 for a linear transfer). */
static void dma_counts(const ethosu_sim_regs *r, uint32_t *n0, uint32_t *n1) {
  uint32_t mode = (r->dma_src_region >> 9) & 3;
  *n0 = mode >= 1 ? r->dma_size0 : 1;
  *n1 = mode == 2 ? r->dma_size1 : 1;
}

uint64_t sim_dma_bytes(const ethosu_sim *sim) {
  uint32_t n0 = 1, n1 = 1;
  if (sim->product == ETHOSU_SIM_U85) dma_counts(&sim->r, &n0, &n1);
  uint64_t rows = (uint64_t)n0 * n1;
  return sim->r.dma_len > UINT64_MAX / (rows ? rows : 1) ? UINT64_MAX : sim->r.dma_len * rows;
}

/* base + a * sa + b * sb, or false when a product passes 2^62 (no region is
 * that large, so the caller reports the access as outside its region). */
static bool row_address(uint64_t base, uint64_t a, uint64_t sa, uint64_t b, uint64_t sb,
                        uint64_t *out) {
  const uint64_t lim = (uint64_t)1 << 62;
  if ((sa != 0 && a > lim / sa) || (sb != 0 && b > lim / sb)) return false;
  *out = base + a * sa + b * sb;
  return true;
}

static ethosu_sim_status dma_u85_strided(ethosu_sim *sim) {
  const ethosu_sim_regs *r = &sim->r;
  uint32_t mode = (r->dma_src_region >> 9) & 3;
  bool src_idx = (r->dma_src_region >> 11) & 1, dst_idx = (r->dma_dst_region >> 11) & 1;
  SIM_CHECK(sim, mode <= 2, ETHOSU_SIM_ERR_REGISTER_RANGE, "DMA stride mode %u", mode);
  SIM_CHECK(sim, !(src_idx && dst_idx), ETHOSU_SIM_ERR_REGISTER_RANGE,
            "a DMA indexed on both sides");
  SIM_CHECK(sim, ((r->dma_src_region | r->dma_dst_region) >> 8 & 1) == 0,
            ETHOSU_SIM_ERR_NOT_IMPLEMENTED, "a 2-D/3-D or indexed DMA with the LUT memory");
  uint32_t n0, n1;
  dma_counts(r, &n0, &n1);
  SIM_CHECK(sim, n0 >= 1 && n1 >= 1, ETHOSU_SIM_ERR_REGISTER_RANGE, "DMA0_SIZE0 %u, SIZE1 %u",
            n0, n1);
  uint32_t src_region = r->dma_src_region & 7, dst_region = r->dma_dst_region & 7;
  uint64_t len = r->dma_len, idx_row = (uint64_t)n0 * 4 + r->dma_idx_skip1;
  uint8_t *idx = NULL;
  if (src_idx || dst_idx) {
    SIM_CHECK(sim, r->dma_idx_skip1 < ((uint64_t)1 << 40), ETHOSU_SIM_ERR_REGISTER_RANGE,
              "DMA0_IDX_SKIP1 %llu", (unsigned long long)r->dma_idx_skip1);
    SIM_TRY(sim_region_span(sim, r->dma_idx_region, r->dma_idx,
                            (uint64_t)(n1 - 1) * idx_row + (uint64_t)n0 * 4, "DMA index array",
                            &idx));
    sim->cur.bytes_read[r->dma_idx_region] += (uint64_t)n0 * n1 * 4;
  }
  for (uint32_t j = 0; j < n1; j++) {
    for (uint32_t i = 0; i < n0; i++) {
      uint64_t row = i;
      if (idx != NULL) {
        const uint8_t *e = idx + j * idx_row + (uint64_t)i * 4;
        int32_t k = (int32_t)((uint32_t)e[0] | (uint32_t)e[1] << 8 | (uint32_t)e[2] << 16 |
                              (uint32_t)e[3] << 24);
        SIM_CHECK(sim, k >= 0 && (uint32_t)k <= r->dma_idx_max, ETHOSU_SIM_ERR_REGION_ACCESS,
                  "DMA index %d (plane %u, row %u) outside [0, DMA0_IDX_MAX %u]", (int)k, j, i,
                  r->dma_idx_max);
        row = (uint64_t)k;
      }
      uint64_t s, d;
      uint8_t *src, *dst;
      bool ok = row_address(r->dma_src, src_idx ? row : i, r->dma_src_stride[0], j,
                            r->dma_src_stride[1], &s) &&
                row_address(r->dma_dst, dst_idx ? row : i, r->dma_dst_stride[0], j,
                            r->dma_dst_stride[1], &d);
      SIM_CHECK(sim, ok, ETHOSU_SIM_ERR_REGION_ACCESS, "DMA row %u of plane %u past 2^62", i, j);
      SIM_TRY(sim_region_span(sim, src_region, s, len, "DMA source", &src));
      SIM_TRY(sim_region_span(sim, dst_region, d, len, "DMA destination", &dst));
      memmove(dst, src, (size_t)len);
      sim->cur.bytes_read[src_region] += len;
      sim->cur.bytes_written[dst_region] += len;
    }
  }
  return ETHOSU_SIM_OK;
}

ethosu_sim_status sim_op_dma(ethosu_sim *sim) {
  const ethosu_sim_regs *r = &sim->r;
  bool strided = ((r->dma_src_region | r->dma_dst_region) >> 9 & 3) != 0;
  if (sim->product == ETHOSU_SIM_U85) {
    bool indexed = ((r->dma_src_region | r->dma_dst_region) >> 11 & 1) != 0;
    if (((r->dma_src_region >> 9) & 3) != 0 || indexed) return dma_u85_strided(sim);
    strided = false; /* the destination register has no stride mode on the U85 */
  }
  SIM_CHECK(sim, !strided, ETHOSU_SIM_ERR_NOT_IMPLEMENTED, "2-D/3-D DMA stride modes (U55/U65)");
  return dma_linear(sim);
}
