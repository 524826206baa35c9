/*
 * ptec-run: runs a .pte program on the host.
 *
 *   ptec-run model.pte --input a.npy [--input b.npy ...] [--output-dir DIR]
 *            [--method NAME] [--repeat N] [--describe] [--threads N]
 *            [--npu ethos-u55-128 [--npu-work BYTES] [--npu-fast-memory BYTES]
 *             [--npu-stats]] [--etdump FILE] [--verify [--rtol R] [--atol A]]
 *
 * --npu runs EthosUBackend delegates on ptec's Ethos-U simulator configured
 * as that NPU (Vela's name), with BYTES of work memory (default 16 MiB) and,
 * on a U65/U85, BYTES of fast memory for Dedicated_Sram modes (default
 * 2 MiB); --npu-stats prints the NPU's MACs and bytes per region. Without
 * --npu an Ethos-U program fails: no Ethos-U driver is available.
 *
 * --etdump FILE writes a per-instruction profile of every repeat in ExecuTorch's
 * ETDump format (ptec/etdump.h), for ExecuTorch's Inspector; times in ticks of
 * ptec_platform_ticks (nanoseconds on POSIX).
 *
 * model.pte may be a bundled program (ExecuTorch's BundledProgram, ptec/bundled.h):
 * its program runs as usual, and --verify runs each of its test cases instead of
 * --input, printing each case's largest error; exit status 3 if any case fails
 * (outside atol + rtol * |expected|, defaults ExecuTorch's 1e-8 and 1e-5).
 *
 * --no-call-cache (or PTEC_CALL_CACHE=0 in the environment) runs without the
 * call cache (ptec_method_set_call_cache), decoding each call's arguments
 * from the program as it runs, as a device short of RAM does; outputs are
 * the same. By default the method gets the cache's memory.
 *
 * --threads N (default 1) lets the heavy kernels split their outputs over N
 * threads (the platform's pthread pool, src/platform/posix_threads.c); the
 * outputs are the same for every N.
 *
 * The kernels may use the CPU features the OS reports (ptec_posix_cpu_features:
 * on AArch64 Linux SDOT and SMMLA); --cpu-features MASK keeps only the
 * PTEC_CPU_* bits in MASK (0: the build's baseline kernels). --describe also
 * prints the word used to stderr ("ptec-run: cpu features 0x3").
 *
 * A scalar input (an int, float or bool argument of the model, fixed at
 * compile time) is given as its value: --input 3, --input 0.5, --input true.
 *
 * Inputs are .npy arrays in logical (C) order; they are laid out in each
 * input's dim order (e.g. channels-last) before the run. Outputs are written
 * as DIR/output0.npy, ... in logical order. Exit status 0 on success; 1 for
 * a usage or file error; 2 when the runtime returns an error status, with
 * the status and message on stderr.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "describe.h"
#ifdef PTEC_RUN_ETHOSU_SIM
#include "platform/ethosu_sim_host.h"
#endif
#include "support/etdump_file.h"
#include "support/host_memory.h"
#include "support/verify.h"
#include "support/npy.h"
#include "ptec/platform.h"
#include "ptec/ptec.h"

#define MAX_INPUTS 64

typedef struct options {
  const char *model;
  const char *inputs[MAX_INPUTS];
  int num_inputs;
  const char *output_dir;
  const char *method;
  int repeat;
  int describe;
  const char *npu;
  size_t npu_work;
  size_t npu_fast;
  int npu_stats;
  int threads;
  unsigned long cpu_mask;
  int no_call_cache;
  const char *etdump;
  int verify;
  double rtol;
  double atol;
} options;

static int usage(void) {
  fprintf(stderr,
          "usage: ptec-run model.pte [--input a.npy ...] [--output-dir DIR] [--method NAME]\n"
          "                [--repeat N] [--describe] [--threads N] [--no-call-cache]\n"
          "                [--cpu-features MASK]\n"
          "                [--npu ethos-u55-128 [--npu-work BYTES] [--npu-fast-memory BYTES]"
          " [--npu-stats]]\n"
          "                [--etdump FILE] [--verify [--rtol R] [--atol A]]\n");
  return 1;
}

static int parse_args(int argc, char **argv, options *o) {
  memset(o, 0, sizeof *o);
  o->method = "forward";
  o->repeat = 1;
  o->threads = 1;
  o->cpu_mask = ~0ul;
  const char *cache = getenv("PTEC_CALL_CACHE");
  o->no_call_cache = cache != NULL && strcmp(cache, "0") == 0;
  o->rtol = 1e-5; /* ExecuTorch's BundledProgram defaults */
  o->atol = 1e-8;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--input") == 0 && i + 1 < argc) {
      if (o->num_inputs == MAX_INPUTS) return -1;
      o->inputs[o->num_inputs++] = argv[++i];
    } else if (strcmp(a, "--output-dir") == 0 && i + 1 < argc) {
      o->output_dir = argv[++i];
    } else if (strcmp(a, "--method") == 0 && i + 1 < argc) {
      o->method = argv[++i];
    } else if (strcmp(a, "--repeat") == 0 && i + 1 < argc) {
      o->repeat = atoi(argv[++i]);
      if (o->repeat < 1) return -1;
    } else if (strcmp(a, "--threads") == 0 && i + 1 < argc) {
      o->threads = atoi(argv[++i]);
      if (o->threads < 1 || o->threads > 256) return -1;
    } else if (strcmp(a, "--cpu-features") == 0 && i + 1 < argc) {
      o->cpu_mask = strtoul(argv[++i], NULL, 0);
    } else if (strcmp(a, "--no-call-cache") == 0) {
      o->no_call_cache = 1;
    } else if (strcmp(a, "--verify") == 0) {
      o->verify = 1;
    } else if (strcmp(a, "--rtol") == 0 && i + 1 < argc) {
      o->rtol = strtod(argv[++i], NULL);
    } else if (strcmp(a, "--atol") == 0 && i + 1 < argc) {
      o->atol = strtod(argv[++i], NULL);
    } else if (strcmp(a, "--etdump") == 0 && i + 1 < argc) {
      o->etdump = argv[++i];
    } else if (strcmp(a, "--describe") == 0) {
      o->describe = 1;
    } else if (strcmp(a, "--npu") == 0 && i + 1 < argc) {
      o->npu = argv[++i];
    } else if (strcmp(a, "--npu-work") == 0 && i + 1 < argc) {
      o->npu_work = (size_t)strtoull(argv[++i], NULL, 0);
      if (o->npu_work == 0) return -1;
    } else if (strcmp(a, "--npu-fast-memory") == 0 && i + 1 < argc) {
      o->npu_fast = (size_t)strtoull(argv[++i], NULL, 0);
      if (o->npu_fast == 0) o->npu_fast = (size_t)-1; /* 0: none */
    } else if (strcmp(a, "--npu-stats") == 0) {
      o->npu_stats = 1;
    } else if (a[0] != '-' && o->model == NULL) {
      o->model = a;
    } else {
      return -1;
    }
  }
  return o->model ? 0 : -1;
}

