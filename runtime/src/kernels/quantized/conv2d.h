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

#endif /* PTEC_KERNELS_QUANTIZED_CONV2D_H */
