/*
 * The ETDump recorder and writer (ptec/etdump.h) with a pretend clock: the
 * file read back with the runtime's own verifying FlatBuffer reader, every
 * too-small buffer refused without a byte written outside it, and a full
 * event array counted as dropped events. tests/python/test_etdump.py reads
 * real profiles with ExecuTorch's Inspector.
 */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "format/flatbuffer.h"
#include "ptec/etdump.h"

static uint64_t fake_now;
static uint64_t fake_clock(void) { return fake_now += 10; }

/* Two executes of a program with a kernel, a move and a delegate call. */
static void record(ptec_etdump *d) {
  for (int run = 0; run < 2; run++) {
    ptec_etdump_begin_run(d);
    ptec_etdump_on_instruction(d, 0, "aten::add.out", false);
    ptec_etdump_on_instruction(d, 0, "aten::add.out", true);
    ptec_etdump_on_instruction(d, 1, "move", false);
    ptec_etdump_on_instruction(d, 1, "move", true);
    ptec_etdump_on_instruction(d, 2, "delegate", false);
    ptec_etdump_on_instruction(d, 2, "delegate", true);
    ptec_etdump_end_run(d);
  }
}

/* ETDump fields (etdump_schema_flatcc.fbs, in declaration order). */
enum { ETDUMP_RUN_DATA = 1, RUN_NAME = 0, RUN_EVENTS = 3, EVENT_PROFILE = 0 };
enum { PROFILE_NAME = 0, PROFILE_INSTRUCTION_ID = 2, PROFILE_START = 6, PROFILE_END = 7 };

static void check_file(const uint8_t *data, size_t size) {
  uint32_t prefix;
  memcpy(&prefix, data, 4);
  CHECK(prefix == size - 4);
  CHECK(memcmp(data + 8, "ED00", 4) == 0);
  fb_reader r;
  fb_table root, run, event, profile;
  fb_vector runs, events;
  CHECK(fb_reader_init(&r, data + 4, size - 4) == PTEC_STATUS_OK);
  CHECK(fb_root(&r, &root) == PTEC_STATUS_OK);
  CHECK(fb_vec(&r, &root, ETDUMP_RUN_DATA, 4, &runs) && runs.len == 2);
  static const char *names[] = {"Method::execute", "aten::add.out", "DELEGATE_CALL"};
  static const int32_t ids[] = {-1, 0, 2};
  for (uint32_t k = 0; k < 2 && fb_at(&r, &runs, k, &run); k++) {
    uint32_t len;
    const char *run_name = fb_str(&r, &run, RUN_NAME, &len);
    CHECK(run_name != NULL && strcmp(run_name, "Execute") == 0);
    CHECK(fb_vec(&r, &run, RUN_EVENTS, 4, &events) && events.len == 3);
    uint64_t run_start = 0;
    for (uint32_t i = 0; i < events.len && fb_at(&r, &events, i, &event); i++) {
      CHECK(fb_tab(&r, &event, EVENT_PROFILE, &profile));
      const char *name = fb_str(&r, &profile, PROFILE_NAME, &len);
      CHECK(name != NULL && strcmp(name, names[i]) == 0);
      CHECK((int32_t)fb_get(&r, &profile, PROFILE_INSTRUCTION_ID, 4) == ids[i]);
      uint64_t start = fb_get(&r, &profile, PROFILE_START, 8);
      uint64_t end = fb_get(&r, &profile, PROFILE_END, 8);
      /* The pretend clock ticks 10 per read: the execute spans its two calls. */
      CHECK(end == start + (i == 0 ? 50 : 10));
      if (i == 0) run_start = start;
      CHECK(start >= run_start);
    }
  }
  CHECK(r.status == PTEC_STATUS_OK);
}

void test_etdump(void) {
  ptec_etdump_event events[8];
  ptec_etdump d;
  fake_now = 0;
  ptec_etdump_init(&d, events, 8, fake_clock);
  record(&d);
  CHECK(ptec_etdump_count(&d) == 6 && ptec_etdump_dropped(&d) == 0);
  CHECK(events[0].end - events[0].start == 50); /* the span of the execute */

  enum { GUARD = 32 };
  static _Alignas(8) uint8_t memory[4096 + 2 * GUARD];
  size_t bound = ptec_etdump_bound(&d);
  CHECK(bound + 2 * GUARD <= sizeof memory);
  const uint8_t *data = NULL;
  size_t size = 0;
  memset(memory, 0xA5, sizeof memory);
  CHECK(ptec_etdump_write(&d, memory + GUARD, bound, &data, &size) == PTEC_STATUS_OK);
  CHECK(size <= bound && size % 8 == 0);
  CHECK((uintptr_t)data % 8 == 0 && data + size <= memory + GUARD + bound);
  check_file(data, size);

  /* Every smaller buffer is refused, nothing written outside it. */
  int refused = 1, inside = 1;
  size_t needed = size;
  for (size_t capacity = 0; capacity < needed; capacity++) {
    memset(memory, 0xA5, sizeof memory);
    refused &= ptec_etdump_write(&d, memory + GUARD, capacity, &data, &size) ==
               PTEC_STATUS_OUT_OF_MEMORY;
    for (size_t i = 0; i < GUARD; i++) {
      inside &= memory[i] == 0xA5 && memory[GUARD + capacity + i] == 0xA5;
    }
  }
  CHECK(refused);
  CHECK(inside);

  /* A full array drops events, counts them, and still writes a valid file. */
  ptec_etdump_init(&d, events, 4, fake_clock);
  record(&d);
  CHECK(ptec_etdump_count(&d) == 4 && ptec_etdump_dropped(&d) == 2);
  CHECK(ptec_etdump_write(&d, memory, sizeof memory, &data, &size) == PTEC_STATUS_OK);
}
