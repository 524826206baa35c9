/*
 * ptec-runner: runs a .pte program on a board, with files over semihosting.
 *
 *   ptec-runner model.pte [--input a.npy ...] [--output-dir DIR]
 *               [--method NAME] [--profile] [--etdump FILE] [--plan-only] [--verify]
 *
 * The program is read into the board's flash region and its planned buffers
 * and method memory are placed first-fit in the RAM regions of board.c, in
 * the same order python/ptec/boards.py plans them. Inputs are .npy arrays in
 * logical (C) order, laid out in each input's dim order; outputs are written
 * as DIR/output0.npy, ... in logical order. With --profile, the SysTick ticks
 * of every operator and delegate call are printed; --etdump FILE writes them
 * as an ExecuTorch ETDump (ptec/etdump.h); model.pte may be a bundled program
 * (ptec/bundled.h), whose test cases --verify runs in place of --input,
 * printing each case's largest error; with --plan-only, the runner
 * stops after placing and initialising the method (memory figures only).
 *
 * Built with PTEC_RUNNER_ETHOSU_SIM (firmware linked with ptec_ethosu_sim as
 * its Ethos-U driver), --npu ethos-u55-128 [--npu-work BYTES]
 * [--npu-fast-memory BYTES] configures the simulated NPU: its work memory
 * (by default the largest free tail of a RAM region) and a U65's fast memory
 * are placed in the board's RAM after the method's buffers, and the NPU's
 * totals are printed after the run.
 *
 * Every result is a line "ptec-runner: <key> <values>" (python/ptec/device.py
 * reads them). Exit status as ptec-run: 0 success, 1 usage or file error,
 * 2 runtime error status, 3 the program does not fit the board's memory,
 * 4 a bundled test case failed (--verify).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board.h"
#include "ptec/bundled.h"
#include "ptec/etdump.h"
#include "ptec/platform.h"
#include "ptec/ptec.h"
#include "support/npy.h"
#ifdef PTEC_RUNNER_ETHOSU_SIM
#include "backends/ethosu/sim/ethosu_sim_driver.h"
#endif

#define MAX_INPUTS 64
#define MAX_PLANNED 16
#define MAX_PROFILED 1024

typedef struct options {
  const char *model;
  const char *inputs[MAX_INPUTS];
  int num_inputs;
  const char *output_dir;
  const char *method;
  bool profile;
  const char *etdump;
  bool plan_only;
  bool verify;
  const char *npu;
  size_t npu_work;
  size_t npu_fast;
} options;

static int usage(void) {
  printf("usage: ptec-runner model.pte [--input a.npy ...] [--output-dir DIR] [--method NAME]"
         " [--profile] [--etdump FILE] [--plan-only] [--verify]\n");
  return 1;
}

static int parse_args(int argc, char **argv, options *o) {
  memset(o, 0, sizeof *o);
  o->method = "forward";
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--input") == 0 && i + 1 < argc) {
      if (o->num_inputs == MAX_INPUTS) return -1;
      o->inputs[o->num_inputs++] = argv[++i];
    } else if (strcmp(a, "--output-dir") == 0 && i + 1 < argc) {
      o->output_dir = argv[++i];
    } else if (strcmp(a, "--method") == 0 && i + 1 < argc) {
      o->method = argv[++i];
    } else if (strcmp(a, "--profile") == 0) {
      o->profile = true;
    } else if (strcmp(a, "--etdump") == 0 && i + 1 < argc) {
      o->etdump = argv[++i];
    } else if (strcmp(a, "--verify") == 0) {
      o->verify = true;
    } else if (strcmp(a, "--plan-only") == 0) {
      o->plan_only = true;
#ifdef PTEC_RUNNER_ETHOSU_SIM
    } else if (strcmp(a, "--npu") == 0 && i + 1 < argc) {
      o->npu = argv[++i];
    } else if (strcmp(a, "--npu-work") == 0 && i + 1 < argc) {
      o->npu_work = (size_t)strtoul(argv[++i], NULL, 0);
    } else if (strcmp(a, "--npu-fast-memory") == 0 && i + 1 < argc) {
      o->npu_fast = (size_t)strtoul(argv[++i], NULL, 0);
#endif
    } else if (a[0] != '-' && o->model == NULL) {
      o->model = a;
    } else {
      return -1;
    }
  }
  return o->model ? 0 : -1;
}

/* ------------------------------------------------------------- placement */

