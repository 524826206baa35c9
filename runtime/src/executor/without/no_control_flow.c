/*
 * For a firmware that runs no program with jumps or moves (torch.cond):
 * linked instead of executor/control_flow.c, which it then does not pull from
 * the library. A program that has them is refused at load, by name.
 */
#include "core/message.h"
#include "executor/internal.h"

ptec_status ptec_control_decode(ptec_method *m, fb_reader *r, const plan_view *pv,
                                uint32_t kind, int32_t a, int32_t b, method_layout *l) {
  (void)r, (void)pv, (void)kind, (void)a, (void)b, (void)l;
  return ptec_program_fail(m->program, PTEC_STATUS_NOT_SUPPORTED,
                           "jumps and moves (control flow) are not linked in this build "
                           "(executor/without/no_control_flow.c)");
}

ptec_status ptec_control_step(ptec_method *m, fb_reader *r, const ptec_instruction *ins,
                              uint32_t *pc) {
  (void)m, (void)r, (void)ins, (void)pc;
  return PTEC_STATUS_NOT_SUPPORTED; /* unreachable: decode refused the program */
}
