/*
 * The platform side of ptec's simulated Ethos-U driver (driver.c): which NPU
 * the simulator is, the memory it works in (the caller's), the fast memory
 * that replaces region 2 (as Arm's ethosu_init does), and the last run's
 * status, message and statistics.
 *
 *   int product; uint32_t macs;
 *   ptec_ethosu_sim_driver_parse("ethos-u55-128", &product, &macs);
 *   static uint64_t work[...];   // or malloc, or a board RAM region
 *   ptec_ethosu_sim_driver_init(product, macs, NULL, 0, work, sizeof work);
 *   ... ethosu_reserve_driver() / ethosu_invoke_v3() (the EthosUBackend) ...
 */
#ifndef PTEC_ETHOSU_SIM_DRIVER_H
#define PTEC_ETHOSU_SIM_DRIVER_H

#include <stddef.h>
#include <stdint.h>

#include "backends/ethosu/sim/ethosu_sim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes of `work` the driver keeps for the simulated NPU's state (its SHRAM
 * and registers, an ethosu_sim); the rest holds one operation's decoded
 * weights (ethosu_sim_work_size). A few MiB suit models of MobileNet size. */
size_t ptec_ethosu_sim_driver_state_bytes(void);

/* Vela's accelerator name ("ethos-u55-128", "ethos-u65-256", "ethos-u85-256")
 * to a product (ETHOSU_SIM_U55 / _U65 / _U85) and MACs per cycle. Returns 0,
 * or -1 for a name that is no Ethos-U configuration. */
int ptec_ethosu_sim_driver_parse(const char *name, int *product, uint32_t *macs);

/*
 * Configures the one simulated NPU: product, MACs, the fast memory that
 * replaces region 2 (NULL for none: U55 and Shared_Sram/Sram_Only modes), and
 * the caller's work memory (any alignment; ptec_ethosu_sim_driver_state_bytes
 * and more). The memory stays the caller's and must outlive every run.
 * Returns ETHOSU_SIM_OK (0) or a status, with a message in
 * ptec_ethosu_sim_driver_last_error: ETHOSU_SIM_ERR_ARGUMENT for a
 * configuration no Ethos-U has or a reserved driver, ETHOSU_SIM_ERR_WORKSPACE
 * for too little work memory. Ethos-U85 runs too; what the simulator does
 * not model of it fails the run with ETHOSU_SIM_ERR_NOT_IMPLEMENTED.
 */
int ptec_ethosu_sim_driver_init(int product, uint32_t macs, void *fast_memory, size_t fast_size,
                                void *work, size_t work_size);

/* Unconfigures the driver (ethosu_reserve_driver returns NULL again), so the
 * caller may free the memory it gave. */
void ptec_ethosu_sim_driver_deinit(void);

/* The work budget of each ethosu_invoke_v3 (ethosu_sim_set_work_budget):
 * 0 (the default after init) derives it from the invoke's payload and
 * region sizes (ethosu_sim_default_work_budget); UINT64_MAX: no limit. */
void ptec_ethosu_sim_driver_set_work_budget(uint64_t ops);

/* The status of the last init or ethosu_invoke_v3 (ETHOSU_SIM_OK after a
 * success), and its message ("" after a success). */
int ptec_ethosu_sim_driver_last_status(void);
const char *ptec_ethosu_sim_driver_last_error(void);
/* Statistics of the last ethosu_invoke_v3. */
const ethosu_sim_stats *ptec_ethosu_sim_driver_last_stats(void);

/* Statistics summed over every ethosu_invoke_v3 since init or the last reset. */
typedef struct ptec_ethosu_sim_totals {
  uint64_t invokes; /* ethosu_invoke_v3 calls (one per delegate call) */
  uint64_t failed;  /* of which failed */
  uint64_t commands, ops, macs;
  uint64_t bytes_read[ETHOSU_SIM_MAX_REGIONS];
  uint64_t bytes_written[ETHOSU_SIM_MAX_REGIONS];
} ptec_ethosu_sim_totals;

const ptec_ethosu_sim_totals *ptec_ethosu_sim_driver_totals(void);
void ptec_ethosu_sim_driver_reset_totals(void);

#ifdef __cplusplus
}
#endif

#endif
