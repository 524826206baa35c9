/*
 * ptec::quantized_conv2d, shared between its general kernel
 * (op_quantized_conv2d.c) and its depthwise variant
 * (op_quantized_depthwise_conv2d.c): the checked parameters of one call.
 */
#ifndef PTEC_KERNELS_QUANTIZED_CONV2D_H
#define PTEC_KERNELS_QUANTIZED_CONV2D_H

#include <stdbool.h>
#include <stdint.h>

#include "kernels/quantized/qparams.h"

typedef struct ptec_qconv {
  const ptec_tensor *in, *weight, *bias, *multiplier, *shift;
  ptec_tensor *out;
  ptec_q_view4 x;          /* input [N, C, H, W] */
  ptec_q_view4 w;          /* weight [O, C / groups, KH, KW] */
  ptec_q_view4 y;          /* out [N, O, OH, OW] */
  int64_t stride[2];       /* H, W */
  int64_t pad[4];          /* top, bottom, left, right */
  int64_t dilation[2];     /* H, W */
  int64_t groups;
  int64_t scale_step;      /* 0: per-tensor multiplier and shift, 1: per channel */
  int32_t in_zp, w_zp, out_zp, act_min, act_max;
  bool wide;               /* int64 out (int16 input): acc + bias, no requantize */
  int64_t wide_min, wide_max; /* the wide mode's clamp, within int48 */
  const struct ptec_parallel_for *parallel; /* NULL: one thread (kernels/parallel.h) */
  uint32_t cpu_features;   /* PTEC_CPU_* bits: which variant may run (ptec.h) */
} ptec_qconv;

/* Bias of output channel oc (int32, or int64 with int16 activations). An
 * int64 bias is clamped to +-2^62, which changes no result (every output
 * saturates far below) and keeps acc + bias from overflowing int64. */
static inline int64_t ptec_qconv_bias(const ptec_qconv *p, int64_t oc) {
  if (p->bias == NULL) return 0;
  if (p->bias->dtype != PTEC_DTYPE_INT64) return ((const int32_t *)p->bias->data)[oc];
  const int64_t b = ((const int64_t *)p->bias->data)[oc], lim = (int64_t)1 << 62;
  return b > lim ? lim : b < -lim ? -lim : b;
}

/* The wide mode's output: clamp(acc + bias[oc], wide_min, wide_max). Each
 * term of acc is at most 2^24 in magnitude, so acc + bias is exact for
 * fewer than 2^37 terms (far beyond any weight tensor that fits memory). */
static inline int64_t ptec_qconv_wide_output(const ptec_qconv *p, int64_t oc, int64_t acc) {
  int64_t v = acc + ptec_qconv_bias(p, oc);
  return v < p->wide_min ? p->wide_min : v > p->wide_max ? p->wide_max : v;
}

/* Requantizes output channel oc's accumulator (qparams.h's epilogue). */
static inline int32_t ptec_qconv_output(const ptec_qconv *p, int64_t oc, int64_t acc) {
  const int32_t *m = p->multiplier->data, *s = p->shift->data;
  int64_t k = oc * p->scale_step;
  return ptec_q_requantize(acc, ptec_qconv_bias(p, oc), m[k], s[k], p->out_zp, p->act_min,
                           p->act_max);
}

/* True when the call is a depthwise convolution: one input channel per
 * group, groups == input channels (each channel makes O / C outputs). */
static inline bool ptec_qconv_is_depthwise(const ptec_qconv *p) {
  return p->groups == p->x.c && p->w.c == 1;
}

/* Depthwise fast path, int8 activations with channels innermost in the
 * input (NHWC, dim order 0,2,3,1) and KH * KW <= PTEC_Q_MAX_TERMS_I32: false
 * (nothing written) when the call does not qualify. */
bool ptec_qconv_depthwise_s8_nhwc(const ptec_qconv *p);

/* Checks the arguments of a quantized_conv2d call (or of its packed form,
 * whose out argument comes later) and fills p; op_quantized_conv2d.c. */
struct ptec_kernel_context;
ptec_status ptec_qconv_setup(struct ptec_kernel_context *ctx, ptec_qconv *p, ptec_q_phase phase,
                             uint32_t out_arg);
/* Runs a checked call: the ISA variants, then the C paths. */
void ptec_qconv_run(const ptec_qconv *p);

/*
 * Weights packed at compile time (ptec::quantized_conv2d_packed,
 * python/ptec/cpu/pack_weights.py) for groups 1, int8, weight zero point 0:
 * one int8 tensor of 4 * np + np * kp bytes, np = n rounded up to 32 and
 * kp = k rounded up to 4 (k = KH * KW * C in the filter's (ky, kx, c) order):
 *
 *   int32 corr[np]        (128 + input_zp) * sum_k w[j][k], minus bias[j] when
 *                         ptec_qconv_packed_folds_bias; 0 past n
 *   int8  panels[np / 32][kp / 4][32][4]   w[32 b + c][4 i + r], 0 past n, k
 *
 * the layout of the AVX-512 VNNI microkernel (kernels/x86/conv2d_s8_avx512.c),
 * checked value by value against the weights at method init. `scratch` holds
 * slots * group * 8 * kp bytes: `group` tiles of 8 pixels' windows for each of
 * `slots` concurrent shares (ptec_qconv_packed_group).
 */
typedef struct ptec_qconv_packed {
  const int32_t *corr;   /* np values (unaligned reads only) */
  const int8_t *panels;
  int32_t k, kp, n, np;
  uint8_t *scratch;
  int64_t slots, group;
} ptec_qconv_packed;

enum { PTEC_QCONV_PACK_NR = 32, PTEC_QCONV_PACK_MR = 8, PTEC_QCONV_PACK_MAX_GROUP = 4 };

/* Tiles that share each pass over the panels: 4 when the panels exceed 1 MiB
 * (they then come from memory, not the caches), else 1. The compiler sizes
 * the scratch by the same rule (python/ptec/cpu/pack_weights.py). */
static inline int64_t ptec_qconv_packed_group(int64_t np, int64_t kp) {
  return np * kp > ((int64_t)1 << 20) ? PTEC_QCONV_PACK_MAX_GROUP : 1;
}

/* True when no acc + bias can overflow int32 (every |bias| + 255 * 128 * k <
 * 2^31), so the packed correction holds the bias. */
static inline bool ptec_qconv_packed_folds_bias(const int32_t *bias, int64_t n, int64_t k) {
  const int64_t room = INT32_MAX - (int64_t)255 * 128 * k;
  for (int64_t j = 0; bias != NULL && j < n; j++)
    if (bias[j] > room || bias[j] < -room) return false;
  return true;
}

/* x86-64 AVX-512 VNNI (kernels/x86/conv2d_s8_avx512.c): false when it declines. */
bool ptec_qconv_s8_avx512_packed(const ptec_qconv *p, const ptec_qconv_packed *pk);
/* AArch64 dotprod (kernels/neon/conv2d_s8_packed_dotprod.c): the same layout through SDOT. */
bool ptec_qconv_s8_dotprod_packed(const ptec_qconv *p, const ptec_qconv_packed *pk);

#endif /* PTEC_KERNELS_QUANTIZED_CONV2D_H */
