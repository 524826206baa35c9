/*
 * Mutable state (ptec.h, "Mutable state"): the initial data of mutable
 * buffers, written at init and on reset. Planned memory is the caller's and
 * persists between executes, so nothing else is needed for state to survive
 * a call.
 */
#include <string.h>

#include "executor/internal.h"

ptec_status ptec_method_load_state(ptec_method *m) {
  fb_reader r;
  ptec_program_reader(m->program, &r);
  for (uint32_t i = 0; i < m->num_values; i++) {
    ptec_tensor t;
    const void *initial;
    ptec_status s = ptec_value_initial_data(m, &r, i, &t, &initial);
    if (s != PTEC_STATUS_OK) return s;
    /* read_tensor checked both ranges: the planned bytes inside their
     * buffer, the initial bytes inside the constant data. */
    if (initial != NULL && t.data != NULL && t.nbytes > 0) memcpy(t.data, initial, t.nbytes);
  }
  return PTEC_STATUS_OK;
}
