/*
 * The platform layer: the little the runtime's tools and runners need from
 * the system. The core never calls it; a port provides these two functions
 * (src/platform/posix.c for hosts; bare-metal Cortex-M ports use SysTick and
 * semihosting), and may supply a parallel-for (below).
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

/*
 * An optional parallel-for, supplied by the platform and handed to a method
 * with ptec_method_set_parallel (ptec.h): run(pool, task, context, count)
 * calls task(context, i) once for every i in [0, count), possibly on several
 * threads at once, and returns when all calls have returned. The core owns no
 * threads: the heavy kernels (int8 and float convolution variants) split
 * their outputs into `count` tasks that each write their own outputs, in the
 * same order as one thread would, so results do not depend on `threads`.
 * src/platform/posix_threads.c implements it with a pthread pool.
 */
typedef void (*ptec_parallel_task)(void *context, int64_t i);

typedef struct ptec_parallel_for {
  void (*run)(void *pool, ptec_parallel_task task, void *context, int64_t count);
  void *pool;
  int threads; /* how many tasks may run at once: kernels split into this many */
} ptec_parallel_for;

/* The POSIX pool (src/platform/posix_threads.c, hosts only): `threads` >= 1
 * workers including the caller's thread; NULL when it cannot be created.
 * Destroy it after the last execute that uses it. */
ptec_parallel_for *ptec_posix_parallel_create(int threads);
void ptec_posix_parallel_destroy(ptec_parallel_for *p);

/* The CPU features of this host that kernels may use (PTEC_CPU_* bits of
 * ptec.h, for ptec_method_set_cpu_features), from the OS: on AArch64 Linux
 * getauxval(AT_HWCAP / AT_HWCAP2); 0 elsewhere (src/platform/posix.c). */
uint32_t ptec_posix_cpu_features(void);

#ifdef __cplusplus
}
#endif

#endif