/* The whole file in 16-byte-aligned memory, as the runtime requires. */
static void *read_file(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  if (n < 0) {
    fclose(f);
    return NULL;
  }
  void *buf = aligned_alloc(PTEC_PROGRAM_ALIGNMENT, ((size_t)n + 15) / 16 * 16 + 16);
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  *size = (size_t)n;
  return buf;
}

/* Aligned memory for the runtime; NULL for sizes no host can give (a
 * program may claim any size). */
static void *alloc_aligned(size_t n) {
  /* In 64 bits: size_t may have 32 (the -m32 build), where the rounding below could
   * also wrap to a tiny buffer. */
  uint64_t wide = n;
  if (wide > ((uint64_t)1 << 40) || n > SIZE_MAX - 32) return NULL;
  return aligned_alloc(PTEC_BUFFER_ALIGNMENT, (n + 15) / 16 * 16 + 16);
}

static int runtime_error(const char *what, ptec_status s, const char *message) {
  fprintf(stderr, "ptec-run: %s failed: %s: %s\n", what, ptec_status_to_string(s), message);
  return 2;
}

/* --npu: the simulated Ethos-U (platform/ethosu_sim_host.c). */
static int npu_init(const options *o) {
  if (o->npu == NULL) return 0;
#ifdef PTEC_RUN_ETHOSU_SIM
  char msg[256];
  if (ptec_host_npu_init(o->npu, o->npu_work, o->npu_fast, msg, sizeof msg) != 0) {
    fprintf(stderr, "ptec-run: --npu %s: %s\n", o->npu, msg);
    return 1;
  }
  return 0;
#else
  fprintf(stderr, "ptec-run: --npu %s: this ptec-run links no Ethos-U simulator "
          "(PTEC_ETHOSU_DRIVER)\n", o->npu);
  return 1;
#endif
}

