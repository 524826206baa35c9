#include "support/verify.h"

#include <stdio.h>

int verify_bundle(ptec_bundle *b, ptec_method *m, const char *method, double rtol, double atol) {
  size_t cases = 0;
  ptec_status s = ptec_bundle_num_cases(b, method, &cases);
  if (s == PTEC_STATUS_OK && cases == 0) {
    fprintf(stderr, "ptec-run: the bundle has no test cases for method %s\n", method);
    return 3;
  }
  size_t failed = 0;
  for (size_t k = 0; s == PTEC_STATUS_OK && k < cases; k++) {
    ptec_bundle_result result;
    s = ptec_bundle_set_inputs(b, method, k, m);
    if (s == PTEC_STATUS_OK) s = ptec_method_execute(m);
    if (s == PTEC_STATUS_OK) {
      s = ptec_bundle_check_outputs(b, method, k, m, rtol, atol, &result);
    }
    if (s == PTEC_STATUS_OK) {
      printf("ptec-run: case %zu: max error %.9g (output %zu): %s\n", k, result.max_error,
             result.worst_output, result.passed ? "ok" : "FAIL");
      failed += !result.passed;
    }
  }
  if (s != PTEC_STATUS_OK) {
    const char *message = ptec_bundle_message(b)[0] ? ptec_bundle_message(b)
                                                    : ptec_method_message(m);
    fprintf(stderr, "ptec-run: error: verify failed: %s: %s\n", ptec_status_to_string(s),
            message);
    return 2;
  }
  printf("ptec-run: verify: %zu of %zu cases passed (rtol %g, atol %g)\n", cases - failed,
         cases, rtol, atol);
  return failed ? 3 : 0;
}
