/* The C tests' CHECK macro and counters (defined in test_main.c). */
#ifndef PTEC_TESTS_CHECK_H
#define PTEC_TESTS_CHECK_H

#include <stdio.h>

extern int test_passed, test_failed;

#define CHECK(cond)                                                   \
  do {                                                                \
    if (cond) {                                                       \
      test_passed++;                                                  \
    } else {                                                          \
      test_failed++;                                                  \
      fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                 \
  } while (0)

/* test_ethosu.c: the EthosUBackend with the driver test double. */
#include <stdint.h>
void test_ethosu(void);
/* `ptec-c-tests ethosu FILE.pte MACS PRODUCT`: one program run with the driver double. */
int test_ethosu_program_file(const char *path, uint32_t macs, uint32_t product);

/* test_etdump.c: the ETDump profile recorder and writer. */
void test_etdump(void);

#endif
