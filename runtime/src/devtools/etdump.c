/*
 * ETDump recorder and writer (ptec/etdump.h). Field numbers follow
 * etdump_schema_flatcc.fbs, where each table's fields are numbered in
 * declaration order.
 */
#include "ptec/etdump.h"

#include <string.h>

#include "fb_builder.h"

enum { ETDUMP_VERSION_ = 0, ETDUMP_RUN_DATA };
enum { RUN_NAME = 0, RUN_BUNDLED_INPUT_INDEX, RUN_ALLOCATORS, RUN_EVENTS };
enum { EVENT_PROFILE = 0, EVENT_ALLOCATION, EVENT_DEBUG };
enum {
  PROFILE_NAME = 0,
  PROFILE_CHAIN_INDEX,
  PROFILE_INSTRUCTION_ID,
  PROFILE_DELEGATE_DEBUG_ID_INT,
  PROFILE_DELEGATE_DEBUG_ID_STR,
  PROFILE_DELEGATE_DEBUG_METADATA,
  PROFILE_START_TIME,
  PROFILE_END_TIME,
  PROFILE_FIELDS
};

/* ExecuTorch's name for the span of one execute. */
static const char METHOD_EXECUTE[] = "Method::execute";
static const char DELEGATE_CALL[] = "DELEGATE_CALL";
/* ExecuTorch names the event block of each execute so. */
static const char RUN_NAME_EXECUTE[] = "Execute";

void ptec_etdump_init(ptec_etdump *d, ptec_etdump_event *events, size_t capacity,
                      ptec_etdump_clock clock) {
  memset(d, 0, sizeof *d);
  d->events = events;
  d->capacity = events != NULL ? capacity : 0;
  d->clock = clock;
  d->run_event = d->capacity;
}

static ptec_etdump_event *add(ptec_etdump *d) {
  if (d->count == d->capacity) {
    d->dropped++;
    return NULL;
  }
  return &d->events[d->count++];
}

void ptec_etdump_begin_run(ptec_etdump *d) {
  ptec_etdump_event *e = add(d);
  d->run_event = d->capacity;
  if (e != NULL) {
    *e = (ptec_etdump_event){METHOD_EXECUTE, -1, d->runs, 0, 0, 0, 0};
    d->run_event = (size_t)(e - d->events);
  }
  d->runs++;
  if (e != NULL) e->start = d->clock();
}

void ptec_etdump_end_run(ptec_etdump *d) {
  uint64_t now = d->clock();
  if (d->run_event < d->count) d->events[d->run_event].end = now;
  d->run_event = d->capacity;
}

/* The clock is read last when an instruction starts and first when it ends,
 * so the recorder's own work falls between events, not in them. */
void ptec_etdump_on_instruction(void *context, uint32_t instruction, const char *name, bool end) {
  ptec_etdump *d = context;
  bool delegate = strcmp(name, "delegate") == 0;
  /* Moves, jumps and frees are not calls: ExecuTorch records no event. */
  if (!delegate && strchr(name, ':') == NULL) return;
  if (!end) {
    d->instruction_start = d->clock();
    return;
  }
  uint64_t now = d->clock();
  ptec_etdump_event *e = add(d);
  if (e == NULL) return;
  uint32_t run = d->runs > 0 ? d->runs - 1 : 0;
  *e = (ptec_etdump_event){delegate ? DELEGATE_CALL : name, (int32_t)instruction, run,
                           d->instruction_start, now, 0, 0};
}

size_t ptec_etdump_count(const ptec_etdump *d) { return d->count; }
size_t ptec_etdump_dropped(const ptec_etdump *d) { return d->dropped; }

/* Per event: a ProfileEvent (vtable 20 + object <= 48 with padding), an
 * Event (vtable 6 + object 8), the name (4 + length + 1, padded to 4), its
 * offset in the events vector (4) and up to 7 bytes of alignment. */
#define BYTES_PER_EVENT 112
#define BYTES_PER_RUN 64
#define BYTES_FIXED 64

size_t ptec_etdump_bound(const ptec_etdump *d) {
  size_t bytes = BYTES_FIXED + (size_t)d->runs * BYTES_PER_RUN;
  for (size_t i = 0; i < d->count; i++) {
    bytes += BYTES_PER_EVENT + strlen(d->events[i].name);
  }
  return bytes;
}

static fb_ref profile_event(fb_builder *b, const ptec_etdump_event *e) {
  fb_ref name = fb_string(b, e->name);
  fb_table_start(b, PROFILE_FIELDS);
  fb_field_u64(b, PROFILE_END_TIME, e->end);
  fb_field_u64(b, PROFILE_START_TIME, e->start);
  fb_field_ref(b, PROFILE_NAME, name);
  /* Method::execute has no chain, as in ExecuTorch's own dumps. */
  fb_field_i32(b, PROFILE_CHAIN_INDEX, e->instruction < 0 ? -1 : 0);
  fb_field_i32(b, PROFILE_INSTRUCTION_ID, e->instruction);
  fb_field_i32(b, PROFILE_DELEGATE_DEBUG_ID_INT, -1);
  fb_ref profile = fb_table_end(b);
  fb_table_start(b, 3);
  fb_field_ref(b, EVENT_PROFILE, profile);
  return fb_table_end(b);
}

/* Event tables first, then each run's vector and table, then the vector
 * of runs: back to front, as the builder writes. */
ptec_status ptec_etdump_write(ptec_etdump *d, void *buffer, size_t capacity,
                              const uint8_t **data, size_t *size) {
  fb_builder b;
  fb_init(&b, buffer, capacity);
  size_t runs = 0;
  for (size_t end = d->count; end > 0;) {
    uint32_t run = d->events[end - 1].run;
    size_t first = end;
    while (first > 0 && d->events[first - 1].run == run) first--;
    for (size_t i = end; i-- > first;) d->events[i].written = profile_event(&b, &d->events[i]);
    fb_vector_start(&b, end - first);
    for (size_t i = end; i-- > first;) fb_vector_push(&b, d->events[i].written);
    fb_ref events = fb_vector_end(&b, end - first);
    fb_ref name = fb_string(&b, RUN_NAME_EXECUTE);
    fb_table_start(&b, 4);
    fb_field_ref(&b, RUN_EVENTS, events);
    fb_field_ref(&b, RUN_NAME, name);
    fb_field_i32(&b, RUN_BUNDLED_INPUT_INDEX, -1);
    d->events[first].run_written = fb_table_end(&b);
    runs++;
    end = first;
  }
  fb_vector_start(&b, runs);
  for (size_t i = d->count; i-- > 0;) {
    if (i == 0 || d->events[i - 1].run != d->events[i].run) {
      fb_vector_push(&b, d->events[i].run_written);
    }
  }
  fb_ref run_data = fb_vector_end(&b, runs);
  fb_table_start(&b, 2);
  fb_field_ref(&b, ETDUMP_RUN_DATA, run_data);
  fb_field_u32(&b, ETDUMP_VERSION_, 0);
  fb_ref root = fb_table_end(&b);
  const uint8_t *out = fb_finish(&b, root, "ED00", true, size);
  if (out == NULL) return PTEC_STATUS_OUT_OF_MEMORY;
  *data = out;
  return PTEC_STATUS_OK;
}

size_t ptec_etdump_struct_size(void) { return sizeof(ptec_etdump); }
size_t ptec_etdump_event_size(void) { return sizeof(ptec_etdump_event); }
