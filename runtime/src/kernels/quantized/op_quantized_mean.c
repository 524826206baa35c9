/*
 * ptec::quantized_mean.out(Tensor input, int[] dims, bool keepdim,
 *   int input_zp, int multiplier, int shift, int output_zp,
 *   int activation_min, int activation_max, *, Tensor(a!) out) -> Tensor(a!)
 *
 * TOSA REDUCE_SUM (int32) between RESCALEs, as ExecuTorch lowers mean.dim:
 *
 *   acc = sum over the reduced dims of (x - input_zp)
 *   out = clamp(apply_scale_32(sat32(acc), multiplier, shift) + output_zp,
 *               activation_min, activation_max)
 *
 * where multiplier * 2^-shift ~ s_in / (count * s_out), count being the
 * number of elements averaged (the product of the reduced dims' sizes).
 * input and out share one dtype, int8 or int16. dims may be negative; an
 * empty list reduces every dim (as PyTorch); repeats fail. Any dim orders.
 */
#include "kernels/portable/iter.h"
#include "kernels/portable/reduce.h"
#include "kernels/ops_decl.h"
#include "kernels/quantized/qparams.h"

enum {
  ARG_INPUT, ARG_DIMS, ARG_KEEPDIM, ARG_INPUT_ZP, ARG_MULTIPLIER, ARG_SHIFT, ARG_OUTPUT_ZP,
  ARG_ACT_MIN, ARG_ACT_MAX, ARG_OUT
};

typedef struct mean {
  const ptec_tensor *in;
  ptec_tensor *out;
  int32_t in_zp, m, s, out_zp, act_min, act_max;
} mean;

static ptec_status setup(ptec_kernel_context *ctx, mean *p, ptec_split_iter *it,
                         bool mask[PTEC_MAX_RANK]) {
  p->in = ptec_arg_tensor(ctx, ARG_INPUT);
  p->out = ptec_arg_tensor(ctx, ARG_OUT);
  PTEC_TRY(ptec_q_check_activation_dtype(ctx, p->in, "input"));
  PTEC_TRY(ptec_check_same_dtype(ctx, p->in, p->out, "input", "out"));
  PTEC_TRY(ptec_reduce_dims_from_list(ctx, ARG_DIMS, p->in->rank, mask));
  PTEC_TRY(ptec_reduce_init(ctx, it, p->in, mask, ptec_arg_bool(ctx, ARG_KEEPDIM), p->out,
                            false));
  PTEC_CHECK(ctx, it->inner_numel > 0, PTEC_STATUS_SHAPE_MISMATCH,
             "the mean of zero elements is undefined");
  int dtype = p->in->dtype;
  PTEC_TRY(ptec_q_zero_point(ctx, ARG_INPUT_ZP, dtype, "input_zp", &p->in_zp));
  PTEC_TRY(ptec_q_scale(ctx, ARG_MULTIPLIER, ARG_SHIFT, "output", &p->m, &p->s));
  PTEC_TRY(ptec_q_zero_point(ctx, ARG_OUTPUT_ZP, dtype, "output_zp", &p->out_zp));
  return ptec_q_activation_range(ctx, ARG_ACT_MIN, dtype, &p->act_min, &p->act_max);
}

ptec_status ptec_prepare_quantized_mean_out(ptec_kernel_context *ctx) {
  mean p;
  ptec_split_iter it;
  bool mask[PTEC_MAX_RANK];
  return setup(ctx, &p, &it, mask);
}

/* Channels summed per pass in the global average pool's case: 512 bytes of
 * stack. This kernel runs on microcontrollers too, whose RAM budget a table
 * of every channel's sum does not fit (it took MobileNetV2-int8's stack peak
 * on the Cortex-M55 from ~4 to 20 KB: test_cortex_m.py). */
enum { SUM_BLOCK = 128 };

/* The global average pool's case: int8 NHWC, dims H and W, every sum
 * |sum| <= 255 * H * W < 2^31. */
static bool nhwc_pool(const mean *p, const bool mask[PTEC_MAX_RANK]) {
  const ptec_tensor *in = p->in;
  return in->dtype == PTEC_DTYPE_INT8 && in->rank == 4 && in->dim_order[0] == 0 &&
         in->dim_order[1] == 2 && in->dim_order[2] == 3 && in->dim_order[3] == 1 && !mask[0] &&
         !mask[1] && mask[2] && mask[3] && (int64_t)in->sizes[2] * in->sizes[3] <= (1 << 23);
}

/* The sums of channels [c0, c0 + count) of image `n` in one pass over its
 * pixels, channels innermost (a loop the compiler vectorizes), instead of one
 * strided walk per channel. */
static void nhwc_channel_sums(const ptec_tensor *in, int64_t n, int64_t c0, int64_t count,
                              int32_t *sums) {
  const int64_t c = in->sizes[1], hw = (int64_t)in->sizes[2] * in->sizes[3];
  const int8_t *x = (const int8_t *)in->data + n * hw * c + c0;
  for (int64_t k = 0; k < count; k++) sums[k] = 0;
  for (int64_t q = 0; q < hw; q++, x += c)
    for (int64_t k = 0; k < count; k++) sums[k] += x[k];
}

ptec_status ptec_kernel_quantized_mean_out(ptec_kernel_context *ctx) {
  mean p;
  ptec_split_iter s;
  bool mask[PTEC_MAX_RANK];
  PTEC_TRY(setup(ctx, &p, &s, mask));
  const void *x = p.in->data;
  int dtype = p.in->dtype;
  const bool pooled = nhwc_pool(&p, mask);
  const int64_t channels = pooled ? p.in->sizes[1] : 0;
  const int64_t image = pooled ? channels * p.in->sizes[2] * p.in->sizes[3] : 1;
  int32_t sums[SUM_BLOCK];
  int64_t held_n = -1, held_c0 = 0, held_count = 0; /* the block `sums` holds */
  for (; !s.outer.done; ptec_iter_next(&s.outer))
    for (int64_t j = 0; j < s.outer.count; j++) {
      ptec_split_iter_inner(&s, j);
      int64_t acc = 0;
      if (pooled) { /* the slice starts at image n, channel c: offset n * H*W*C + c */
        const int64_t n = s.inner.offset[1] / image, c = s.inner.offset[1] % image;
        if (n != held_n || c < held_c0 || c >= held_c0 + held_count) {
          held_n = n;
          held_c0 = c;
          held_count = channels - c < SUM_BLOCK ? channels - c : SUM_BLOCK;
          nhwc_channel_sums(p.in, n, c, held_count, sums);
        }
        acc = sums[c - held_c0];
      }
      for (ptec_iter *it = &s.inner; !pooled && !it->done; ptec_iter_next(it)) {
        if (dtype == PTEC_DTYPE_INT8) {
          const int8_t *xp = (const int8_t *)x + it->offset[1];
          for (int64_t k = 0; k < it->count; k++) acc += xp[k * it->step[1]];
        } else {
          const int16_t *xp = (const int16_t *)x + it->offset[1];
          for (int64_t k = 0; k < it->count; k++) acc += xp[k * it->step[1]];
        }
      }
      acc -= s.inner_numel * p.in_zp;
      ptec_q_store(p.out->data, dtype, s.outer.offset[0] + j * s.outer.step[0],
                   ptec_q_requantize(acc, 0, p.m, p.s, p.out_zp, p.act_min, p.act_max));
    }
  return PTEC_STATUS_OK;
}
