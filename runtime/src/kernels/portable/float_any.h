/* Element access for kernels that take every float dtype ExecuTorch's FLOATHBF16 switch
 * does (float64, float32, float16, bfloat16) and compute in double: the gradient
 * kernels. A double holds every value of the four exactly, so a load loses nothing and
 * one add of two loaded values rounds once, on store, as the type's own add does. */
#ifndef PTEC_KERNELS_PORTABLE_FLOAT_ANY_H
#define PTEC_KERNELS_PORTABLE_FLOAT_ANY_H

#include "kernels/portable/half.h"

static inline bool ptec_dtype_is_float_any(int dtype) {
  return dtype == PTEC_DTYPE_FLOAT64 || dtype == PTEC_DTYPE_FLOAT32 || ptec_dtype_is_half(dtype);
}
static inline double ptec_ld_any(const void *p, int dtype, int64_t i) {
  if (dtype == PTEC_DTYPE_FLOAT64) return ((const double *)p)[i];
  if (dtype == PTEC_DTYPE_FLOAT32) return ((const float *)p)[i];
  return ptec_half_ld(p, i, dtype == PTEC_DTYPE_BFLOAT16);
}
static inline void ptec_st_any(void *p, int dtype, int64_t i, double v) {
  if (dtype == PTEC_DTYPE_FLOAT64) ((double *)p)[i] = v;
  else if (dtype == PTEC_DTYPE_FLOAT32) ((float *)p)[i] = (float)v;
  else ptec_half_st(p, i, (float)v, dtype == PTEC_DTYPE_BFLOAT16);
}

#endif /* PTEC_KERNELS_PORTABLE_FLOAT_ANY_H */
