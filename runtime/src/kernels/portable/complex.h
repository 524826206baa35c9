/* Complex tensors (complex32, complex64, complex128) in the portable kernels that
 * ExecuTorch's portable library runs on them (its ET_SWITCH_COMPLEXH_TYPES branches):
 * add, sub, mul and div (op_complex_binary.c), all operands of one complex dtype as
 * ExecuTorch requires, abs (op_complex_abs.c), _conj_physical (op_complex_conj.c), bmm
 * (op_complex_bmm.c) and sum.IntList_out (op_complex_sum.c). */
#ifndef PTEC_KERNELS_PORTABLE_COMPLEX_H
#define PTEC_KERNELS_PORTABLE_COMPLEX_H

#include <stdbool.h>

#include "kernels/portable/common.h"
#include "kernels/portable/elementwise.h"
#include "kernels/portable/float_any.h"

static inline bool ptec_dtype_is_complex(int dtype) {
  return dtype == PTEC_DTYPE_COMPLEX32 || dtype == PTEC_DTYPE_COMPLEX64 ||
         dtype == PTEC_DTYPE_COMPLEX128;
}

/* True when any of the three tensors is complex: the kernel takes the complex branch. */
static inline bool ptec_any_complex(const ptec_tensor *a, const ptec_tensor *b,
                                    const ptec_tensor *out) {
  return ptec_dtype_is_complex(a->dtype) || ptec_dtype_is_complex(b->dtype) ||
         ptec_dtype_is_complex(out->dtype);
}

/* The part type of a complex dtype (float16, float32, float64). */
static inline int ptec_complex_part_dtype(int dtype) {
  return dtype == PTEC_DTYPE_COMPLEX128  ? PTEC_DTYPE_FLOAT64
         : dtype == PTEC_DTYPE_COMPLEX64 ? PTEC_DTYPE_FLOAT32
                                         : PTEC_DTYPE_FLOAT16;
}

/* Element i of a complex tensor's data as two doubles (exact), and a store rounding each
 * part once to the part type: the accumulating kernels (bmm, sum) compute in double. */
static inline void ptec_cx_ld(const void *p, int part, int64_t i, double *re, double *im) {
  *re = ptec_ld_any(p, part, 2 * i);
  *im = ptec_ld_any(p, part, 2 * i + 1);
}
static inline void ptec_cx_st(void *p, int part, int64_t i, double re, double im) {
  ptec_st_any(p, part, 2 * i, re);
  ptec_st_any(p, part, 2 * i + 1, im);
}

/* bmm (op_complex_bmm.c) and sum.IntList_out (op_complex_sum.c) on complex tensors of
 * one dtype: products and sums in double, each part rounded once. */
ptec_status ptec_complex_bmm(ptec_kernel_context *ctx, const ptec_tensor *a,
                             const ptec_tensor *b, ptec_tensor *out);
ptec_status ptec_complex_sum(ptec_kernel_context *ctx, const ptec_tensor *in, ptec_tensor *out);

/* out = a + alpha * b, a - alpha * b, a * b or a / b (ADD, SUB, MUL, DIV; DIV not on
 * complex32, as ExecuTorch) with broadcasting, any
 * dim orders; a, b and out of one complex dtype; alpha real. Computed in the element
 * type's own precision (complex32 in float32, rounded once per part, as PyTorch's
 * c10::complex<Half> arithmetic). */
ptec_status ptec_complex_binary(ptec_kernel_context *ctx, ptec_binary_op op,
                                const ptec_tensor *a, const ptec_tensor *b, ptec_tensor *out,
                                double alpha);

/* The Scalar overloads (add, sub, rsub, mul and div .Scalar_out, div.Scalar_mode_out):
 * ExecuTorch's switch over real dtypes only, so a complex self or out is refused, saying
 * so, before the real kernel's checks would call complex64 unsupported or the Scalar a
 * mismatched dtype. (A complex operand goes through the Tensor overloads.) */
static inline ptec_status ptec_refuse_complex_scalar(ptec_kernel_context *ctx,
                                                     const ptec_tensor *self,
                                                     const ptec_tensor *out) {
  PTEC_CHECK(ctx, !ptec_dtype_is_complex(self->dtype) && !ptec_dtype_is_complex(out->dtype),
             PTEC_STATUS_NOT_SUPPORTED,
             "a %s tensor with a Scalar is refused: ExecuTorch's Scalar overloads take real "
             "dtypes only",
             ptec_dtype_name(ptec_dtype_is_complex(self->dtype) ? self->dtype : out->dtype));
  return PTEC_STATUS_OK;
}

/* abs of a complex tensor (op_complex_abs.c): |z| into out of its part type (float16,
 * float32 or float64, as PyTorch and ExecuTorch), same shape, any dim orders. */
ptec_status ptec_complex_abs(ptec_kernel_context *ctx, const ptec_tensor *in,
                             ptec_tensor *out);

#endif /* PTEC_KERNELS_PORTABLE_COMPLEX_H */
