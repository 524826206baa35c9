/*
 * ptec-tsan-two-programs: runs two programs at once, each on its own thread, each with its
 * own program bytes, method memory and planned buffers (what the runtime promises: no
 * global mutable state), and checks every run's outputs against a run alone first. Built
 * with ThreadSanitizer (PTEC_TSAN=ON, `make test-tsan`), so a data race is a report.
 * Given the same file twice, the two threads share one loaded program (one ptec_program on
 * one copy of the bytes): two methods of one program, each on its own memory, whose
 * threads also ask the shared program for the method's requirements on every run.
 *
 *   ptec-tsan-two-programs a.pte b.pte [runs]
 *
 * Inputs are a fixed pattern of bytes; exit status 0 when every run matches.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ptec/ptec.h"

#define MAX_IO 16
#define MAX_PLANNED 16

typedef struct job {
  const char *path;
  int runs;
  uint8_t *bytes;
  size_t size;
  ptec_program prog;
  ptec_program *program; /* &prog, or the other job's when both name the same file */
  int shared;
  ptec_method m;
  void *memory, *planned[MAX_PLANNED], *inputs[MAX_IO], *expected[MAX_IO];
  size_t expected_bytes[MAX_IO];
  int failed;
} job;

static void *aligned(size_t n) {
  void *p = aligned_alloc(PTEC_BUFFER_ALIGNMENT, (n + 15) / 16 * 16 + 16);
  if (p) memset(p, 0, (n + 15) / 16 * 16 + 16);
  return p;
}

static int fail(job *j, const char *what, ptec_status s, const char *msg) {
  fprintf(stderr, "%s: %s: %s: %s\n", j->path, what, ptec_status_to_string(s), msg);
  j->failed = 1;
  return 1;
}

static int prepare_method(job *j);

/* Loads (unless the program is shared) and inits on this job's own memory; inputs are a
 * pattern. */
static int prepare(job *j) {
  if (j->program != &j->prog) return prepare_method(j);
  FILE *f = fopen(j->path, "rb");
  if (!f) return fail(j, "open", PTEC_STATUS_INVALID_ARGUMENT, "cannot read");
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  j->size = n > 0 ? (size_t)n : 0;
  j->bytes = aligned(j->size);
  size_t got = j->bytes ? fread(j->bytes, 1, j->size, f) : 0;
  fclose(f);
  if (got != j->size) return fail(j, "read", PTEC_STATUS_INVALID_ARGUMENT, "short read");
  ptec_status s = ptec_program_load(&j->prog, j->bytes, j->size);
  if (s != PTEC_STATUS_OK) return fail(j, "load", s, ptec_program_message(&j->prog));
  return prepare_method(j);
}

static int prepare_method(job *j) {
  ptec_method_requirements req;
  ptec_status s = ptec_program_method_requirements(j->program, 0, &req);
  if (s != PTEC_STATUS_OK) return fail(j, "requirements", s, ptec_program_message(j->program));
  if (req.num_planned_buffers > MAX_PLANNED)
    return fail(j, "requirements", PTEC_STATUS_NOT_SUPPORTED, "too many planned buffers");
  size_t sizes[MAX_PLANNED];
  for (size_t i = 0; i < req.num_planned_buffers; i++) {
    sizes[i] = ptec_method_planned_buffer_size(&req, i);
    j->planned[i] = aligned(sizes[i]);
  }
  j->memory = aligned(req.method_memory_bytes);
  s = ptec_method_init(&j->m, j->program, 0, j->memory, req.method_memory_bytes, j->planned, sizes,
                       req.num_planned_buffers);
  if (s != PTEC_STATUS_OK) return fail(j, "init", s, ptec_method_message(&j->m));
  for (size_t i = 0; i < ptec_method_num_inputs(&j->m) && i < MAX_IO; i++) {
    ptec_tensor_view v;
    s = ptec_method_input_info(&j->m, i, &v);
    if (s != PTEC_STATUS_OK) return fail(j, "input_info", s, ptec_method_message(&j->m));
    uint8_t *data = j->inputs[i] = aligned(v.nbytes);
    /* Small values: valid for every dtype (float32 patterns stay finite). */
    for (size_t k = 0; k < v.nbytes; k++) data[k] = (uint8_t)(k % 4 == 3 ? 0x3e : k * 7);
  }
  return 0;
}