/* After a failed run: the simulator's own status and message. */
static void npu_report_error(const options *o) {
#ifdef PTEC_RUN_ETHOSU_SIM
  int s = ptec_host_npu_last_status();
  if (o->npu != NULL && s != 0) {
    fprintf(stderr, "ptec-run: NPU %s: %s (simulator status %d %s)\n", o->npu,
            ptec_host_npu_last_error(), s, ptec_host_npu_status_name(s));
  }
#else
  (void)o;
#endif
}

static void npu_print_stats(const options *o) {
#ifdef PTEC_RUN_ETHOSU_SIM
  if (o->npu == NULL || !o->npu_stats) return;
  uint64_t v[PTEC_HOST_NPU_STATS];
  ptec_host_npu_stats(v, PTEC_HOST_NPU_STATS);
  /* Totals of the last run (every delegate call of one execute). */
  fprintf(stderr, "ptec-run: npu %s: invokes %llu commands %llu ops %llu macs %llu", o->npu,
          (unsigned long long)v[0], (unsigned long long)v[2], (unsigned long long)v[3],
          (unsigned long long)v[4]);
  fprintf(stderr, " read");
  for (int r = 0; r < 3; r++) fprintf(stderr, " %llu", (unsigned long long)v[5 + r]);
  fprintf(stderr, " written");
  for (int r = 0; r < 3; r++) fprintf(stderr, " %llu", (unsigned long long)v[13 + r]);
  fprintf(stderr, "\n");
#else
  (void)o;
#endif
}

static void npu_release(void) {
#ifdef PTEC_RUN_ETHOSU_SIM
  ptec_host_npu_release();
#endif
}

/* A scalar input given on the command line, checked by the runtime against
 * the value the program was compiled for. */
static int set_scalar_input(ptec_method *m, size_t i, int32_t kind, const char *text) {
  ptec_scalar given;
  memset(&given, 0, sizeof given);
  given.kind = kind;
  char *end = NULL;
  errno = 0;
  if (kind == PTEC_INPUT_BOOL) {
    int t = strcmp(text, "true") == 0 || strcmp(text, "True") == 0 || strcmp(text, "1") == 0;
    int f = strcmp(text, "false") == 0 || strcmp(text, "False") == 0 || strcmp(text, "0") == 0;
    if (!t && !f) end = (char *)text;
    given.i = t;
  } else if (kind == PTEC_INPUT_INT) {
    given.i = strtoll(text, &end, 10);
  } else {
    given.d = strtod(text, &end);
  }
  if (end == text || (end != NULL && *end != '\0') || errno != 0) {
    fprintf(stderr, "ptec-run: input %zu is a scalar (%s): '%s' is not one\n", i,
            kind == PTEC_INPUT_BOOL ? "true or false" : kind == PTEC_INPUT_INT ? "an int" : "a float",
            text);
    return 1;
  }
  ptec_status s = ptec_method_set_input_scalar(m, i, &given);
  return s == PTEC_STATUS_OK ? 0 : runtime_error("set_input", s, ptec_method_message(m));
}

