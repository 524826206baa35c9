/* ptec-run --verify: every test case of a bundled program (ptec/bundled.h) run and checked. */
#ifndef PTEC_TOOLS_VERIFY_H
#define PTEC_TOOLS_VERIFY_H

#include "ptec/bundled.h"

/* Runs each case of `method`, printing "case K: max error E (output O): ok|FAIL".
 * Returns 0 when every case passes, 3 when one fails, 2 on a runtime error. */
int verify_bundle(ptec_bundle *b, ptec_method *m, const char *method, double rtol, double atol);

#endif