/* Bytes used so far in each region of the board. */
static size_t region_used[8];

static size_t align_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

/* First fit over the board's regions of `kind`, in the board's order; NULL
 * (nothing printed) if none has room. */
static void *place_if_room(const char *what, size_t bytes, board_region_kind kind) {
  for (size_t r = 0; r < board.num_regions && r < 8; r++) {
    const board_region *g = &board.regions[r];
    size_t start = align_up(region_used[r], PTEC_BUFFER_ALIGNMENT);
    if (g->kind != kind || start > g->size || bytes > g->size - start) continue;
    region_used[r] = start + bytes;
    uintptr_t addr = g->base + start;
    printf("ptec-runner: place %s %s 0x%08lx %lu\n", what, g->name, (unsigned long)addr,
           (unsigned long)bytes);
    return (void *)addr;
  }
  return NULL;
}

static void *place(const char *what, size_t bytes, board_region_kind kind) {
  void *p = place_if_room(what, bytes, kind);
  if (p == NULL) {
    static const char *const kinds[] = {"flash", "RAM", "DDR"};
    printf("ptec-runner: error: %s needs %lu bytes: no %s region of %s has that much left\n",
           what, (unsigned long)bytes, kinds[kind], board.name);
  }
  return p;
}

/* The program goes into the flash. An Ethos-U firmware puts one too large for
 * it into the board's DDR (if it has one), where python/ptec/placement.py
 * places it too; a CPU-only program must fit the flash. */
static void *place_program(size_t bytes) {
#ifdef PTEC_RUNNER_ETHOSU_SIM
  void *p = place_if_room("program", bytes, BOARD_REGION_FLASH);
  if (p != NULL) return p;
  for (size_t r = 0; r < board.num_regions; r++) {
    if (board.regions[r].kind == BOARD_REGION_DDR) return place("program", bytes, BOARD_REGION_DDR);
  }
#endif
  return place("program", bytes, BOARD_REGION_FLASH);
}

/* The bytes of the largest unused tail of any region (of RAM and DDR only), and
 * that region. */
static size_t largest_tail(bool writable, size_t *region) {
  size_t best = 0;
  *region = 0;
  for (size_t r = 0; r < board.num_regions && r < 8; r++) {
    if (writable && board.regions[r].kind == BOARD_REGION_FLASH) continue;
    size_t start = align_up(region_used[r], 16);
    size_t left = start < board.regions[r].size ? board.regions[r].size - start : 0;
    if (left > best) best = left, *region = r;
  }
  return best;
}

/* The largest unused tail of any region, for newlib's heap (I/O staging). */
static void give_rest_to_heap(void) {
  size_t best_r;
  size_t best = largest_tail(false, &best_r);
  if (best == 0) return;
  size_t start = align_up(region_used[best_r], 16);
  board_heap_extend((void *)(board.regions[best_r].base + start), best);
  region_used[best_r] = board.regions[best_r].size;
}

/* -------------------------------------------------------------------- NPU */

