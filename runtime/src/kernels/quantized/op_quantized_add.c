/*
 * ptec::quantized_add.out(Tensor a, Tensor b, int a_zp, int a_multiplier,
 *   int a_shift, int b_zp, int b_multiplier, int b_shift, int output_zp,
 *   int output_multiplier, int output_shift, int activation_min,
 *   int activation_max, *, Tensor(a!) out) -> Tensor(a!)
 *
 * ExecuTorch's TOSA lowering of a quantized add (InsertRescaleInt32Pass):
 * each input is RESCALEd to int32 on a common finer scale S, the int32 sums
 * are added, and the sum is RESCALEd to the output:
 *
 *   va  = apply_scale_32(a - a_zp, a_multiplier, a_shift)     (scale s_a / S)
 *   vb  = apply_scale_32(b - b_zp, b_multiplier, b_shift)     (scale s_b / S)
 *   out = clamp(apply_scale_32(sat32(va + vb), output_multiplier, output_shift)
 *               + output_zp, activation_min, activation_max)  (scale S / s_out)
 *
 * with S = 2 * max(s_a, s_b) / 2^20 for int8 (2^12 for int16). a, b and out
 * share one dtype, int8 or int16; a and b broadcast as in PyTorch; any dim
 * orders (tensors of one layout are walked as a single flat run).
 */
#include "kernels/ops_decl.h"
#include "kernels/quantized/qadd_params.h"
#include "kernels/quantized/variants.h"

typedef ptec_qadd_args add;

static inline int32_t add_one(const add *p, int32_t a, int32_t b) {
  int64_t va = ptec_apply_scale_32(a - p->a_zp, p->a_m, p->a_s);
  int64_t vb = ptec_apply_scale_32(b - p->b_zp, p->b_m, p->b_s);
  int64_t r = (int64_t)ptec_apply_scale_32(ptec_q_sat32(va + vb), p->out_m, p->out_s) + p->out_zp;
  return r < p->act_min ? p->act_min : r > p->act_max ? p->act_max : (int32_t)r;
}

ptec_status ptec_prepare_quantized_add_out(ptec_kernel_context *ctx) {
  add p;
  ptec_iter it;
  return ptec_qadd_setup(ctx, &p, &it);
}

ptec_status ptec_kernel_quantized_add_out(ptec_kernel_context *ctx) {
  add p;
  ptec_iter it;
  PTEC_TRY(ptec_qadd_setup(ctx, &p, &it));
  const int64_t sy = it.step[0], sa = it.step[1], sb = it.step[2];
  if (p.a->dtype == PTEC_DTYPE_INT8) {
    const int8_t *a = p.a->data, *b = p.b->data;
    int8_t *y = p.out->data;
  const ptec_qadd_params vp = {p.a_zp, p.a_m, p.a_s, p.b_zp, p.b_m, p.b_s, p.out_zp,
                               p.out_m, p.out_s, p.act_min, p.act_max};
    for (; !it.done; ptec_iter_next(&it)) {
      const int8_t *ap = a + it.offset[1], *bp = b + it.offset[2];
      int8_t *yp = y + it.offset[0];
      /* The ISA variant on this run (variants.h), else the loop below. */
      if (sy == 1 && PTEC_Q_VARIANT_ADD(&vp, ap, sa, bp, sb, yp, (int32_t)it.count)) continue;
      for (int64_t j = 0; j < it.count; j++)
        yp[j * sy] = (int8_t)add_one(&p, ap[j * sa], bp[j * sb]);
    }
  } else {
    const int16_t *a = p.a->data, *b = p.b->data;
    int16_t *y = p.out->data;
    for (; !it.done; ptec_iter_next(&it)) {
      const int16_t *ap = a + it.offset[1], *bp = b + it.offset[2];
      int16_t *yp = y + it.offset[0];
      for (int64_t j = 0; j < it.count; j++)
        yp[j * sy] = (int16_t)add_one(&p, ap[j * sa], bp[j * sb]);
    }
  }
  return PTEC_STATUS_OK;
}
