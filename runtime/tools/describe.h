/* A canonical text description of an initialised method, as the C reader
 * decoded it. tests/python/test_pte_readers.py compares it with the same
 * description made by the Python reader. */
#ifndef PTEC_TOOLS_DESCRIBE_H
#define PTEC_TOOLS_DESCRIBE_H

#include <stdio.h>

#include "ptec/ptec.h"

void ptec_describe_method(FILE *out, const ptec_program *prog, const ptec_method *m,
                          const ptec_method_requirements *req, void *const *planned);

#endif
