/*
 * The platform's parallel-for on POSIX hosts (ptec/platform.h): a pool of
 * threads - 1 pthreads that wait on a condition variable; run() hands out the
 * task indices one at a time from a shared counter, takes part itself and
 * returns when every task has returned. One run at a time per pool (a method
 * executes on one thread); the tasks decide nothing about the results, which
 * the kernels make independent of the thread count.
 *
 * Waiting spins for up to SPIN_NS before it sleeps (workers for the next run,
 * run() for the workers' last tasks): a decode step of a language model is
 * ~100 kernels of 20-200 us each, and a worker woken from a condition variable
 * for each one (tens of microseconds on a loaded host) started late enough
 * that two threads were no faster than one. The spin only reads two atomics;
 * every decision is still taken under the lock, as without it.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "ptec/platform.h"

/* Long enough to span the gap between two kernels of a step (norms, attention,
 * one thread's ops), short enough that an idle pool gives its cores back soon. */
#define SPIN_NS 200000

#if defined(__x86_64__) || defined(__i386__)
#define CPU_RELAX() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define CPU_RELAX() __asm__ __volatile__("yield")
#else
#define CPU_RELAX() ((void)0)
#endif

typedef struct pool {
  ptec_parallel_for api; /* first: the pool is the ptec_parallel_for */
  pthread_mutex_t lock;
  pthread_cond_t wake, done;
  pthread_t *workers;
  int num_workers;
  ptec_parallel_task task;
  void *context;
  int64_t count, next;
  /* Written under the lock; read without it only by the spins. */
  _Atomic int64_t finished;
  _Atomic uint64_t generation;
  _Atomic int stop;
} pool;

static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Spins (lock released) until the run after `seen` begins or the pool stops;
 * returns with the lock held again, for the caller to check under it. */
static void spin_for_run(pool *p, uint64_t seen) {
  pthread_mutex_unlock(&p->lock);
  int64_t start = now_ns();
  for (int i = 1; atomic_load_explicit(&p->generation, memory_order_relaxed) == seen &&
                  !atomic_load_explicit(&p->stop, memory_order_relaxed);
       i++) {
    CPU_RELAX();
    if (i % 64 == 0 && now_ns() - start > SPIN_NS) break;
  }
  pthread_mutex_lock(&p->lock);
}

/* The same for run(): until every task of this run has returned. */
static void spin_for_tasks(pool *p) {
  pthread_mutex_unlock(&p->lock);
  int64_t start = now_ns();
  for (int i = 1; atomic_load_explicit(&p->finished, memory_order_relaxed) < p->count; i++) {
    CPU_RELAX();
    if (i % 64 == 0 && now_ns() - start > SPIN_NS) break;
  }
  pthread_mutex_lock(&p->lock);
}

/* Runs tasks until none is left; called and returns with the lock held. */
static void take_tasks(pool *p) {
  while (p->next < p->count) {
    int64_t i = p->next++;
    pthread_mutex_unlock(&p->lock);
    p->task(p->context, i);
    pthread_mutex_lock(&p->lock);
    if (++p->finished == p->count) pthread_cond_broadcast(&p->done);
  }
}

static void *worker(void *arg) {
  pool *p = arg;
  uint64_t seen = 0;
  pthread_mutex_lock(&p->lock);
  for (;;) {
    if (!p->stop && p->generation == seen) spin_for_run(p, seen);
    while (!p->stop && p->generation == seen) pthread_cond_wait(&p->wake, &p->lock);
    if (p->stop) break;
    seen = p->generation;
    take_tasks(p);
  }
  pthread_mutex_unlock(&p->lock);
  return NULL;
}

static void pool_run(void *arg, ptec_parallel_task task, void *context, int64_t count) {
  pool *p = arg;
  pthread_mutex_lock(&p->lock);
  p->task = task;
  p->context = context;
  p->count = count;
  p->next = 0;
  p->finished = 0;
  p->generation++;
  pthread_cond_broadcast(&p->wake);
  take_tasks(p);
  if (p->finished < p->count) spin_for_tasks(p);
  while (p->finished < p->count) pthread_cond_wait(&p->done, &p->lock);
  pthread_mutex_unlock(&p->lock);
}

ptec_parallel_for *ptec_posix_parallel_create(int threads) {
  if (threads < 1) return NULL;
  pool *p = calloc(1, sizeof *p);
  if (p == NULL) return NULL;
  p->workers = calloc((size_t)threads, sizeof *p->workers);
  if (p->workers == NULL || pthread_mutex_init(&p->lock, NULL) != 0) {
    free(p->workers);
    free(p);
    return NULL;
  }
  pthread_cond_init(&p->wake, NULL);
  pthread_cond_init(&p->done, NULL);
  p->api = (ptec_parallel_for){pool_run, p, threads};
  for (int i = 0; i < threads - 1; i++) {
    if (pthread_create(&p->workers[i], NULL, worker, p) != 0) {
      ptec_posix_parallel_destroy(&p->api);
      return NULL;
    }
    p->num_workers++;
  }
  return &p->api;
}

void ptec_posix_parallel_destroy(ptec_parallel_for *api) {
  if (api == NULL) return;
  pool *p = api->pool;
  pthread_mutex_lock(&p->lock);
  p->stop = 1;
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->lock);
  for (int i = 0; i < p->num_workers; i++) pthread_join(p->workers[i], NULL);
  pthread_cond_destroy(&p->wake);
  pthread_cond_destroy(&p->done);
  pthread_mutex_destroy(&p->lock);
  free(p->workers);
  free(p);
}
