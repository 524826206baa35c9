/*
 * Per-instruction profiles in ExecuTorch's ETDump format
 * (executorch/devtools/etdump/etdump_schema_flatcc.fbs), so ExecuTorch's
 * Inspector and Model Explorer read ptec's profiles.
 *
 * A recorder is an instruction observer (ptec_method_set_hook) that keeps
 * one event per operator or delegate call in an array the caller gives; the
 * clock is the caller's too (ptec_platform_ticks on every platform ptec has).
 * Nothing is allocated. ptec_etdump_write turns the events into the file:
 * one RunData per execute, a "Method::execute" event spanning each, then an
 * event per instruction named after its operator ("aten::convolution.out")
 * or "DELEGATE_CALL", with the instruction's index as ExecuTorch numbers it.
 *
 * Lives outside the runtime core (library ptec_devtools): a build without
 * profiling links none of it, and the hook costs nothing when not installed.
 */
#ifndef PTEC_ETDUMP_H
#define PTEC_ETDUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ptec/ptec.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ptec_etdump_event {
  const char *name;     /* "Method::execute", an operator name, "DELEGATE_CALL" */
  int32_t instruction;  /* -1 for Method::execute */
  uint32_t run;
  uint64_t start;
  uint64_t end;
  uint32_t written;     /* private: where ptec_etdump_write put the event */
  uint32_t run_written; /* private: the same for its run, on a run's first event */
} ptec_etdump_event;

typedef uint64_t (*ptec_etdump_clock)(void);

typedef struct ptec_etdump {
  /* private */
  ptec_etdump_event *events;
  size_t capacity;
  size_t count;
  size_t dropped;          /* events that did not fit */
  ptec_etdump_clock clock;
  uint32_t runs;
  size_t run_event;        /* index of the open run's Method::execute, or capacity */
  uint64_t instruction_start;
} ptec_etdump;

void ptec_etdump_init(ptec_etdump *d, ptec_etdump_event *events, size_t capacity,
                      ptec_etdump_clock clock);

/* Brackets one ptec_method_execute. */
void ptec_etdump_begin_run(ptec_etdump *d);
void ptec_etdump_end_run(ptec_etdump *d);

/* The observer: ptec_method_set_hook(m, ptec_etdump_on_instruction, d). */
void ptec_etdump_on_instruction(void *etdump, uint32_t instruction, const char *name, bool end);

size_t ptec_etdump_count(const ptec_etdump *d);
size_t ptec_etdump_dropped(const ptec_etdump *d);

/* An upper bound on the size of the file for the events recorded so far. */
size_t ptec_etdump_bound(const ptec_etdump *d);

/*
 * Writes the ETDump (size-prefixed, as ExecuTorch's ETDumpGen writes it)
 * into `buffer`. On success *data points at its first byte, inside buffer
 * (the file is built from the end of the buffer), and *size is its length.
 * PTEC_STATUS_OUT_OF_MEMORY when buffer is smaller than needed. Runs whose
 * every event was dropped are left out.
 */
ptec_status ptec_etdump_write(ptec_etdump *d, void *buffer, size_t capacity,
                              const uint8_t **data, size_t *size);

/* sizeof the structures, for language bindings that allocate them. */
size_t ptec_etdump_struct_size(void);
size_t ptec_etdump_event_size(void);

#ifdef __cplusplus
}
#endif

#endif
