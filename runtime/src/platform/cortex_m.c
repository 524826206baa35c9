/*
 * The platform layer on bare-metal Cortex-M: the log goes to the host over
 * semihosting (SYS_WRITE0), ticks come from SysTick on the processor clock.
 *
 * SysTick is a 24-bit down-counter; the handler counts its wraps, so ticks
 * are 64-bit and monotonic. The board's startup code provides the clock
 * frequency (board_systick_hz) and installs SysTick_Handler in its vector
 * table. Under QEMU with `-icount shift=0` every instruction takes 1 ns of
 * virtual time, so a tick is 1e9 / clock instructions and counts repeat
 * exactly from run to run.
 */
#include <stdint.h>

#include "ptec/platform.h"

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define SYST_CSR_ENABLE 1u
#define SYST_CSR_TICKINT 2u
#define SYST_CSR_CLKSOURCE 4u
#define SYST_MAX 0xFFFFFFu

/* The board's SysTick clock in Hz (targets/<board>/board.c). */
extern const uint32_t board_systick_hz;

static volatile uint32_t systick_wraps;

void SysTick_Handler(void);
void SysTick_Handler(void) { systick_wraps++; }

static void systick_start(void) {
  SYST_RVR = SYST_MAX;
  SYST_CVR = 0;
  /* Counter first, interrupt second: enabling both at once fires one wrap
   * that never happened. */
  SYST_CSR = SYST_CSR_ENABLE | SYST_CSR_CLKSOURCE;
  SYST_CSR = SYST_CSR_ENABLE | SYST_CSR_CLKSOURCE | SYST_CSR_TICKINT;
}

uint64_t ptec_platform_ticks(void) {
  if (!(SYST_CSR & SYST_CSR_ENABLE)) systick_start();
  uint32_t wraps, value;
  do {
    wraps = systick_wraps;
    value = SYST_CVR;
  } while (wraps != systick_wraps);
  return ((uint64_t)wraps << 24) + (SYST_MAX - value);
}

uint64_t ptec_platform_ticks_per_second(void) { return board_systick_hz; }

static uintptr_t semihost_write0(const char *s) {
  register uintptr_t r0 __asm__("r0") = 0x04; /* SYS_WRITE0 */
  register const char *r1 __asm__("r1") = s;
  __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

void ptec_platform_log(const char *line) {
  semihost_write0(line);
  semihost_write0("\n");
}
