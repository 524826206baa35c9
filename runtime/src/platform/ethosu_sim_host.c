/* The hosted platform's simulated Ethos-U: malloc'd memory for the driver. */
#include "platform/ethosu_sim_host.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/ethosu/sim/ethosu_sim_driver.h"

/* The memory given to the driver (the platform's, as a board's RAM is). */
static void *work;
static size_t work_size;
static void *fast;
static size_t fast_size;

static void *grow(void *old, size_t *have, size_t want) {
  if (old != NULL && *have >= want) return old;
  free(old);
  *have = 0;
  void *p = aligned_alloc(16, (want + 15) / 16 * 16);
  if (p != NULL) *have = want;
  return p;
}

int ptec_host_npu_init(const char *npu, size_t work_bytes, size_t fast_bytes, char *msg,
                       size_t cap) {
  int product;
  uint32_t macs;
  if (msg != NULL && cap > 0) msg[0] = '\0';
  if (ptec_ethosu_sim_driver_parse(npu, &product, &macs) != 0) {
    if (msg != NULL) {
      snprintf(msg, cap, "bad argument: '%s' is no Ethos-U (ethos-u55-32/64/128/256, "
               "ethos-u65-256/512, ethos-u85-128..2048)", npu != NULL ? npu : "(null)");
    }
    return ETHOSU_SIM_ERR_ARGUMENT;
  }
  ptec_ethosu_sim_driver_deinit();
  if (work_bytes == 0) work_bytes = PTEC_HOST_NPU_DEFAULT_WORK;
  size_t want_fast = 0;
  if (product != ETHOSU_SIM_U55 && fast_bytes != (size_t)-1) {
    want_fast = fast_bytes == 0 ? (size_t)PTEC_HOST_NPU_DEFAULT_FAST : fast_bytes;
  }
  work = grow(work, &work_size, work_bytes);
  if (want_fast != 0) fast = grow(fast, &fast_size, want_fast);
  if (work == NULL || (want_fast != 0 && fast == NULL)) {
    if (msg != NULL) {
      snprintf(msg, cap, "work buffer too small: cannot allocate %zu + %zu bytes", work_bytes,
               want_fast);
    }
    return ETHOSU_SIM_ERR_WORKSPACE;
  }
  if (want_fast != 0) memset(fast, 0, want_fast);
  int s = ptec_ethosu_sim_driver_init(product, macs, want_fast != 0 ? fast : NULL, want_fast,
                                      work, work_bytes);
  if (s != 0 && msg != NULL) snprintf(msg, cap, "%s", ptec_ethosu_sim_driver_last_error());
  return s;
}

void ptec_host_npu_release(void) {
  ptec_ethosu_sim_driver_deinit();
  free(work);
  free(fast);
  work = fast = NULL;
  work_size = fast_size = 0;
}

int ptec_host_npu_last_status(void) { return ptec_ethosu_sim_driver_last_status(); }

const char *ptec_host_npu_status_name(int status) {
  return ethosu_sim_status_to_string((ethosu_sim_status)status);
}

const char *ptec_host_npu_last_error(void) { return ptec_ethosu_sim_driver_last_error(); }

size_t ptec_host_npu_stats(uint64_t *out, size_t n) {
  const ptec_ethosu_sim_totals *t = ptec_ethosu_sim_driver_totals();
  uint64_t all[PTEC_HOST_NPU_STATS] = {t->invokes, t->failed, t->commands, t->ops, t->macs};
  for (int i = 0; i < 8; i++) {
    all[5 + i] = t->bytes_read[i];
    all[13 + i] = t->bytes_written[i];
  }
  if (n > PTEC_HOST_NPU_STATS) n = PTEC_HOST_NPU_STATS;
  if (out != NULL) memcpy(out, all, n * sizeof *out);
  return n;
}

void ptec_host_npu_reset_stats(void) { ptec_ethosu_sim_driver_reset_totals(); }
