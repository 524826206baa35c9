/*
 * ptec::quantized_sub.out(Tensor a, Tensor b, int a_zp, int a_multiplier,
 *   int a_shift, int b_zp, int b_multiplier, int b_shift, int output_zp,
 *   int output_multiplier, int output_shift, int activation_min,
 *   int activation_max, *, Tensor(a!) out) -> Tensor(a!)
 *
 * a - b with quantized_add's arithmetic (op_quantized_add.c), the int32
 * difference in place of the sum: TOSA's RESCALE, RESCALE, SUB, RESCALE,
 * which is how the TOSA lowering writes it (python/ptec/tosa/lower/
 * transformer.py). Softmax and layer norm decomposed for TOSA
 * (python/ptec/quant/decompose.py) subtract a row's max or mean with it.
 *
 *   va  = apply_scale_32(a - a_zp, a_multiplier, a_shift)
 *   vb  = apply_scale_32(b - b_zp, b_multiplier, b_shift)
 *   out = clamp(apply_scale_32(sat32(va - vb), output_multiplier, output_shift)
 *               + output_zp, activation_min, activation_max)
 *
 * a, b and out: one dtype, int8 or int16; a and b broadcast as in PyTorch.
 */
#include "kernels/ops_decl.h"
#include "kernels/quantized/qadd_params.h"

typedef ptec_qadd_args sub;

static inline int32_t sub_one(const sub *p, int32_t a, int32_t b) {
  int64_t va = ptec_apply_scale_32(a - p->a_zp, p->a_m, p->a_s);
  int64_t vb = ptec_apply_scale_32(b - p->b_zp, p->b_m, p->b_s);
  int64_t r = (int64_t)ptec_apply_scale_32(ptec_q_sat32(va - vb), p->out_m, p->out_s) + p->out_zp;
  return r < p->act_min ? p->act_min : r > p->act_max ? p->act_max : (int32_t)r;
}

ptec_status ptec_prepare_quantized_sub_out(ptec_kernel_context *ctx) {
  sub p;
  ptec_iter it;
  return ptec_qadd_setup(ctx, &p, &it);
}

ptec_status ptec_kernel_quantized_sub_out(ptec_kernel_context *ctx) {
  sub p;
  ptec_iter it;
  PTEC_TRY(ptec_qadd_setup(ctx, &p, &it));
  const int64_t sy = it.step[0], sa = it.step[1], sb = it.step[2];
  const bool int8 = p.a->dtype == PTEC_DTYPE_INT8;
  for (; !it.done; ptec_iter_next(&it)) {
    for (int64_t j = 0; j < it.count; j++) {
      int64_t ia = it.offset[1] + j * sa, ib = it.offset[2] + j * sb, iy = it.offset[0] + j * sy;
      if (int8)
        ((int8_t *)p.out->data)[iy] = (int8_t)sub_one(&p, ((const int8_t *)p.a->data)[ia],
                                                      ((const int8_t *)p.b->data)[ib]);
      else
        ((int16_t *)p.out->data)[iy] = (int16_t)sub_one(&p, ((const int16_t *)p.a->data)[ia],
                                                        ((const int16_t *)p.b->data)[ib]);
    }
  }
  return PTEC_STATUS_OK;
}
