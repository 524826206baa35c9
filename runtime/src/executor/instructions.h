/* Decoding and checking a method's instructions (instructions.c). */
#ifndef PTEC_EXECUTOR_INSTRUCTIONS_H
#define PTEC_EXECUTOR_INSTRUCTIONS_H

#include "executor/internal.h"

/* The parts of an ExecutionPlan a method uses. */
typedef struct plan_view {
  fb_table plan;
  fb_vector values, inputs, outputs, operators, delegates, buffer_sizes;
  fb_vector instructions;  /* of the single chain; empty if there is none */
} plan_view;

/* Decodes instruction `i`: indices in range, kernels found, argument tags
 * matching the kernel's signature, outputs never constants. */
ptec_status ptec_decode_instruction(ptec_program *prog, fb_reader *r, const plan_view *pv,
                                    uint32_t i, const ptec_value *values,
                                    ptec_instruction *ins);

/* Runs each kernel's prepare function: static checks at load time. */
ptec_status ptec_prepare_kernels(ptec_method *m);

#endif
