/* Reading and writing NumPy .npy files (C order), for the host tools. */
#ifndef PTEC_TOOLS_NPY_H
#define PTEC_TOOLS_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "ptec/ptec.h"

typedef struct npy_array {
  int dtype;                      /* ptec_dtype */
  int rank;
  int32_t sizes[PTEC_MAX_RANK];
  void *data;                     /* malloc'ed, C order */
  size_t nbytes;
} npy_array;

/* Returns 0 on success, else -1 with a message in `err`. */
int npy_read(const char *path, npy_array *out, char *err, size_t err_cap);
/* The same from the file's bytes; `name` is for messages. Checks the header
 * within `size`, each dim below 2^31 and the byte count without overflow. */
int npy_parse(const void *bytes, size_t size, const char *name, npy_array *out, char *err,
              size_t err_cap);
int npy_write(const char *path, const npy_array *a, char *err, size_t err_cap);
void npy_free(npy_array *a);

/* Copies between an array's C order and tensor t's dim order (to_dim_order:
 * C order -> t's layout, else back). */
void npy_relayout(const ptec_tensor_view *t, const void *src, void *dst, int to_dim_order);

#endif
