/* Parameter checks shared by the fused integer kernels (see qparams.h). */
#include "kernels/quantized/qparams.h"

bool ptec_q_dtype_range(int dtype, int32_t *lo, int32_t *hi) {
  switch (dtype) {
    case PTEC_DTYPE_INT8: *lo = INT8_MIN; *hi = INT8_MAX; return true;
    case PTEC_DTYPE_UINT8: *lo = 0; *hi = UINT8_MAX; return true; /* rescale's unsigned I/O */
    case PTEC_DTYPE_INT16: *lo = INT16_MIN; *hi = INT16_MAX; return true;
    case PTEC_DTYPE_INT32: *lo = INT32_MIN; *hi = INT32_MAX; return true;
    default: return false;
  }
}

ptec_status ptec_q_check_activation_dtype(ptec_kernel_context *ctx, const ptec_tensor *t,
                                          const char *name) {
  PTEC_CHECK(ctx, t->dtype == PTEC_DTYPE_INT8 || t->dtype == PTEC_DTYPE_INT16,
             PTEC_STATUS_TYPE_MISMATCH, "%s has dtype %s, expected int8 or int16", name,
             ptec_dtype_name(t->dtype));
  return PTEC_STATUS_OK;
}

ptec_status ptec_q_zero_point(ptec_kernel_context *ctx, uint32_t arg, int dtype, const char *name,
                              int32_t *zp) {
  int32_t lo = 0, hi = 0;
  int64_t v = ptec_arg_int(ctx, arg);
  PTEC_CHECK(ctx, ptec_q_dtype_range(dtype, &lo, &hi), PTEC_STATUS_TYPE_MISMATCH,
             "%s: dtype %s has no zero point", name, ptec_dtype_name(dtype));
  PTEC_CHECK(ctx, v >= lo && v <= hi, PTEC_STATUS_OUT_OF_RANGE,
             "%s %lld is outside the range of %s [%d, %d]", name, (long long)v,
             ptec_dtype_name(dtype), (int)lo, (int)hi);
  *zp = (int32_t)v;
  return PTEC_STATUS_OK;
}

/* `name` names the scale ("output"), or is NULL for entry `channel` of a
 * per-channel tensor. */
static ptec_status check_scale_value(ptec_kernel_context *ctx, int64_t m, int64_t s,
                                     const char *name, int64_t channel) {
  if (m < 1 || m > INT32_MAX) {
    if (name) {
      return ptec_kernel_fail(ctx, PTEC_STATUS_OUT_OF_RANGE,
                              "%s multiplier %lld must be in [1, 2^31)", name, (long long)m);
    }
    return ptec_kernel_fail(ctx, PTEC_STATUS_OUT_OF_RANGE,
                            "multiplier[%lld] = %lld must be in [1, 2^31)", (long long)channel,
                            (long long)m);
  }
  if (s < 2 || s > 62) {
    if (name) {
      return ptec_kernel_fail(ctx, PTEC_STATUS_OUT_OF_RANGE, "%s shift %lld must be in [2, 62]",
                              name, (long long)s);
    }
    return ptec_kernel_fail(ctx, PTEC_STATUS_OUT_OF_RANGE,
                            "shift[%lld] = %lld must be in [2, 62]", (long long)channel,
                            (long long)s);
  }
  return PTEC_STATUS_OK;
}

ptec_status ptec_q_scale(ptec_kernel_context *ctx, uint32_t m_arg, uint32_t s_arg,
                         const char *name, int32_t *multiplier, int32_t *shift) {
  int64_t m = ptec_arg_int(ctx, m_arg), s = ptec_arg_int(ctx, s_arg);
  PTEC_TRY(check_scale_value(ctx, m, s, name, 0));
  *multiplier = (int32_t)m;
  *shift = (int32_t)s;
  return PTEC_STATUS_OK;
}

ptec_status ptec_q_activation_range(ptec_kernel_context *ctx, uint32_t arg, int out_dtype,
                                    int32_t *lo, int32_t *hi) {
  int32_t dlo = 0, dhi = 0;
  int64_t a = ptec_arg_int(ctx, arg), b = ptec_arg_int(ctx, arg + 1);
  PTEC_CHECK(ctx, ptec_q_dtype_range(out_dtype, &dlo, &dhi), PTEC_STATUS_TYPE_MISMATCH,
             "out dtype %s is not an integer activation dtype", ptec_dtype_name(out_dtype));
  PTEC_CHECK(ctx, a >= dlo && a <= dhi && b >= dlo && b <= dhi, PTEC_STATUS_OUT_OF_RANGE,
             "activation range [%lld, %lld] is outside the range of %s [%d, %d]", (long long)a,
             (long long)b, ptec_dtype_name(out_dtype), (int)dlo, (int)dhi);
  PTEC_CHECK(ctx, a <= b, PTEC_STATUS_OUT_OF_RANGE,
             "activation_min %lld is greater than activation_max %lld", (long long)a,
             (long long)b);
  *lo = (int32_t)a;
  *hi = (int32_t)b;
  return PTEC_STATUS_OK;
}

