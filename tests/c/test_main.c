/*
 * C unit tests of the runtime core: the message formatter, the verifying
 * FlatBuffer reader on hand-made buffers, and API misuse. Prints
 * "N passed, N failed" and exits non-zero on any failure. Malformed whole
 * programs are tested from Python (tests/python/test_malformed.py) through
 * ptec-run built with ASan and UBSan. The EthosUBackend's tests, with a test
 * double of the NPU driver, are in test_ethosu.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/message.h"
#include "format/flatbuffer.h"
#include "check.h"
#include "ptec/ptec.h"

int test_passed, test_failed;

static void test_format(void) {
  char buf[64];
  ptec_format(buf, sizeof buf, "a%db%uc%sd%zu%lld%%", -12, 7u, "x", (size_t)99, -9223372036854775807LL - 1);
  CHECK(strcmp(buf, "a-12b7cxd99-9223372036854775808%") == 0);
  char tiny[4];
  size_t n = ptec_format(tiny, sizeof tiny, "%s", "truncated");
  CHECK(n == 3 && strcmp(tiny, "tru") == 0);
  ptec_format(buf, sizeof buf, "end%");
  CHECK(strcmp(buf, "end") == 0);
}

static void test_status_names(void) {
  CHECK(strcmp(ptec_status_to_string(PTEC_STATUS_OK), "PTEC_STATUS_OK") == 0);
  CHECK(strcmp(ptec_status_to_string(PTEC_STATUS_TRUNCATED), "PTEC_STATUS_TRUNCATED") == 0);
  CHECK(strcmp(ptec_status_to_string((ptec_status)9999), "PTEC_STATUS_UNKNOWN") == 0);
  for (int s = 0; s < PTEC_STATUS_COUNT_; s++) {
    CHECK(strncmp(ptec_status_to_string((ptec_status)s), "PTEC_STATUS_", 12) == 0);
  }
  CHECK(ptec_dtype_size(PTEC_DTYPE_FLOAT32) == 4 && ptec_dtype_size(99) == 0);
}

/* A table at 8 with a vtable at 4: [root=8][vt: size 6, tbl 8, f0 @4][soff=4][u32 field]. */
static _Alignas(16) uint8_t good[16] = {8, 0, 0, 0, 6, 0, 8, 0, 4, 0, 0, 0, 0, 0, 0, 0};

static void test_flatbuffer_reader(void) {
  fb_reader r;
  fb_table t;
  uint8_t buf[16];
  memcpy(buf, good, sizeof buf);
  buf[8] = 4; /* soffset: vtable at 8-4 = 4 */
  buf[12] = 42;
  CHECK(fb_reader_init(&r, buf, sizeof buf) == PTEC_STATUS_OK);
  CHECK(fb_root(&r, &t) == PTEC_STATUS_OK);
  uint32_t v = 0;
  CHECK(fb_u32(&r, &t, 0, 7, &v) == PTEC_STATUS_OK && v == 42);
  CHECK(fb_u32(&r, &t, 1, 7, &v) == PTEC_STATUS_OK && v == 7); /* absent: default */

  buf[0] = 200; /* root outside the buffer */
  CHECK(fb_root(&r, &t) == PTEC_STATUS_TRUNCATED);
  buf[0] = 9; /* misaligned root */
  CHECK(fb_root(&r, &t) == PTEC_STATUS_MALFORMED);
  buf[0] = 8;
  buf[8] = 100; /* vtable before the buffer */
  CHECK(fb_root(&r, &t) == PTEC_STATUS_MALFORMED);
  buf[8] = 4;
  /* The vtable's table size is not trusted (Python flatbuffers 25.2.10 shares one
   * vtable between tables of different sizes): each field is checked against the data. */
  buf[6] = 200;
  CHECK(fb_root(&r, &t) == PTEC_STATUS_OK);
  buf[6] = 8;
  CHECK(fb_reader_init(&r, buf, 14) == PTEC_STATUS_OK); /* field 0 (bytes 12..15) cut */
  CHECK(fb_root(&r, &t) == PTEC_STATUS_OK);
  CHECK(fb_u32(&r, &t, 0, 7, &v) == PTEC_STATUS_MALFORMED);
  CHECK(fb_reader_init(&r, buf, sizeof buf) == PTEC_STATUS_OK);
  CHECK(fb_reader_init(&r, buf, 4) == PTEC_STATUS_TRUNCATED);
}

static void test_api_misuse(void) {
  static _Alignas(16) uint8_t junk[64];
  ptec_program prog;
  CHECK(ptec_program_load(NULL, junk, sizeof junk) == PTEC_STATUS_INVALID_ARGUMENT);
  CHECK(ptec_program_load(&prog, NULL, 10) == PTEC_STATUS_INVALID_ARGUMENT);
  CHECK(ptec_program_load(&prog, junk + 1, 32) == PTEC_STATUS_INVALID_ARGUMENT);
  CHECK(ptec_program_load(&prog, junk, 4) == PTEC_STATUS_TRUNCATED);
  CHECK(ptec_program_load(&prog, junk, sizeof junk) == PTEC_STATUS_BAD_IDENTIFIER);
  CHECK(strstr(ptec_program_message(&prog), "expected 'ET12'") != NULL);
  ptec_method m;
  CHECK(ptec_method_init(&m, NULL, 0, NULL, 0, NULL, NULL, 0) == PTEC_STATUS_INVALID_ARGUMENT);
  memset(&m, 0, sizeof m);
  CHECK(ptec_method_execute(&m) == PTEC_STATUS_INVALID_STATE);
  CHECK(ptec_method_execute(NULL) == PTEC_STATUS_INVALID_ARGUMENT);
}

int main(int argc, char **argv) {
  if (argc == 5 && strcmp(argv[1], "ethosu") == 0) {
    return test_ethosu_program_file(argv[2], (uint32_t)strtoul(argv[3], NULL, 10),
                                    (uint32_t)strtoul(argv[4], NULL, 10));
  }
  test_format();
  test_status_names();
  test_flatbuffer_reader();
  test_api_misuse();
  test_ethosu();
  test_etdump();
  printf("%d passed, %d failed\n", test_passed, test_failed);
  return test_failed == 0 ? 0 : 1;
}
