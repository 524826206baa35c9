/*
 * Guest instruction count from a qemu-user log of `-d in_asm,exec,nochain` on stdin
 * (bench/aarch64_kernels.py --insns builds and runs it): each translated block's length
 * (its "0x...:  " lines after "IN:") times the "Trace" lines that name its address.
 * A benchmark tool for the host, not runtime code: stdio and the heap are fine here.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct { uint64_t pc, runs, len; } slot;
static slot *table;
static uint64_t mask = (1u << 20) - 1, used;

static void grow(void);

static slot *find(uint64_t pc) {
  if (used * 2 > mask) grow();
  uint64_t h = (pc * 0x9E3779B97F4A7C15ull) >> 20;
  for (;; h++) {
    slot *s = &table[h & mask];
    if (s->pc == pc || s->pc == 0) {
      if (s->pc == 0) { s->pc = pc; used++; }
      return s;
    }
  }
}

static void grow(void) {
  slot *old = table;
  uint64_t n = mask + 1;
  mask = 2 * n - 1;
  used = 0;
  table = calloc(mask + 1, sizeof *table);
  if (!table) exit(2);
  for (uint64_t i = 0; i < n; i++)
    if (old[i].pc) { slot *s = find(old[i].pc); s->runs = old[i].runs; s->len = old[i].len; }
  free(old);
}

int main(void) {
  static char line[4096];
  table = calloc(mask + 1, sizeof *table);
  if (!table) return 2;
  uint64_t block = 0, len = 0; /* the block being read from an "IN:" listing */
  int in_block = 0;
  while (fgets(line, sizeof line, stdin)) {
    const int listing = in_block && line[0] == '0' && line[1] == 'x' && strstr(line, ":  ");
    if (in_block && !listing) { /* the listing ended: record its length */
      if (len) find(block)->len = len;
      in_block = 0;
    }
    if (listing) {
      if (len++ == 0) block = strtoull(line + 2, NULL, 16);
    } else if (line[0] == 'T' && strncmp(line, "Trace ", 6) == 0) {
      const char *p = strchr(line, '[');
      p = p ? strchr(p, '/') : NULL;
      if (p) find(strtoull(p + 1, NULL, 16))->runs++;
    } else if (strncmp(line, "IN:", 3) == 0) {
      in_block = 1;
      len = 0;
    }
  }
  if (in_block && len) find(block)->len = len;
  uint64_t total = 0;
  for (uint64_t i = 0; i <= mask; i++) total += table[i].runs * table[i].len;
  printf("%llu\n", (unsigned long long)total);
  return 0;
}
