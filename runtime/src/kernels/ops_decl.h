/*
 * Prototypes of every kernel and prepare function in ops.def (and the lists
 * it includes). Kernel files and the kernel table include this, so each
 * function has a prototype (-Wmissing-prototypes) that cannot drift from the
 * table's. It reads the full ops.def, not a selective-build list, so kernels
 * left out of a build still compile.
 */
#ifndef PTEC_KERNELS_OPS_DECL_H
#define PTEC_KERNELS_OPS_DECL_H

#include "kernels/kernel.h"

#define PTEC_OP(name, fn, signature) ptec_status fn(ptec_kernel_context *ctx);
#define PTEC_OP_PREPARED(name, fn, prepare, signature) \
  ptec_status fn(ptec_kernel_context *ctx);            \
  ptec_status prepare(ptec_kernel_context *ctx);
#include "kernels/ops.def"
#undef PTEC_OP_PREPARED
#undef PTEC_OP

#endif /* PTEC_KERNELS_OPS_DECL_H */
