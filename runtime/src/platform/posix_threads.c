/*
 * The platform's parallel-for on POSIX hosts (ptec/platform.h): a pool of
 * threads - 1 pthreads that wait on a condition variable; run() hands out the
 * task indices one at a time from a shared counter, takes part itself and
 * returns when every task has returned. One run at a time per pool (a method
 * executes on one thread); the tasks decide nothing about the results, which
 * the kernels make independent of the thread count.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdlib.h>

#include "ptec/platform.h"

typedef struct pool {
  ptec_parallel_for api; /* first: the pool is the ptec_parallel_for */
  pthread_mutex_t lock;
  pthread_cond_t wake, done;
  pthread_t *workers;
  int num_workers;
  ptec_parallel_task task;
  void *context;
  int64_t count, next, finished;
  uint64_t generation;
  int stop;
} pool;

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
  p->next = p->finished = 0;
  p->generation++;
  pthread_cond_broadcast(&p->wake);
  take_tasks(p);
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
