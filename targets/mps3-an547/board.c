/* QEMU mps3-an547: Arm Corstone-300 FPGA image, Cortex-M55 at 32 MHz. */
#include "board.h"

const uint32_t board_systick_hz = 32000000u;

/* Keep in sync with python/ptec/boards.py. QEMU models the 8 MiB QSPI
 * flash as ROM the program cannot be read into at run time, so the runner
 * keeps the program in DDR, limited to the flash's size. */
static const board_region regions[] = {
    {"flash", 0x60000000u, 8u << 20, BOARD_REGION_FLASH},
    {"dtcm", 0x20020000u, 384u << 10, BOARD_REGION_RAM},
    {"sram", 0x01000000u, 2u << 20, BOARD_REGION_RAM},
    {"isram", 0x21000000u, 4u << 20, BOARD_REGION_RAM},
    /* QEMU maps 2 GiB of DDR at 0x60000000 (hw/arm/mps2-tz.c); the flash's
     * stand-in is its first 8 MiB. */
    {"ddr", 0x60800000u, 248u << 20, BOARD_REGION_DDR},
};

const board_info board = {"mps3-an547", "cortex-m55", 32000000u, regions,
                          sizeof regions / sizeof regions[0]};
