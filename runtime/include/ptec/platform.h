/*
 * The platform layer: the little the runtime's tools and runners need from
 * the system. The core never calls it; a port provides these two functions
 * (src/platform/posix.c for hosts; bare-metal Cortex-M ports use SysTick and
 * semihosting).
 */
#ifndef PTEC_PLATFORM_H
#define PTEC_PLATFORM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Writes one line of text (no newline needed) to the platform's log. */
void ptec_platform_log(const char *line);

/* A monotonic tick counter and its frequency in ticks per second. */
uint64_t ptec_platform_ticks(void);
uint64_t ptec_platform_ticks_per_second(void);

#ifdef __cplusplus
}
#endif

#endif