static int set_inputs(ptec_method *m, const options *o) {
  size_t n = ptec_method_num_inputs(m);
  if ((size_t)o->num_inputs != n) {
    fprintf(stderr, "ptec-run: the method takes %zu inputs, %d given\n", n, o->num_inputs);
    return 1;
  }
  for (size_t i = 0; i < n; i++) {
    int32_t kind = PTEC_INPUT_TENSOR;
    ptec_status ks = ptec_method_input_kind(m, i, &kind, NULL);
    if (ks != PTEC_STATUS_OK) return runtime_error("input_kind", ks, ptec_method_message(m));
    if (kind != PTEC_INPUT_TENSOR) {
      int rc = set_scalar_input(m, i, kind, o->inputs[i]);
      if (rc != 0) return rc;
      continue;
    }
    npy_array a;
    char err[256];
    if (npy_read(o->inputs[i], &a, err, sizeof err) != 0) {
      fprintf(stderr, "ptec-run: %s\n", err);
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
    int same_shape = a.rank == expected.rank && a.dtype == expected.dtype &&
                     memcmp(a.sizes, expected.sizes, sizeof(int32_t) * (size_t)a.rank) == 0;
    if (same_shape) {
      laid_out = malloc(a.nbytes ? a.nbytes : 1);
      if (laid_out == NULL) {
        npy_free(&a);
        fprintf(stderr, "ptec-run: cannot allocate %zu bytes for input %zu\n", a.nbytes, i);
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

/* --output-dir: creates DIR and its missing parents (mkdir -p). */
static int make_dirs(const char *dir) {
  char path[4096];
  size_t n = strlen(dir);
  if (n == 0 || n >= sizeof path) {
    fprintf(stderr, "ptec-run: bad --output-dir '%s'\n", dir);
    return 1;
  }
  memcpy(path, dir, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (path[i] != '/' && path[i] != '\0') continue;
    char c = path[i];
    path[i] = '\0';
    struct stat st;
    if (stat(path, &st) != 0) {
      if (mkdir(path, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "ptec-run: cannot create %s: %s\n", path, strerror(errno));
        return 1;
      }
    } else if (!S_ISDIR(st.st_mode)) {
      fprintf(stderr, "ptec-run: %s is not a directory\n", path);
      return 1;
    }
    path[i] = c;
  }
  return 0;
}

static int write_outputs(const ptec_method *m, const char *dir) {
  if (make_dirs(dir) != 0) return 1;
  for (size_t i = 0; i < ptec_method_num_outputs(m); i++) {
    ptec_tensor_view out;
    ptec_status s = ptec_method_get_output(m, i, &out);
    if (s != PTEC_STATUS_OK) return runtime_error("get_output", s, ptec_method_message(m));
    npy_array a = {.dtype = out.dtype, .rank = out.rank, .nbytes = out.nbytes};
    memcpy(a.sizes, out.sizes, sizeof a.sizes);
    a.data = malloc(out.nbytes ? out.nbytes : 1);
    if (a.data == NULL) {
      fprintf(stderr, "ptec-run: cannot allocate %zu bytes for output %zu\n", out.nbytes, i);
      return 1;
    }
    npy_relayout(&out, out.data, a.data, 0);
    char path[4096], err[256];
    snprintf(path, sizeof path, "%s/output%zu.npy", dir, i);
    int rc = npy_write(path, &a, err, sizeof err);
    npy_free(&a);
    if (rc != 0) {
      fprintf(stderr, "ptec-run: %s\n", err);
      return 1;
    }
  }
  return 0;
}

/* What run() allocates; main frees it on every path (LSan checks ptec-run). */
typedef struct held {
  void *bytes;
  void *method_memory;
  void *call_cache;
  void *planned[16];
  ptec_parallel_for *parallel;
  etdump_file profile;
} held;

static int run(const options *opt, held *h) {
  const options o = *opt;
  size_t size;
  void *bytes = h->bytes = read_file(o.model, &size);
  if (!bytes) {
    fprintf(stderr, "ptec-run: cannot read %s\n", o.model);
    return 1;
  }
  ptec_bundle bundle;
  bool bundled = ptec_bundle_is_bundle(bytes, size);
  if (bundled) {
    ptec_status bs = ptec_bundle_open(&bundle, bytes, size);
    if (bs != PTEC_STATUS_OK) return runtime_error("bundle", bs, ptec_bundle_message(&bundle));
    bytes = (void *)(uintptr_t)ptec_bundle_program(&bundle, &size);
  } else if (o.verify) {
    fprintf(stderr, "ptec-run: --verify needs a bundled program (ptec.bundle)\n");
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
  /* A program may state any size: what the machine cannot have is refused before
   * anything is allocated. */
  size_t need = ptec_host_memory_required(&req), have = ptec_host_memory_limit();
  if (need > have) {
    char msg[256];
    snprintf(msg, sizeof msg, "the program asks for %zu bytes of method memory and planned "
             "buffers%s, more than this machine's %zu", need,
             need == SIZE_MAX ? " (the sum overflows)" : "", have);
    return runtime_error("memory", PTEC_STATUS_OUT_OF_MEMORY, msg);
  }

  void *method_memory = h->method_memory = alloc_aligned(req.method_memory_bytes);
  void **planned = h->planned;
  size_t planned_sizes[16] = {0};
  if (req.num_planned_buffers > 16) {
    fprintf(stderr, "ptec-run: %zu planned buffers; the tool supports 16\n",
            req.num_planned_buffers);
    return 1;
  }
  size_t planned_total = 0;
  for (size_t i = 0; i < req.num_planned_buffers; i++) {
    planned_sizes[i] = ptec_method_planned_buffer_size(&req, i);
    planned[i] = alloc_aligned(planned_sizes[i]);
    if (planned[i] == NULL) {
      fprintf(stderr, "ptec-run: cannot allocate planned buffer %zu of %zu bytes\n", i,
              planned_sizes[i]);
      return 1;
    }
    planned_total += planned_sizes[i];
  }
  if (method_memory == NULL) {
    fprintf(stderr, "ptec-run: cannot allocate %zu bytes of method memory\n",
            req.method_memory_bytes);
    return 1;
  }
  ptec_method m;
  s = ptec_method_init(&m, &prog, method, method_memory, req.method_memory_bytes, planned,
                       planned_sizes, req.num_planned_buffers);
  if (s != PTEC_STATUS_OK) return runtime_error("init", s, ptec_method_message(&m));
  /* The call cache is optional: where the machine cannot give its bytes (a
   * program may claim any), the method runs without it. */
  size_t cache_bytes = 0;
  if (!o.no_call_cache) {
    s = ptec_method_call_cache_size(&m, &cache_bytes);
    if (s != PTEC_STATUS_OK) return runtime_error("call cache", s, ptec_method_message(&m));
  }
  if (!o.no_call_cache && (h->call_cache = alloc_aligned(cache_bytes)) != NULL) {
    s = ptec_method_set_call_cache(&m, h->call_cache, cache_bytes);
    if (s != PTEC_STATUS_OK) return runtime_error("call cache", s, ptec_method_message(&m));
  }
  if (o.threads > 1) {
    h->parallel = ptec_posix_parallel_create(o.threads);
    if (h->parallel == NULL) {
      fprintf(stderr, "ptec-run: cannot start %d threads\n", o.threads);
      return 1;
    }
    ptec_method_set_parallel(&m, h->parallel);
  }
  uint32_t features = ptec_posix_cpu_features() & (uint32_t)o.cpu_mask;
  ptec_method_set_cpu_features(&m, features);
  if (o.describe) {
    fprintf(stderr, "ptec-run: cpu features 0x%x\n", (unsigned)features);
    ptec_describe_method(stdout, &prog, &m, &req, planned);
    return 0;
  }
  if (o.verify) return verify_bundle(&bundle, &m, o.method, o.rtol, o.atol);
  if (o.etdump && etdump_file_start(&h->profile, &m, req.num_instructions, o.repeat) != 0) {
    return 1;
  }
  uint64_t best = UINT64_MAX;
  for (int r = 0; r < o.repeat; r++) {
    int rc = set_inputs(&m, &o);
    if (rc != 0) return rc;
#ifdef PTEC_RUN_ETHOSU_SIM
    ptec_host_npu_reset_stats();
#endif
    if (o.etdump) ptec_etdump_begin_run(&h->profile.recorder);
    uint64_t t0 = ptec_platform_ticks();
    s = ptec_method_execute(&m);
    uint64_t dt = ptec_platform_ticks() - t0;
    if (o.etdump) ptec_etdump_end_run(&h->profile.recorder);
    if (s != PTEC_STATUS_OK) {
      rc = runtime_error("execute", s, ptec_method_message(&m));
      npu_report_error(&o);
      return rc;
    }
    if (dt < best) best = dt;
  }
  if (o.output_dir) {
    int rc = write_outputs(&m, o.output_dir);
    if (rc != 0) return rc;
  }
  if (o.etdump && etdump_file_write(&h->profile, o.etdump) != 0) return 1;
  fprintf(stderr,
          "ptec-run: ok: %zu instructions, method memory %zu B, planned %zu B, best of %d: %.3f ms\n",
          req.num_instructions, req.method_memory_bytes, planned_total, o.repeat,
          (double)best * 1000.0 / (double)ptec_platform_ticks_per_second());
  npu_print_stats(&o);
  return 0;
}

int main(int argc, char **argv) {
  options o;
  if (parse_args(argc, argv, &o) != 0) return usage();
  if (npu_init(&o) != 0) return 1;
  held h = {0};
  int rc = run(&o, &h);
  for (size_t i = 0; i < 16; i++) free(h.planned[i]);
  free(h.method_memory);
  free(h.call_cache);
  free(h.bytes);
  ptec_posix_parallel_destroy(h.parallel);
  etdump_file_free(&h.profile);
  npu_release();
  return rc;
}
