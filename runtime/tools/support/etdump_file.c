#include "support/etdump_file.h"

#include <stdio.h>
#include <stdlib.h>

#include "ptec/platform.h"

int etdump_file_start(etdump_file *f, ptec_method *m, size_t instructions, int runs) {
  /* One Method::execute event per run and at most one event per instruction. */
  size_t capacity = (instructions + 1) * (size_t)runs;
  f->events = calloc(capacity, sizeof *f->events);
  if (f->events == NULL) {
    fprintf(stderr, "ptec-run: cannot allocate %zu profile events\n", capacity);
    return 1;
  }
  ptec_etdump_init(&f->recorder, f->events, capacity, ptec_platform_ticks);
  ptec_method_set_hook(m, ptec_etdump_on_instruction, &f->recorder);
  return 0;
}

int etdump_file_write(etdump_file *f, const char *path) {
  size_t capacity = ptec_etdump_bound(&f->recorder);
  void *buffer = malloc(capacity);
  const uint8_t *data = NULL;
  size_t size = 0;
  ptec_status s = buffer != NULL
                      ? ptec_etdump_write(&f->recorder, buffer, capacity, &data, &size)
                      : PTEC_STATUS_OUT_OF_MEMORY;
  int rc = 1;
  if (s != PTEC_STATUS_OK) {
    fprintf(stderr, "ptec-run: cannot build the ETDump (%s)\n", ptec_status_to_string(s));
  } else {
    FILE *out = fopen(path, "wb");
    if (out == NULL || fwrite(data, 1, size, out) != size) {
      fprintf(stderr, "ptec-run: cannot write %s\n", path);
    } else {
      rc = 0;
    }
    if (out != NULL && fclose(out) != 0) rc = 1;
  }
  free(buffer);
  return rc;
}

void etdump_file_free(etdump_file *f) {
  free(f->events);
  f->events = NULL;
}
