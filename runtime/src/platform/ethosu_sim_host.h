/*
 * The hosted platform's simulated Ethos-U (ethosu_sim_host.c): the NPU that
 * ptec-run --npu and ptec.load(..., target="ethos-u55-128") run
 * EthosUBackend delegates on. The memory comes from malloc here, in the
 * platform layer; the driver (backends/ethosu/sim/driver.c) only uses it.
 */
#ifndef PTEC_PLATFORM_ETHOSU_SIM_HOST_H
#define PTEC_PLATFORM_ETHOSU_SIM_HOST_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
  PTEC_HOST_NPU_DEFAULT_WORK = 16 << 20, /* bytes: simulator state + decoded weights */
  PTEC_HOST_NPU_DEFAULT_FAST = 2 << 20,  /* bytes of fast memory for U65/U85 */
  /* ptec_host_npu_stats: invokes, failed, commands, ops, macs, then bytes
   * read from regions 0..7, then bytes written to regions 0..7. */
  PTEC_HOST_NPU_STATS = 5 + 2 * 8,
};

/*
 * Configures the simulated NPU `npu` (Vela's name: "ethos-u55-128", ...).
 * work_bytes / fast_bytes: 0 for the defaults; fast_bytes (U65/U85 only:
 * their Dedicated_Sram modes' region 2) may be (size_t)-1 for none. Memory
 * of an earlier call is reused when large enough. Returns the simulator's
 * status (0 = ok) with a message in `msg`.
 */
int ptec_host_npu_init(const char *npu, size_t work_bytes, size_t fast_bytes, char *msg,
                       size_t cap);
/* Unconfigures the NPU and frees its memory. */
void ptec_host_npu_release(void);
/* The simulator's status number and name, and message of the last NPU run. */
int ptec_host_npu_last_status(void);
const char *ptec_host_npu_status_name(int status);
const char *ptec_host_npu_last_error(void);
/* Totals since the last init or reset (PTEC_HOST_NPU_STATS values); returns
 * how many were written. */
size_t ptec_host_npu_stats(uint64_t *out, size_t n);
void ptec_host_npu_reset_stats(void);

#ifdef __cplusplus
}
#endif

#endif