#ifdef PTEC_RUNNER_ETHOSU_SIM
/* The simulated Ethos-U: its memory in the board's RAM, like a device's. */
static int npu_init(const options *o) {
  if (o->npu == NULL) return 0;
  int product;
  uint32_t macs;
  if (ptec_ethosu_sim_driver_parse(o->npu, &product, &macs) != 0) {
    printf("ptec-runner: error: --npu %s: no such Ethos-U\n", o->npu);
    return 1;
  }
  void *fast = NULL;
  if (o->npu_fast != 0) {
    fast = place("npu_fast", o->npu_fast, BOARD_REGION_RAM);
    if (fast == NULL) return 3;
    memset(fast, 0, o->npu_fast);
  }
  /* By default the largest free tail of a RAM or DDR region: the DDR's on a
   * board that has one, where a large model's decoded weights fit (newlib's
   * heap takes the next largest). --npu-work BYTES: first fit in RAM, then DDR. */
  size_t region = 0;
  size_t work_size = o->npu_work != 0 ? o->npu_work : largest_tail(true, &region);
  void *work = o->npu_work != 0 ? place_if_room("npu_work", work_size, BOARD_REGION_RAM)
                                : place("npu_work", work_size, board.regions[region].kind);
  if (work == NULL && o->npu_work != 0) work = place("npu_work", work_size, BOARD_REGION_DDR);
  if (work == NULL) return 3;
  int s = ptec_ethosu_sim_driver_init(product, macs, fast, o->npu_fast, work, work_size);
  if (s != 0) {
    printf("ptec-runner: error: --npu %s: %s\n", o->npu, ptec_ethosu_sim_driver_last_error());
    return 2;
  }
  printf("ptec-runner: npu %s product %d macs %lu\n", o->npu, product, (unsigned long)macs);
  return 0;
}

static void npu_report(const options *o, bool failed) {
  if (o->npu == NULL) return;
  if (failed) {
    int s = ptec_ethosu_sim_driver_last_status();
    if (s != 0) {
      printf("ptec-runner: npu_error %d %s: %s\n", s,
             ethosu_sim_status_to_string((ethosu_sim_status)s),
             ptec_ethosu_sim_driver_last_error());
    }
    return;
  }
  const ptec_ethosu_sim_totals *t = ptec_ethosu_sim_driver_totals();
  printf("ptec-runner: npu_stats invokes %lu commands %lu ops %lu macs %llu read %llu %llu %llu "
         "written %llu %llu %llu\n", (unsigned long)t->invokes, (unsigned long)t->commands,
         (unsigned long)t->ops, (unsigned long long)t->macs,
         (unsigned long long)t->bytes_read[0], (unsigned long long)t->bytes_read[1],
         (unsigned long long)t->bytes_read[2], (unsigned long long)t->bytes_written[0],
         (unsigned long long)t->bytes_written[1], (unsigned long long)t->bytes_written[2]);
}
#else
static int npu_init(const options *o) {
  (void)o;
  return 0;
}

static void npu_report(const options *o, bool failed) { (void)o, (void)failed; }
#endif

/* ------------------------------------------------------------------ files */

static void *read_program(const char *path, size_t *size) {
  *size = 0;
  FILE *f = fopen(path, "rb");
  if (!f) {
    printf("ptec-runner: error: cannot open %s\n", path);
    return NULL;
  }
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  void *buf = n < 0 ? NULL : place_program((size_t)n);
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    printf("ptec-runner: error: cannot read %s\n", path);
    buf = NULL;
  }
  fclose(f);
  *size = (size_t)n;
  return buf;
}

static int runtime_error(const char *what, ptec_status s, const char *message) {
  printf("ptec-runner: error: %s failed: %s: %s\n", what, ptec_status_to_string(s), message);
  return 2;
}

