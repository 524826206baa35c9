/*
 * The smallest firmware: proves startup, semihosting I/O, arguments, exit
 * codes and SysTick on a board.
 *
 *   hello [code]          prints the board and its arguments, exits with `code`
 *   hello calibrate N     times a loop of exactly 2*N instructions:
 *                         "calibrate: <instructions> <ticks> <ticks per second>"
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board.h"
#include "ptec/platform.h"
#include "ptec/ptec.h"

/* `subs` + `bne`, n times: 2n instructions, whatever the compiler does. */
static uint64_t time_loop(uint32_t n) {
  uint64_t t0 = ptec_platform_ticks();
  __asm__ volatile("1:\n\tsubs %0, %0, #1\n\tbne 1b" : "+r"(n) : : "cc");
  return ptec_platform_ticks() - t0;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "calibrate") == 0) {
    uint32_t n = (uint32_t)strtoul(argv[2], NULL, 10);
    uint64_t ticks = time_loop(n);
    printf("calibrate: %lu %llu %lu\n", (unsigned long)(2u * n), (unsigned long long)ticks,
           (unsigned long)ptec_platform_ticks_per_second());
    return 0;
  }
  printf("hello from %s (%s), ptec %d.%d, %lu operators\n", board.name, board.cpu,
         PTEC_VERSION_MAJOR, PTEC_VERSION_MINOR, (unsigned long)ptec_operator_count());
  for (int i = 0; i < argc; i++) printf("arg %d: %s\n", i, argv[i]);
  return argc > 1 ? atoi(argv[1]) : 0;
}
