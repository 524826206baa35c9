/*
 * Copies where each out element reads one element of self found by index
 * arithmetic (repeat, roll, tril/triu-like masks, reflection and
 * replication padding): `map` gets an out position and writes the self
 * position to read, or returns false for a zero.
 */
#ifndef PTEC_KERNELS_PORTABLE_REMAP_H
#define PTEC_KERNELS_PORTABLE_REMAP_H

#include <stdbool.h>
#include <stdint.h>

#include "kernels/kernel.h"

typedef bool (*ptec_remap_fn)(const int64_t *out_pos, int64_t *in_pos, const void *params);

/* out (of out_sizes, checked) from self through map; same dtype. */
ptec_status ptec_remap(ptec_kernel_context *ctx, const ptec_tensor *in, ptec_tensor *out,
                       const int64_t *out_sizes, uint32_t out_rank, ptec_remap_fn map,
                       const void *params);

#endif /* PTEC_KERNELS_PORTABLE_REMAP_H */
