/* QEMU mps2-an386: Arm MPS2 FPGA image, Cortex-M4 at 25 MHz. */
#include "board.h"

const uint32_t board_systick_hz = 25000000u;

/* Keep in sync with python/ptec/boards.py. The 16 MiB PSRAM stands in for
 * flash (the board has none): the runner reads the program into it. */
static const board_region regions[] = {
    {"flash", 0x21000000u, 16u << 20, BOARD_REGION_FLASH},
    {"sram", 0x20000000u, (4u << 20) - (256u << 10), BOARD_REGION_RAM},
};

const board_info board = {"mps2-an386", "cortex-m4", 25000000u, regions,
                          sizeof regions / sizeof regions[0]};
