/*
 * ptec::quantized_conv2d_packed.out: ptec::quantized_conv2d (groups 1, int8,
 * weight zero point 0) with its weights also packed at compile time
 * (python/ptec/cpu/pack_weights.py) in the layout of conv2d.h's
 * ptec_qconv_packed, and a planned scratch tensor for the pixel tiles:
 *
 *   quantized_conv2d_packed.out(<quantized_conv2d's arguments>, Tensor packed,
 *                               *, Tensor(a!) out, Tensor(b!) scratch)
 *
 * Where the packed microkernel runs (x86-64 with AVX-512 VNNI, NHWC in and
 * out) it reads only `packed`: no packing and no stack buffers per call.
 * Anywhere else the call is quantized_conv2d's on the original weight, so
 * the program stays portable and its results are the same bit for bit.
 *
 * Method init checks `packed` value by value against the weight, input zero
 * point and bias it was made from: a file whose packed copy disagrees is
 * refused (PTEC_STATUS_MALFORMED), so the fast path cannot compute something
 * else than the reference.
 */
#include <string.h>

#include "kernels/isa.h"
#include "kernels/kernel.h"
#include "kernels/ops_decl.h"
#include "kernels/quantized/conv2d.h"

#if PTEC_KERNELS_X86
#include "kernels/x86/cpu_features.h"
#endif

enum { ARG_PACKED = 14, ARG_OUT = 15, ARG_SCRATCH = 16 };

/* The call's checked parameters and its packed view (not the contents). */
static ptec_status setup(ptec_kernel_context *ctx, ptec_qconv *p, ptec_qconv_packed *pk,
                         ptec_q_phase phase) {
  PTEC_TRY(ptec_qconv_setup(ctx, p, phase, ARG_OUT));
  const ptec_tensor *packed = ptec_arg_tensor(ctx, ARG_PACKED);
  ptec_tensor *scratch = ptec_arg_tensor(ctx, ARG_SCRATCH);
  PTEC_CHECK(ctx, p->groups == 1 && p->w_zp == 0 && p->in->dtype == PTEC_DTYPE_INT8 &&
                      p->out->dtype == PTEC_DTYPE_INT8,
             PTEC_STATUS_NOT_SUPPORTED,
             "packed weights need groups 1, weight_zp 0 and int8 input and out");
  const int64_t k = p->w.c * p->w.h * p->w.w, n = p->w.n;
  PTEC_CHECK(ctx, k <= PTEC_Q_MAX_TERMS_I32 && n <= INT32_MAX - PTEC_QCONV_PACK_NR,
             PTEC_STATUS_NOT_SUPPORTED, "filters of %lld values: at most %d when packed",
             (long long)k, (int)PTEC_Q_MAX_TERMS_I32);
  pk->k = (int32_t)k;
  pk->kp = (int32_t)((k + 3) / 4 * 4);
  pk->n = (int32_t)n;
  pk->np = (int32_t)((n + PTEC_QCONV_PACK_NR - 1) / PTEC_QCONV_PACK_NR * PTEC_QCONV_PACK_NR);
  const int64_t want = 4 * (int64_t)pk->np + (int64_t)pk->np * pk->kp;
  PTEC_CHECK(ctx, packed->dtype == PTEC_DTYPE_INT8 && packed->rank == 1 &&
                      packed->sizes[0] == want,
             PTEC_STATUS_SHAPE_MISMATCH, "packed must be int8 [%lld] for a [%lld, %lld] filter bank",
             (long long)want, (long long)n, (long long)k);
  pk->group = ptec_qconv_packed_group(pk->np, pk->kp);
  const int64_t tile = pk->group * PTEC_QCONV_PACK_MR * pk->kp;
  PTEC_CHECK(ctx, scratch->dtype == PTEC_DTYPE_INT8 && scratch->rank == 1 &&
                      scratch->sizes[0] >= tile && scratch->sizes[0] % tile == 0,
             PTEC_STATUS_SHAPE_MISMATCH, "scratch must be int8 [slots * %lld]", (long long)tile);
  pk->corr = (const int32_t *)packed->data;
  pk->panels = (const int8_t *)packed->data + 4 * (size_t)pk->np;
  pk->scratch = scratch->data;
  pk->slots = scratch->sizes[0] / tile;
  return PTEC_STATUS_OK;
}

/* Filter j's value i in the (ky, kx, c) order, from any weight layout. */
static int8_t weight_at(const ptec_qconv *p, int64_t j, int64_t i) {
  const int64_t c = i % p->w.c, kx = i / p->w.c % p->w.w, ky = i / (p->w.c * p->w.w);
  return ((const int8_t *)p->weight->data)[j * p->w.sn + c * p->w.sc + ky * p->w.sh +
                                            kx * p->w.sw];
}

/* Every packed value equals the one made from the weights (conv2d.h). */
static bool packed_matches(const ptec_qconv *p, const ptec_qconv_packed *pk) {
  const int32_t *bias = p->bias ? p->bias->data : NULL;
  const bool fold = ptec_qconv_packed_folds_bias(bias, pk->n, pk->k);
  const int64_t nr = PTEC_QCONV_PACK_NR;
  for (int64_t j = 0; j < pk->np; j++) {
    int64_t sum = 0;
    for (int64_t i = 0; i < pk->kp; i++) {
      const int8_t w = j < pk->n && i < pk->k ? weight_at(p, j, i) : 0;
      const int8_t got = pk->panels[(j / nr) * pk->kp * nr + (i / 4) * nr * 4 + (j % nr) * 4 + i % 4];
      if (got != w) return false;
      sum += w;
    }
    int64_t corr = j < pk->n ? (128 + (int64_t)p->in_zp) * sum - (fold && bias ? bias[j] : 0) : 0;
    int32_t stored;
    memcpy(&stored, pk->corr + j, sizeof stored);
    if (stored != corr) return false;
  }
  return true;
}

ptec_status ptec_prepare_quantized_conv2d_packed_out(ptec_kernel_context *ctx) {
  ptec_qconv p;
  ptec_qconv_packed pk = {.k = 0};
  PTEC_TRY(setup(ctx, &p, &pk, PTEC_Q_PREPARE));
  PTEC_CHECK(ctx, packed_matches(&p, &pk), PTEC_STATUS_MALFORMED,
             "packed does not hold the packing of the weight, input_zp and bias");
  return PTEC_STATUS_OK;
}

ptec_status ptec_kernel_quantized_conv2d_packed_out(ptec_kernel_context *ctx) {
  ptec_qconv p;
  ptec_qconv_packed pk = {.k = 0};
  PTEC_TRY(setup(ctx, &p, &pk, PTEC_Q_EXECUTE));
  p.parallel = ctx->parallel;
  p.cpu_features = ctx->cpu_features;
#if PTEC_KERNELS_X86
  if (ptec_x86_has_avx512_vnni() && ptec_qconv_s8_avx512_packed(&p, &pk)) return PTEC_STATUS_OK;
#endif
#if PTEC_KERNELS_NEON /* SDOT when the build targets it or the CPU has it (ptec.h) */
  if ((PTEC_KERNELS_NEON_DOTPROD || (p.cpu_features & PTEC_CPU_ARM_DOTPROD)) &&
      ptec_qconv_s8_dotprod_packed(&p, &pk))
    return PTEC_STATUS_OK;
#endif
  ptec_qconv_run(&p);
  return PTEC_STATUS_OK;
}
