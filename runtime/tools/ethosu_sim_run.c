/*
 * ethosu_sim_run: runs one Vela command stream on the Ethos-U simulator.
 *
 *   ethosu_sim_run <u55|u65> <macs> <cmd.bin> <region0> [<region1> [<region2>]]
 *
 * Each region is a file ("-" for none); the files of regions 1 and up are
 * rewritten with the regions' contents after the run. Prints the status, the
 * message and per-op statistics; exits with the status number (0 = ok).
 * The work budget is ethosu_sim_default_work_budget of the files' sizes, or
 * the environment's ETHOSU_SIM_WORK_BUDGET (operations per run).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/ethosu/sim/ethosu_sim.h"

static void *read_file(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  /* 16-byte aligned (the driver's contract), at least 16 bytes. */
  size_t cap = ((size_t)(n > 0 ? n : 0) + 15) / 16 * 16 + 16;
  void *buf = aligned_alloc(16, cap);
  if (buf != NULL) {
    memset(buf, 0, cap);
    if (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n) {
      free(buf);
      buf = NULL;
    }
  }
  fclose(f);
  *size = (size_t)(n > 0 ? n : 0);
  return buf;
}

static int run(int argc, char **argv, ethosu_sim *sim, void *work, size_t work_size,
               void **bufs) {
  ethosu_sim_product product = strcmp(argv[1], "u65") == 0 ? ETHOSU_SIM_U65
                               : strcmp(argv[1], "u85") == 0 ? ETHOSU_SIM_U85
                                                             : ETHOSU_SIM_U55;
  if (ethosu_sim_init(sim, product, (uint32_t)atoi(argv[2]), work, work_size) != ETHOSU_SIM_OK) {
    fprintf(stderr, "unsupported NPU %s-%s\n", argv[1], argv[2]);
    return 102;
  }
  size_t cmd_size;
  void *cmd = bufs[0] = read_file(argv[3], &cmd_size);
  if (cmd == NULL) {
    fprintf(stderr, "cannot read %s\n", argv[3]);
    return 103;
  }
  int n = argc - 4;
  uint64_t bases[ETHOSU_SIM_MAX_REGIONS] = {0};
  size_t sizes[ETHOSU_SIM_MAX_REGIONS] = {0};
  for (int i = 0; i < n; i++) {
    if (strcmp(argv[4 + i], "-") == 0) continue;
    void *p = bufs[1 + i] = read_file(argv[4 + i], &sizes[i]);
    if (p == NULL) {
      fprintf(stderr, "cannot read %s\n", argv[4 + i]);
      return 103;
    }
    bases[i] = (uintptr_t)p;
  }
  static ethosu_sim_op_stats ops[4096];
  ethosu_sim_stats stats = {0};
  stats.op = ops;
  stats.op_cap = 4096;
  char msg[256];
  const char *budget = getenv("ETHOSU_SIM_WORK_BUDGET");
  ethosu_sim_set_work_budget(sim, budget != NULL
                                      ? (uint64_t)strtoull(budget, NULL, 0)
                                      : ethosu_sim_default_work_budget(cmd_size, sizes, n));
  ethosu_sim_status s = ethosu_sim_run(sim, cmd, cmd_size, bases, sizes, n, &stats, msg,
                                       sizeof msg);
  printf("status %d %s\n", (int)s, ethosu_sim_status_to_string(s));
  if (s != ETHOSU_SIM_OK) printf("message %s\n", msg);
  printf("commands %u ops %u macs %llu\n", stats.commands, stats.ops,
         (unsigned long long)stats.macs);
  for (uint32_t i = 0; i < stats.ops && i < stats.op_cap; i++) {
    printf("op %u @%u opcode %u mode %u macs %llu read", i, ops[i].cmd_offset, ops[i].opcode,
           ops[i].mode, (unsigned long long)ops[i].macs);
    for (int r = 0; r < 3; r++) printf(" %llu", (unsigned long long)ops[i].bytes_read[r]);
    printf(" written");
    for (int r = 0; r < 3; r++) printf(" %llu", (unsigned long long)ops[i].bytes_written[r]);
    printf("\n");
  }
  for (int i = 1; i < n; i++) {
    if (bases[i] == 0) continue;
    FILE *f = fopen(argv[4 + i], "wb");
    if (f == NULL) return 104;
    size_t written = fwrite((void *)(uintptr_t)bases[i], 1, sizes[i], f);
    fclose(f);
    if (written != sizes[i]) return 104;
  }
  return (int)s;
}

int main(int argc, char **argv) {
  if (argc < 5 || argc > 4 + ETHOSU_SIM_MAX_REGIONS) {
    fprintf(stderr, "usage: %s <u55|u65> <macs> <cmd.bin> <region0> [<region1> ...]\n", argv[0]);
    return 100;
  }
  size_t work_size = 64u << 20;
  void *work = aligned_alloc(16, work_size);
  ethosu_sim *sim = aligned_alloc(16, (sizeof *sim + 15) / 16 * 16);
  void *bufs[1 + ETHOSU_SIM_MAX_REGIONS] = {0};
  int rc = work != NULL && sim != NULL ? run(argc, argv, sim, work, work_size, bufs) : 101;
  for (int i = 0; i < 1 + ETHOSU_SIM_MAX_REGIONS; i++) free(bufs[i]);
  free(sim);
  free(work);
  return rc;
}
