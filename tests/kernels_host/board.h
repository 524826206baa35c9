/*
 * The host stand-in for targets/common/board.h, so that
 * tests/cortex_m/kernel_tests.c also builds as a host program
 * (ptec-kernel-tests: the x86 variants against the reference kernels).
 * One "region": a static arena.
 */
#ifndef PTEC_TESTS_KERNELS_HOST_BOARD_H
#define PTEC_TESTS_KERNELS_HOST_BOARD_H

#include <stddef.h>
#include <stdint.h>

typedef struct board_region {
  const char *name;
  uintptr_t base;
  size_t size;
} board_region;

typedef struct board_info {
  const char *name;
  const board_region *regions;
  size_t num_regions;
} board_info;

extern const board_info board;

#endif
