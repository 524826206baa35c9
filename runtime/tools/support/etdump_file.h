/* ptec-run --etdump: one profile recorder for all repeats, written as an ETDump file. */
#ifndef PTEC_TOOLS_ETDUMP_FILE_H
#define PTEC_TOOLS_ETDUMP_FILE_H

#include "ptec/etdump.h"

typedef struct etdump_file {
  ptec_etdump recorder;
  ptec_etdump_event *events;
} etdump_file;

/* Room for `runs` executes of a method of `instructions` instructions; installs the
 * recorder as m's observer. Returns 0, or 1 (with a message) if memory is short. */
int etdump_file_start(etdump_file *f, ptec_method *m, size_t instructions, int runs);

/* Writes the file; 0 on success, 1 (with a message) on an error. */
int etdump_file_write(etdump_file *f, const char *path);

void etdump_file_free(etdump_file *f);

#endif
