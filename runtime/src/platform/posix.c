/* The platform layer on POSIX hosts: stderr and CLOCK_MONOTONIC. */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <time.h>

#include "ptec/platform.h"

void ptec_platform_log(const char *line) { fprintf(stderr, "%s\n", line); }

uint64_t ptec_platform_ticks(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t ptec_platform_ticks_per_second(void) { return 1000000000u; }
