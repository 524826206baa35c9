/* The backends of this build. Backends add their table entry here. */
#include <string.h>

#include "backends/backend.h"

static const ptec_backend *const backends[] = {
    &ptec_tosa_backend,   /* TOSABackend: the TOSA executor (issue 4) */
    &ptec_ethosu_backend, /* EthosUBackend: Vela command streams, through a linked driver */
};

const ptec_backend *ptec_backend_find(const char *id, size_t len) {
  for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++) {
    const ptec_backend *b = backends[i];
    if (b != NULL && strlen(b->id) == len && memcmp(b->id, id, len) == 0) return b;
  }
  return NULL;
}
