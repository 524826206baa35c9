/*
 * Prototypes of the quantize/dequantize kernels and their prepare functions,
 * from ops_qdq.def, so each has a prototype (-Wmissing-prototypes) that
 * cannot drift from the kernel table's.
 */
#ifndef PTEC_KERNELS_QUANTIZED_QDQ_DECL_H
#define PTEC_KERNELS_QUANTIZED_QDQ_DECL_H

#include "kernels/kernel.h"

#define PTEC_OP(name, fn, signature) ptec_status fn(ptec_kernel_context *ctx);
#define PTEC_OP_PREPARED(name, fn, prepare, signature) \
  ptec_status fn(ptec_kernel_context *ctx);            \
  ptec_status prepare(ptec_kernel_context *ctx);
#include "kernels/quantized/ops_qdq.def"
#undef PTEC_OP_PREPARED
#undef PTEC_OP

#endif /* PTEC_KERNELS_QUANTIZED_QDQ_DECL_H */
