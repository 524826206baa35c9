/*
 * ptec_method_reset_state (ptec.h, "Mutable state"): clear the planned
 * buffers and write the initial data again. Its own object: a build that
 * never resets state does not link it.
 */
#include <string.h>

#include "executor/internal.h"

ptec_status ptec_method_reset_state(ptec_method *m) {
  if (m == NULL) return PTEC_STATUS_INVALID_ARGUMENT;
  if (!m->initialized) return PTEC_STATUS_INVALID_STATE;
  for (uint32_t k = 0; k < m->num_planned; k++) {
    if (m->planned[k] != NULL) memset(m->planned[k], 0, (size_t)m->planned_sizes[k]);
  }
  /* Planned inputs were copied into the memory just cleared. */
  for (uint32_t k = 0; k < m->num_inputs; k++) {
    if (m->inputs_set[k] == 1) m->inputs_set[k] = 0;
  }
  return ptec_method_load_state(m);
}
