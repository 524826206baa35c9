/*
 * What debuggers read beyond inputs and outputs (ptec.h): any tensor value of
 * a method, and the observer inside delegates. In their own object so that a
 * build that never calls them (firmware) does not link them.
 */

#include "executor/internal.h"

ptec_status ptec_method_value_view(const ptec_method *m, size_t value, ptec_tensor_view *out) {
  ptec_value v;
  ptec_tensor t;
  ptec_status s = ptec_method_check_ready(m);
  if (s != PTEC_STATUS_OK) return s;
  if (out == NULL || value > UINT32_MAX) return PTEC_STATUS_INVALID_ARGUMENT;
  s = ptec_method_value_tensor(m, (uint32_t)value, &v, &t);
  if (s != PTEC_STATUS_OK) return s;
  ptec_fill_view(&t, out);
  return PTEC_STATUS_OK;
}

ptec_status ptec_method_set_delegate_hook(ptec_method *m, ptec_delegate_hook hook,
                                          void *context) {
  ptec_status s = ptec_method_check_ready(m);
  if (s != PTEC_STATUS_OK) return s;
  for (uint32_t k = 0; k < m->num_delegates; k++) {
    const ptec_delegate_instance *d = &m->delegates[k];
    if (d->backend != NULL && d->backend->set_hook != NULL) {
      d->backend->set_hook(d->handle, hook, context, k);
    }
  }
  return PTEC_STATUS_OK;
}
