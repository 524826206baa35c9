/*
 * How the heavy kernels use the platform's optional parallel-for
 * (ptec/platform.h, ptec_method_set_parallel): a range of independent units
 * (output rows, pixel blocks) is cut into one contiguous share per thread.
 * Each unit is computed exactly as on one thread, so the results do not
 * depend on the number of threads. Without a parallel-for (NULL, or one
 * thread) the range runs here, in one call.
 */
#ifndef PTEC_KERNELS_PARALLEL_H
#define PTEC_KERNELS_PARALLEL_H

#include <stdint.h>

#include "ptec/platform.h"

/* Units [begin, end) of a job. */
typedef void (*ptec_range_fn)(const void *job, int64_t begin, int64_t end);

typedef struct ptec_range_job {
  ptec_range_fn fn;
  const void *job;
  int64_t count, shares;
} ptec_range_job;

static void ptec_range_share(void *context, int64_t i) {
  const ptec_range_job *r = context;
  int64_t begin = r->count * i / r->shares, end = r->count * (i + 1) / r->shares;
  if (begin < end) r->fn(r->job, begin, end);
}

/* fn(job, begin, end) over [0, count), cut into up to `per_thread` shares
 * per thread, which the threads take as each becomes idle (the pool hands out
 * one share at a time): with several per thread, a thread that starts late
 * (woken from sleep, or sharing its core) takes fewer shares instead of
 * holding up the call with its half of the work, which on short kernels cost
 * more than the second thread saved. */
static inline void ptec_parallel_chunks(const struct ptec_parallel_for *parallel, ptec_range_fn fn,
                                        const void *job, int64_t count, int64_t per_thread) {
  int64_t shares = parallel && parallel->threads > 1 ? parallel->threads * per_thread : 1;
  if (shares > count) shares = count;
  if (shares <= 1) {
    if (count > 0) fn(job, 0, count);
    return;
  }
  ptec_range_job r = {fn, job, count, shares};
  parallel->run(parallel->pool, ptec_range_share, &r, shares);
}

/* fn(job, begin, end) over [0, count), one share per thread. */
static inline void ptec_parallel_range(const struct ptec_parallel_for *parallel, ptec_range_fn fn,
                                       const void *job, int64_t count) {
  ptec_parallel_chunks(parallel, fn, job, count, 1);
}

#endif /* PTEC_KERNELS_PARALLEL_H */