static int set_inputs(ptec_method *m, const options *o) {
  size_t n = ptec_method_num_inputs(m);
  if ((size_t)o->num_inputs != n) {  /* as the host binding reports it */
    printf("ptec-runner: error: run failed: PTEC_STATUS_INVALID_ARGUMENT: the method takes %lu "
           "inputs, %d given\n", (unsigned long)n, o->num_inputs);
    return 2;
  }
  for (size_t i = 0; i < n; i++) {
    npy_array a;
    char err[256];
    if (npy_read(o->inputs[i], &a, err, sizeof err) != 0) {
      printf("ptec-runner: error: %s\n", err);
      return 1;
    }
    ptec_tensor_view expected, given;
    ptec_status s = ptec_method_input_info(m, i, &expected);
    if (s != PTEC_STATUS_OK) {
      npy_free(&a);
      return runtime_error("input_info", s, ptec_method_message(m));
    }
    memset(&given, 0, sizeof given);
    given.dtype = a.dtype;
    given.rank = a.rank;
    given.nbytes = a.nbytes;
    memcpy(given.sizes, a.sizes, sizeof a.sizes);
    memcpy(given.dim_order, expected.dim_order, sizeof given.dim_order);
    void *laid_out = a.data;
    bool same_shape = a.rank == expected.rank && a.dtype == expected.dtype &&
                      memcmp(a.sizes, expected.sizes, sizeof(int32_t) * (size_t)a.rank) == 0;
    if (same_shape) {
      laid_out = malloc(a.nbytes ? a.nbytes : 1);
      if (laid_out == NULL) {
        npy_free(&a);
        printf("ptec-runner: error: no memory to lay out input %lu\n", (unsigned long)i);
        return 1;
      }
      npy_relayout(&expected, a.data, laid_out, 1);
    }
    given.data = laid_out;
    s = ptec_method_set_input(m, i, &given);
    if (laid_out != a.data) free(laid_out);
    npy_free(&a);
    if (s != PTEC_STATUS_OK) return runtime_error("set_input", s, ptec_method_message(m));
  }
  return 0;
}

static int write_outputs(const ptec_method *m, const char *dir) {
  for (size_t i = 0; i < ptec_method_num_outputs(m); i++) {
    ptec_tensor_view out;
    ptec_status s = ptec_method_get_output(m, i, &out);
    if (s != PTEC_STATUS_OK) return runtime_error("get_output", s, ptec_method_message(m));
    npy_array a = {.dtype = out.dtype, .rank = out.rank, .nbytes = out.nbytes};
    memcpy(a.sizes, out.sizes, sizeof a.sizes);
    a.data = malloc(out.nbytes ? out.nbytes : 1);
    if (a.data == NULL) {
      printf("ptec-runner: error: no memory to lay out output %lu\n", (unsigned long)i);
      return 1;
    }
    npy_relayout(&out, out.data, a.data, 0);
    char path[512], err[256];
    snprintf(path, sizeof path, "%s/output%lu.npy", dir, (unsigned long)i);
    int rc = npy_write(path, &a, err, sizeof err);
    npy_free(&a);
    if (rc != 0) {
      printf("ptec-runner: error: %s\n", err);
      return 1;
    }
  }
  return 0;
}

/* ------------------------------------------------------------ stack peak */

/* The stack's deepest point during init and execute: the unused part of the
 * stack reserve is painted, and later found untouched. */
extern char __stack_top[], __stack_reserve[];
#define STACK_PAINT 0xA5u

static uint8_t *stack_bottom(void) { return (uint8_t *)__stack_top - (uintptr_t)__stack_reserve; }

__attribute__((noinline)) static void stack_paint(void) {
  uintptr_t limit = (uintptr_t)__builtin_frame_address(0) - 64;
  for (uint8_t *p = stack_bottom(); (uintptr_t)p < limit; p++) *(volatile uint8_t *)p = STACK_PAINT;
}

/* Bytes between the deepest touched byte and `base` (a local of the caller). */
static size_t stack_used_below(const uint8_t *base) {
  const uint8_t *p = stack_bottom();
  while (p < base && *(volatile const uint8_t *)p == STACK_PAINT) p++;
  return (size_t)(base - p);
}

/* -------------------------------------------------------------- profiling */

/* One execute's events: the recorder of ptec/etdump.h, which reads the clock
 * last when a call starts and first when it ends, so its own instructions
 * fall between operators, not in them. */
static ptec_etdump_event profile_events[MAX_PROFILED];
static ptec_etdump profile;

