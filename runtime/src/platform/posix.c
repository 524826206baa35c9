/* The platform layer on POSIX hosts: stderr, CLOCK_MONOTONIC and the CPU's
 * features as the OS reports them. */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <time.h>

#include "ptec/platform.h"
#include "ptec/ptec.h"

#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
/* The kernel's bits (asm/hwcap.h), spelled out for C libraries whose headers
 * predate them. */
#define PTEC_HWCAP_ASIMDDP (1ul << 20)
#define PTEC_HWCAP2_I8MM (1ul << 13)
#endif

void ptec_platform_log(const char *line) { fprintf(stderr, "%s\n", line); }

uint64_t ptec_platform_ticks(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t ptec_platform_ticks_per_second(void) { return 1000000000u; }

/* AArch64 Linux: user space may not read the ID registers itself on every
 * kernel, but the kernel publishes what it found in the auxiliary vector
 * (QEMU's user mode fills it from the -cpu model). */
uint32_t ptec_posix_cpu_features(void) {
  uint32_t f = 0;
#if defined(__aarch64__) && defined(__linux__)
  unsigned long hw = getauxval(AT_HWCAP), hw2 = getauxval(AT_HWCAP2);
  if (hw & PTEC_HWCAP_ASIMDDP) f |= PTEC_CPU_ARM_DOTPROD;
  if (hw2 & PTEC_HWCAP2_I8MM) f |= PTEC_CPU_ARM_I8MM;
#endif
  return f;
}
