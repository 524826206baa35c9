/* Argument checks shared by the ptec::linear_* and ptec::embedding_* kernels of
 * kernels/llm/ (llm_quant.h): shapes, dtypes and layouts, failing by name. */
#ifndef PTEC_KERNELS_LLM_LLM_CHECKS_H
#define PTEC_KERNELS_LLM_LLM_CHECKS_H

#include "kernels/kernel.h"

/* x [..., K] fp32, out [..., N] fp32 with the same leading sizes, bias [N]
 * fp32 or NULL, weight `w` [N, wcols] of `wdtype`, scales [N, scols] fp32
 * (scols 0: scales [N]); all dense row-major. Sets *M to the rows of x. */
ptec_status ptec_llm_check_linear(ptec_kernel_context *ctx, const ptec_tensor *x,
                                  const ptec_tensor *w, int wdtype, int64_t wcols,
                                  const ptec_tensor *scales, int64_t scols,
                                  const ptec_tensor *bias, const ptec_tensor *out, int64_t *M);

/* 8da4w's wsum: [N] fp32, dense. */
ptec_status ptec_llm_check_wsum(ptec_kernel_context *ctx, const ptec_tensor *wsum, int64_t N);

/* weight [V, wcols] of `wdtype`, scales [V, scols] (scols 0: [V]) fp32, indices
 * int64 or int32 of any shape with every entry in [0, V), out = indices' shape
 * + [D] fp32; all dense row-major. */
ptec_status ptec_llm_check_embedding(ptec_kernel_context *ctx, const ptec_tensor *w,
                                     int wdtype, int64_t wcols, const ptec_tensor *scales,
                                     int64_t scols, const ptec_tensor *idx, int64_t D,
                                     const ptec_tensor *out);

#endif /* PTEC_KERNELS_LLM_LLM_CHECKS_H */
