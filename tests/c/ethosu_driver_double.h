/*
 * A test double of Arm's Ethos-U core driver (the three functions of
 * runtime/src/backends/ethosu/ethosu_driver_api.h), linked in place of a
 * driver by the C tests and by a test firmware (tests/cortex_m).
 *
 * It checks what the EthosUBackend hands the driver, with its own reading of
 * the blob (found from the command stream, which sits 64 bytes after the
 * blob's start): 3 base addresses, each and the command stream 16-byte
 * aligned; base 0 = the blob's weight_data with its exact size; base 1 a
 * scratch of the blob's scratch_size (inside the configured method memory);
 * base 2 empty; "COP1" and a size multiple of 4; and the COP1 config word's
 * MACs and product against the NPU the double is set to, as Arm's driver
 * checks them against the hardware. Then it "runs" the NPU: with one input
 * and one output of the same size, output byte k = input byte k + 1;
 * otherwise output byte k of every output = ethosu_double_pattern(k).
 */
#ifndef PTEC_TESTS_ETHOSU_DRIVER_DOUBLE_H
#define PTEC_TESTS_ETHOSU_DRIVER_DOUBLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Products in the COP1 config word (bits 28-31). */
enum { ETHOSU_DOUBLE_U55 = 0, ETHOSU_DOUBLE_U65 = 1, ETHOSU_DOUBLE_U85 = 2 };

/* Return codes of a refused invoke, one per check. */
enum {
  ETHOSU_DOUBLE_NOT_RESERVED = -10,
  ETHOSU_DOUBLE_BAD_NUM_BASES = -11,
  ETHOSU_DOUBLE_BAD_CMD = -12,      /* alignment, size, fourcc, header */
  ETHOSU_DOUBLE_BAD_CONFIG = -13,   /* MACs or product differ from the NPU's */
  ETHOSU_DOUBLE_NO_BLOB = -14,      /* the command stream is not inside a blob */
  ETHOSU_DOUBLE_BAD_WEIGHTS = -15,
  ETHOSU_DOUBLE_BAD_SCRATCH = -16,
  ETHOSU_DOUBLE_BAD_FAST = -17,
};

typedef struct ethosu_double_config {
  uint32_t macs;          /* 32..2048 */
  uint32_t product;       /* ETHOSU_DOUBLE_U55 ... */
  const void *memory;     /* if set, the scratch must lie inside [memory, memory + size) */
  size_t memory_size;
  bool busy;              /* ethosu_reserve_driver returns NULL */
  int fail_with;          /* if non-zero, invoke returns it after its checks */
  bool log;               /* print "ethosu-double: ..." lines (the firmware's test reads them) */
} ethosu_double_config;

typedef struct ethosu_double_record {
  unsigned reserves, releases, invokes, runs;
  int last_rc;
  char error[160];        /* the last refusal, "" if none */
  uint64_t bases[3];
  size_t sizes[3];
  int num_bases;
  const void *cmd;
  int cmd_size;
} ethosu_double_record;

/* NULL restores the default: an Ethos-U55-128, no memory check, logging on. Clears the record. */
void ethosu_double_configure(const ethosu_double_config *config);
const ethosu_double_record *ethosu_double_last(void);
uint8_t ethosu_double_pattern(size_t k);

#endif
