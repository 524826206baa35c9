/*
 * Prototypes of every kernel in ops.def. Kernel files include this so each
 * kernel function has a prototype (-Wmissing-prototypes) and a signature
 * that cannot drift from the table's. It reads the full ops.def, not the
 * selective-build list, so that kernels left out of a build still compile.
 */
#ifndef PTEC_KERNELS_PORTABLE_OPS_DECL_H
#define PTEC_KERNELS_PORTABLE_OPS_DECL_H

#include "kernels/kernel.h"

#define PTEC_OP(name, fn, signature) ptec_status fn(ptec_kernel_context *ctx);
#include "kernels/ops.def"
#undef PTEC_OP

#endif /* PTEC_KERNELS_PORTABLE_OPS_DECL_H */
