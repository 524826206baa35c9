/*
 * An empty delegate-backend table, for images that measure the runtime core
 * alone (footprint-core): linking this object instead of the library's
 * backends/backend_table.c keeps every delegate backend (the TOSA executor)
 * out of the image, as a build without delegates would. A program with a
 * delegate call then fails to load with PTEC_STATUS_BACKEND_MISSING.
 */
#include "backends/backend.h"

const ptec_backend *ptec_backend_find(const char *id, size_t len) {
  (void)id;
  (void)len;
  return NULL;
}
