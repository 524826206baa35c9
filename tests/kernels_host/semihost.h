/* The host stand-in for targets/common/semihost.h (see board.h here). */
#ifndef PTEC_TESTS_KERNELS_HOST_SEMIHOST_H
#define PTEC_TESTS_KERNELS_HOST_SEMIHOST_H

#include <stdlib.h>

static inline void semihost_exit(int code) { exit(code); }

#endif