/* The ETDump, built in memory from the heap and written over semihosting. */
static int write_etdump(const char *path) {
  size_t capacity = ptec_etdump_bound(&profile);
  void *buffer = malloc(capacity);
  const uint8_t *data = NULL;
  size_t size = 0;
  if (buffer == NULL ||
      ptec_etdump_write(&profile, buffer, capacity, &data, &size) != PTEC_STATUS_OK) {
    printf("ptec-runner: error: no memory for the %lu-byte ETDump\n", (unsigned long)capacity);
    free(buffer);
    return 1;
  }
  FILE *f = fopen(path, "wb");
  int ok = f != NULL && fwrite(data, 1, size, f) == size;
  if (f != NULL && fclose(f) != 0) ok = 0;
  free(buffer);
  if (!ok) {
    printf("ptec-runner: error: cannot write %s\n", path);
    return 1;
  }
  printf("ptec-runner: etdump %s %lu\n", path, (unsigned long)size);
  return 0;
}

/* Every test case of a bundled program: "ptec-runner: case K MAX_ERROR ok|FAIL", then
 * "ptec-runner: verify PASSED CASES". ExecuTorch's tolerances (rtol 1e-5, atol 1e-8). */
static int verify_cases(ptec_bundle *b, ptec_method *m, const char *method) {
  size_t cases = 0, passed = 0;
  ptec_status s = ptec_bundle_num_cases(b, method, &cases);
  for (size_t k = 0; s == PTEC_STATUS_OK && k < cases; k++) {
    ptec_bundle_result r;
    s = ptec_bundle_set_inputs(b, method, k, m);
    if (s == PTEC_STATUS_OK) s = ptec_method_execute(m);
    if (s == PTEC_STATUS_OK) s = ptec_bundle_check_outputs(b, method, k, m, 1e-5, 1e-8, &r);
    if (s == PTEC_STATUS_OK) {
      /* The firmware's printf has no floating point: the error in millionths,
       * 4e9 standing for anything larger (or NaN). */
      double micro = r.max_error * 1e6;
      unsigned long shown = micro < 4e9 ? (unsigned long)(micro + 0.5) : 4000000000UL;
      printf("ptec-runner: case %lu %lu %s\n", (unsigned long)k, shown, r.passed ? "ok" : "FAIL");
      passed += r.passed;
    }
  }
  if (s != PTEC_STATUS_OK) {
    return runtime_error("verify", s, ptec_bundle_message(b)[0] ? ptec_bundle_message(b)
                                                                : ptec_method_message(m));
  }
  printf("ptec-runner: verify %lu %lu\n", (unsigned long)passed, (unsigned long)cases);
  return passed == cases && cases > 0 ? 0 : 4;
}

/* ------------------------------------------------------------------- main */