ptec_status ptec_q_scale_tensors(ptec_kernel_context *ctx, const ptec_tensor *multiplier,
                                 const ptec_tensor *shift, int64_t channels, ptec_q_phase phase,
                                 int64_t *step) {
  PTEC_TRY(ptec_check_dtype(ctx, multiplier, PTEC_DTYPE_INT32, "multiplier"));
  PTEC_TRY(ptec_check_dtype(ctx, shift, PTEC_DTYPE_INT32, "shift"));
  int64_t n = multiplier->rank == 1 ? multiplier->sizes[0] : -1;
  PTEC_CHECK(ctx, n == 1 || n == channels, PTEC_STATUS_SHAPE_MISMATCH,
             "multiplier must have shape [1] or [%lld]", (long long)channels);
  PTEC_CHECK(ctx, shift->rank == 1 && shift->sizes[0] == n, PTEC_STATUS_SHAPE_MISMATCH,
             "shift must have the shape of multiplier, [%lld]", (long long)n);
  *step = n == 1 ? 0 : 1;
  /* Both tensors are rank 1, so any dim order is the same dense layout. */
  bool known = phase == PTEC_Q_PREPARE ? multiplier->is_constant && shift->is_constant
                                       : !(multiplier->is_constant && shift->is_constant);
  if (!known) return PTEC_STATUS_OK;
  const int32_t *m = multiplier->data, *s = shift->data;
  for (int64_t c = 0; c < n; c++) PTEC_TRY(check_scale_value(ctx, m[c], s[c], NULL, c));
  return PTEC_STATUS_OK;
}

ptec_status ptec_q_pair(ptec_kernel_context *ctx, uint32_t arg, const int64_t *dflt,
                        int64_t v[2], const char *name) {
  uint32_t count;
  const int64_t *list = ptec_arg_int_list(ctx, arg, &count);
  PTEC_CHECK(ctx, count == 1 || count == 2 || (count == 0 && dflt != NULL),
             PTEC_STATUS_INVALID_ARGUMENT, "%s has %u entries, expected 1 or 2", name,
             (unsigned)count);
  v[0] = count ? list[0] : dflt[0];
  v[1] = count ? list[count - 1] : dflt[1];
  PTEC_CHECK(ctx, v[0] > 0 && v[1] > 0 && v[0] <= INT32_MAX && v[1] <= INT32_MAX,
             PTEC_STATUS_INVALID_ARGUMENT, "%s entries must be positive, got [%lld, %lld]",
             name, (long long)v[0], (long long)v[1]);
  return PTEC_STATUS_OK;
}

ptec_status ptec_q_padding(ptec_kernel_context *ctx, uint32_t arg, int64_t pad[4]) {
  uint32_t count;
  const int64_t *list = ptec_arg_int_list(ctx, arg, &count);
  PTEC_CHECK(ctx, count == 1 || count == 2 || count == 4, PTEC_STATUS_INVALID_ARGUMENT,
             "padding has %u entries, expected 1, 2 or 4", (unsigned)count);
  if (count == 4) {
    for (int k = 0; k < 4; k++) pad[k] = list[k];
  } else {
    pad[0] = pad[1] = list[0];
    pad[2] = pad[3] = list[count - 1];
  }
  for (int k = 0; k < 4; k++)
    PTEC_CHECK(ctx, pad[k] >= 0 && pad[k] <= INT32_MAX, PTEC_STATUS_INVALID_ARGUMENT,
               "padding %lld is negative or too large", (long long)pad[k]);
  return PTEC_STATUS_OK;
}

ptec_q_view4 ptec_q_view4_of(const ptec_tensor *t) {
  int64_t s[PTEC_MAX_RANK];
  ptec_tensor_strides(t, s);
  uint32_t o = t->rank == 4 ? 1u : 0u;
  ptec_q_view4 v = {o ? t->sizes[0] : 1, t->sizes[o], t->sizes[o + 1], t->sizes[o + 2],
                    o ? s[0] : 0,       s[o],         s[o + 1],         s[o + 2]};
  return v;
}
