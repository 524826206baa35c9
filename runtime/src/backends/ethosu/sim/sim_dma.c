/*
 * NPU_OP_DMA_START: a linear copy of DMA0_LEN bytes from DMA0_SRC to
 * DMA0_DST. Either side is a region (external) or, for the destination, the
 * NPU's SHRAM (internal), which is how Vela loads LUTs.
 * DMA0_*_REGION: region bits 0-2, internal bit 8, stride mode bits 9-10.
 */
#include <string.h>

#include "backends/ethosu/sim/sim_internal.h"

ethosu_sim_status sim_op_dma(ethosu_sim *sim) {
  const ethosu_sim_regs *r = &sim->r;
  uint32_t src_region = r->dma_src_region & 7, dst_region = r->dma_dst_region & 7;
  bool src_internal = (r->dma_src_region >> 8) & 1, dst_internal = (r->dma_dst_region >> 8) & 1;
  SIM_CHECK(sim, ((r->dma_src_region | r->dma_dst_region) >> 9 & 3) == 0,
            ETHOSU_SIM_ERR_NOT_IMPLEMENTED, "2-D/3-D DMA stride modes");
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
