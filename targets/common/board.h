/*
 * What the firmware knows about its board: SysTick clock and the memory
 * regions a runner may place a program and its buffers in. The same facts,
 * for the compiler, are in python/ptec/boards.py; keep the two in sync.
 */
#ifndef PTEC_TARGETS_BOARD_H
#define PTEC_TARGETS_BOARD_H

#include <stddef.h>
#include <stdint.h>

typedef enum board_region_kind {
  BOARD_REGION_FLASH, /* holds the program (read-only at run time) */
  BOARD_REGION_RAM,   /* holds planned buffers and method memory */
  BOARD_REGION_DDR,   /* off-chip DRAM: an Ethos-U program too large for the flash,
                         the simulated NPU's work memory (python/ptec/boards.py) */
} board_region_kind;

typedef struct board_region {
  const char *name;
  uintptr_t base;
  size_t size;
  board_region_kind kind;
} board_region;

typedef struct board_info {
  const char *name;         /* "mps3-an547" */
  const char *cpu;          /* "cortex-m55" */
  uint32_t systick_hz;      /* processor clock SysTick counts at */
  const board_region *regions; /* in order of preference */
  size_t num_regions;
} board_info;

extern const board_info board;
extern const uint32_t board_systick_hz; /* = board.systick_hz, for the platform layer */

/* Gives newlib's malloc one more block of memory once the firmware's own
 * heap (in its DATA region) runs out. */
void board_heap_extend(void *base, size_t size);

/* Board bring-up before main: FPU (and MVE) access, SysTick. */
void board_init(void);

#endif
