/*
 * Delegate backends: how a DelegateCall reaches the code that runs a
 * lowered subgraph (the TOSA executor, the Ethos-U driver glue).
 *
 * A backend is a table of functions found by the delegate's id string. Like
 * kernels, the backend table is fixed at build time (backend_table.c).
 */
#ifndef PTEC_BACKENDS_BACKEND_H
#define PTEC_BACKENDS_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "core/value.h"
#include "ptec/ptec.h"

#define PTEC_BACKEND_API_VERSION 1

typedef struct ptec_delegate_blob {
  const uint8_t *data;   /* processed bytes, inside the program */
  size_t size;
} ptec_delegate_blob;

typedef struct ptec_backend {
  const char *id;        /* as in the program, e.g. "TOSABackend" */
  uint32_t api_version;
  /* Method memory the delegate needs for this blob (known before init). */
  ptec_status (*memory_required)(const ptec_delegate_blob *blob, size_t *bytes, char *message,
                                 size_t message_capacity);
  /* Verifies the blob and prepares to run it in `memory`. */
  ptec_status (*init)(const ptec_delegate_blob *blob, void *memory, size_t bytes, void **handle,
                      char *message, size_t message_capacity);
  /* Runs it: args are value indices, inputs then outputs. */
  ptec_status (*execute)(void *handle, ptec_value *values, const int32_t *args, uint32_t num_args,
                         char *message, size_t message_capacity);
  /* Optional (NULL: not supported): installs the observer of ptec.h's
   * ptec_method_set_delegate_hook; `delegate` is this delegate's index. */
  void (*set_hook)(void *handle, ptec_delegate_hook hook, void *context, uint32_t delegate);
} ptec_backend;

/* The TOSA executor (backends/tosa/). */
extern const ptec_backend ptec_tosa_backend;
/* Ethos-U NPUs through Arm's driver API (backends/ethosu/). */
extern const ptec_backend ptec_ethosu_backend;

/* The backend registered under `id` (length `len`), or NULL. */
const ptec_backend *ptec_backend_find(const char *id, size_t len);

#endif
