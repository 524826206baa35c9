/*
 * Arm semihosting: the debugger (here QEMU) services I/O requests the program
 * makes with `bkpt 0xab`. Only what the startup code and the platform layer
 * need; firmware that wants files uses newlib's stdio (librdimon), which
 * speaks the same protocol.
 */
#ifndef PTEC_TARGETS_SEMIHOST_H
#define PTEC_TARGETS_SEMIHOST_H

#include <stddef.h>
#include <stdint.h>

/* Writes a NUL-terminated string to the host's console. */
void semihost_write0(const char *s);

/* Ends the emulation; QEMU exits with `code`. Does not return. */
void semihost_exit(int code) __attribute__((noreturn));

/* The command line QEMU was given (-semihosting-config arg=...), split on
 * spaces into at most `max_args` arguments kept in `buf`. Returns argc. */
int semihost_args(char *buf, size_t cap, char **argv, int max_args);

#endif
