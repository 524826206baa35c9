/* The host "board" of ptec-kernel-tests: one static arena (board.h here). */
#include "board.h"

static uint8_t arena[256u << 20] __attribute__((aligned(64)));
static const board_region regions[] = {{"arena", 0, sizeof arena}};

/* The region's base is only known at run time; board is patched in a constructor. */
static board_region patched[1];
const board_info board = {"host", patched, 1};

__attribute__((constructor)) static void host_board_init(void) {
  patched[0] = regions[0];
  patched[0].base = (uintptr_t)arena;
}
