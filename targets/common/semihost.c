#include "semihost.h"

#include <string.h>

enum {
  SYS_WRITE0 = 0x04,
  SYS_GET_CMDLINE = 0x15,
  SYS_EXIT_EXTENDED = 0x20,
  ADP_STOPPED_APPLICATION_EXIT = 0x20026,
};

static uintptr_t semihost_call(uintptr_t op, const void *arg) {
  register uintptr_t r0 __asm__("r0") = op;
  register const void *r1 __asm__("r1") = arg;
  __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

void semihost_write0(const char *s) { semihost_call(SYS_WRITE0, s); }

void semihost_exit(int code) {
  /* The extended call carries the exit code on 32-bit Arm too. */
  const uintptr_t block[2] = {ADP_STOPPED_APPLICATION_EXIT, (uintptr_t)(intptr_t)code};
  for (;;) semihost_call(SYS_EXIT_EXTENDED, block);
}

int semihost_args(char *buf, size_t cap, char **argv, int max_args) {
  struct {
    char *buf;
    uintptr_t len;
  } block = {buf, cap};
  if (cap == 0 || semihost_call(SYS_GET_CMDLINE, &block) != 0) return 0;
  buf[cap - 1] = '\0';
  int argc = 0;
  char *p = buf;
  while (*p && argc < max_args) {
    while (*p == ' ') *p++ = '\0';
    if (!*p) break;
    argv[argc++] = p;
    while (*p && *p != ' ') p++;
  }
  return argc;
}