static int run_once(job *j, int record) {
  for (size_t i = 0; i < ptec_method_num_inputs(&j->m) && i < MAX_IO; i++) {
    ptec_tensor_view v;
    ptec_method_input_info(&j->m, i, &v);
    v.data = j->inputs[i];
    ptec_status s = ptec_method_set_input(&j->m, i, &v);
    if (s != PTEC_STATUS_OK) return fail(j, "set_input", s, ptec_method_message(&j->m));
  }
  ptec_status s = ptec_method_execute(&j->m);
  if (s != PTEC_STATUS_OK) return fail(j, "execute", s, ptec_method_message(&j->m));
  for (size_t i = 0; i < ptec_method_num_outputs(&j->m) && i < MAX_IO; i++) {
    ptec_tensor_view out;
    s = ptec_method_get_output(&j->m, i, &out);
    if (s != PTEC_STATUS_OK) return fail(j, "get_output", s, ptec_method_message(&j->m));
    if (record) {
      j->expected[i] = aligned(out.nbytes);
      memcpy(j->expected[i], out.data, out.nbytes);
      j->expected_bytes[i] = out.nbytes;
    } else if (out.nbytes != j->expected_bytes[i] ||
               memcmp(out.data, j->expected[i], out.nbytes) != 0) {
      return fail(j, "output", PTEC_STATUS_INTERNAL, "differs from the run alone");
    }
  }
  return 0;
}

static void *worker(void *arg) {
  job *j = arg;
  for (int r = 0; r < j->runs && !j->failed; r++) {
    if (j->shared) { /* both threads read the one program */
      ptec_method_requirements req;
      ptec_status s = ptec_program_method_requirements(j->program, 0, &req);
      if (s != PTEC_STATUS_OK) fail(j, "requirements", s, "on the shared program");
    }
    run_once(j, 0);
  }
  return NULL;
}

static void release(job *j) {
  for (int i = 0; i < MAX_IO; i++) {
    free(j->inputs[i]);
    free(j->expected[i]);
  }
  for (int i = 0; i < MAX_PLANNED; i++) free(j->planned[i]);
  free(j->memory);
  free(j->bytes);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: ptec-tsan-two-programs a.pte b.pte [runs]\n");
    return 1;
  }
  int runs = argc > 3 ? atoi(argv[3]) : 3;
  static job jobs[2];
  for (int k = 0; k < 2; k++) {
    jobs[k].path = argv[1 + k];
    jobs[k].runs = runs;
    int shared = k == 1 && strcmp(argv[1], argv[2]) == 0;
    jobs[k].program = shared ? jobs[0].program : &jobs[k].prog;
    jobs[0].shared = jobs[k].shared = shared;
    if (prepare(&jobs[k]) || run_once(&jobs[k], 1)) break;
  }
  pthread_t threads[2];
  int started = 0;
  for (int k = 0; k < 2 && !jobs[0].failed && !jobs[1].failed; k++) {
    if (pthread_create(&threads[k], NULL, worker, &jobs[k]) == 0) started++;
  }
  for (int k = 0; k < started; k++) pthread_join(threads[k], NULL);
  int failed = jobs[0].failed || jobs[1].failed || started != 2;
  for (int k = 0; k < 2; k++) release(&jobs[k]);
  printf("ptec-tsan-two-programs: %s and %s%s, %d runs each on two threads at once: %s\n",
         argv[1], argv[2], jobs[1].program == jobs[0].program ? " (one shared program)" : "",
         runs, failed ? "FAILED" : "ok");
  return failed;
}