int main(int argc, char **argv) {
  options o;
  if (parse_args(argc, argv, &o) != 0) return usage();
  printf("ptec-runner: board %s %s\n", board.name, board.cpu);
  size_t size;
  void *bytes = read_program(o.model, &size);
  if (!bytes) return size > 0 ? 3 : 1;
  ptec_bundle bundle;
  if (ptec_bundle_is_bundle(bytes, size)) {
    ptec_status bs = ptec_bundle_open(&bundle, bytes, size);
    if (bs != PTEC_STATUS_OK) return runtime_error("bundle", bs, ptec_bundle_message(&bundle));
    bytes = (void *)(uintptr_t)ptec_bundle_program(&bundle, &size);
  } else if (o.verify) {
    printf("ptec-runner: error: --verify needs a bundled program\n");
    return 1;
  }
  ptec_program prog;
  ptec_status s = ptec_program_load(&prog, bytes, size);
  if (s != PTEC_STATUS_OK) return runtime_error("load", s, ptec_program_message(&prog));
  size_t method;
  s = ptec_program_find_method(&prog, o.method, &method);
  if (s != PTEC_STATUS_OK) return runtime_error("find_method", s, ptec_program_message(&prog));
  ptec_method_requirements req;
  s = ptec_program_method_requirements(&prog, method, &req);
  if (s != PTEC_STATUS_OK) return runtime_error("requirements", s, ptec_program_message(&prog));
  if (req.num_planned_buffers > MAX_PLANNED) {
    printf("ptec-runner: error: %lu planned buffers; the runner supports %d\n",
           (unsigned long)req.num_planned_buffers, MAX_PLANNED);
    return 1;
  }

  /* Planned buffers first (the biggest consumers), then method memory. */
  void *planned[MAX_PLANNED] = {0};
  size_t planned_sizes[MAX_PLANNED] = {0};
  for (size_t i = 0; i < req.num_planned_buffers; i++) {
    char what[32];
    snprintf(what, sizeof what, "planned%lu", (unsigned long)i);
    planned_sizes[i] = ptec_method_planned_buffer_size(&req, i);
    planned[i] = place(what, planned_sizes[i], BOARD_REGION_RAM);
    if (planned[i] == NULL) return 3;
  }
  void *method_memory = place("method_memory", req.method_memory_bytes, BOARD_REGION_RAM);
  if (method_memory == NULL) return 3;
  int rc = npu_init(&o);
  if (rc != 0) return rc;
  give_rest_to_heap();

  ptec_method m;
  uint8_t stack_base;
  stack_paint();
  s = ptec_method_init(&m, &prog, method, method_memory, req.method_memory_bytes, planned,
                       planned_sizes, req.num_planned_buffers);
  size_t init_stack = stack_used_below(&stack_base);
  if (s != PTEC_STATUS_OK) return runtime_error("init", s, ptec_method_message(&m));
  printf("ptec-runner: memory %lu %lu", (unsigned long)req.method_memory_bytes,
         (unsigned long)m.scratch_size);
  for (size_t i = 0; i < req.num_planned_buffers; i++) {
    printf(" %lu", (unsigned long)planned_sizes[i]);
  }
  printf("\n");
  printf("ptec-runner: structs %lu %lu\n", (unsigned long)sizeof prog, (unsigned long)sizeof m);
  if (o.plan_only) {
    printf("ptec-runner: stack init %lu\n", (unsigned long)init_stack);
    printf("ptec-runner: ok %lu instructions (plan only)\n", (unsigned long)req.num_instructions);
    return 0;
  }

  if (o.verify) return verify_cases(&bundle, &m, o.method);
  rc = set_inputs(&m, &o);
  if (rc != 0) return rc;
  bool profiling = o.profile || o.etdump != NULL;
  if (profiling) {
    ptec_etdump_init(&profile, profile_events, MAX_PROFILED, ptec_platform_ticks);
    ptec_method_set_hook(&m, ptec_etdump_on_instruction, &profile);
    ptec_etdump_begin_run(&profile);
  }
  stack_paint();
  uint64_t t0 = ptec_platform_ticks();
  s = ptec_method_execute(&m);
  uint64_t ticks = ptec_platform_ticks() - t0;
  if (profiling) ptec_etdump_end_run(&profile);
  size_t execute_stack = stack_used_below(&stack_base);
  npu_report(&o, s != PTEC_STATUS_OK);
  if (s != PTEC_STATUS_OK) return runtime_error("execute", s, ptec_method_message(&m));
  /* With --profile the hook's frames (SysTick reads) are included. */
  printf("ptec-runner: stack init %lu execute %lu\n", (unsigned long)init_stack,
         (unsigned long)execute_stack);
  for (size_t k = 1; o.profile && k < ptec_etdump_count(&profile); k++) {
    const ptec_etdump_event *e = &profile_events[k];
    printf("ptec-runner: op %lu %s %lu\n", (unsigned long)e->instruction, e->name,
           (unsigned long)(e->end - e->start));
  }
  if (ptec_etdump_dropped(&profile)) {
    printf("ptec-runner: ops_dropped %lu\n", (unsigned long)ptec_etdump_dropped(&profile));
  }
  if (o.etdump != NULL && write_etdump(o.etdump) != 0) return 1;
  printf("ptec-runner: ticks %llu %lu\n", (unsigned long long)ticks,
         (unsigned long)ptec_platform_ticks_per_second());
  if (o.output_dir) {
    rc = write_outputs(&m, o.output_dir);
    if (rc != 0) return rc;
  }
  printf("ptec-runner: ok %lu instructions\n", (unsigned long)req.num_instructions);
  return 0;
}
