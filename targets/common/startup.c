/*
 * Reset and exception entry for every board: the vector table, copying .data
 * and clearing .bss, FPU/MVE access, the semihosting command line, main, and
 * exit through semihosting. The linker script (targets/<board>/link.ld)
 * provides the symbols below and puts .vectors at the boot address.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "board.h"
#include "ptec/platform.h"
#include "semihost.h"

extern uint32_t __stack_top[];
extern uint32_t __data_load[], __data_start[], __data_end[];
extern uint32_t __bss_start[], __bss_end[];

int main(int argc, char **argv);
void Reset_Handler(void);
void Default_Handler(void);
void HardFault_Handler(void);
void SysTick_Handler(void);              /* runtime/src/platform/cortex_m.c */
void initialise_monitor_handles(void);  /* newlib librdimon: stdio over semihosting */

typedef void (*vector)(void);

__attribute__((section(".vectors"), used)) const vector vector_table[16] = {
    (vector)(uintptr_t)__stack_top,
    Reset_Handler,
    Default_Handler,   /* NMI */
    HardFault_Handler,
    HardFault_Handler, /* MemManage */
    HardFault_Handler, /* BusFault */
    HardFault_Handler, /* UsageFault */
    HardFault_Handler, /* SecureFault (v8-M) */
    0, 0, 0,
    Default_Handler,   /* SVCall */
    Default_Handler,   /* DebugMonitor */
    0,
    Default_Handler,   /* PendSV */
    SysTick_Handler,
};

#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)
#define SCB_CFSR (*(volatile uint32_t *)0xE000ED28u)
#define SCB_HFSR (*(volatile uint32_t *)0xE000ED2Cu)

void board_init(void) {
  /* CP10 and CP11 full access: the FPU and, on Armv8.1-M, MVE. */
  SCB_CPACR |= 0xFu << 20;
  __asm__ volatile("dsb\n\tisb" ::: "memory");
  (void)ptec_platform_ticks(); /* starts SysTick */
}

/*
 * newlib's heap (stdio buffers, the runner's .npy staging): first the DATA
 * region between `end` and the stack reserve, then one more block a firmware
 * may hand over with board_heap_extend (memory it does not otherwise use).
 * newlib's malloc accepts memory that does not continue the previous block.
 */
extern char end[];
extern char __stack_reserve[];
static char *heap_next = end;
static char *heap_limit;
static char *extra_next, *extra_limit;

void board_heap_extend(void *base, size_t size) {
  extra_next = base;
  extra_limit = (char *)base + size;
}

/* Once the DATA heap has refused a request, every later one comes from the
 * extra block: malloc's follow-up calls (alignment corrections) must continue
 * the block it just got. */
static int data_heap_full;

void *_sbrk(ptrdiff_t incr);
void *_sbrk(ptrdiff_t incr) {
  if (heap_limit == NULL) heap_limit = (char *)__stack_top - (uintptr_t)__stack_reserve;
  if (!data_heap_full && incr >= 0 && incr <= heap_limit - heap_next) {
    char *p = heap_next;
    heap_next += incr;
    return p;
  }
  data_heap_full = 1;
  if (incr >= 0 && extra_next != NULL && incr <= extra_limit - extra_next) {
    char *p = extra_next;
    extra_next += incr;
    return p;
  }
  return (void *)-1;
}

static char cmdline[1024];
static char *args[32];

__attribute__((noreturn)) void Reset_Handler(void) {
  /* Plain loops: memcpy/memset may use the FPU, not enabled yet. */
  volatile uint32_t *src = __data_load;
  for (volatile uint32_t *dst = __data_start; dst < __data_end;) *dst++ = *src++;
  for (volatile uint32_t *dst = __bss_start; dst < __bss_end;) *dst++ = 0;
  board_init();
  initialise_monitor_handles();
  int argc = semihost_args(cmdline, sizeof cmdline, args, 31);
  args[argc] = NULL;
  int rc = main(argc, args);
  fflush(stdout);
  fflush(stderr);
  semihost_exit(rc);
}

static void print_hex(const char *label, uint32_t v) {
  char buf[32];
  static const char digits[] = "0123456789abcdef";
  size_t n = strlen(label);
  memcpy(buf, label, n);
  for (int k = 7; k >= 0; k--) buf[n++] = digits[(v >> (4 * k)) & 0xFu];
  buf[n++] = '\n';
  buf[n] = '\0';
  semihost_write0(buf);
}

void HardFault_Handler(void) {
  print_hex("fault: HFSR=0x", SCB_HFSR);
  print_hex("fault: CFSR=0x", SCB_CFSR);
  semihost_exit(70);
}

void Default_Handler(void) {
  semihost_write0("fault: unexpected exception\n");
  semihost_exit(71);
}
