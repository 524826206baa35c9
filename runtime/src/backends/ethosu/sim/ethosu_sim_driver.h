/*
 * The platform side of ptec's simulated Ethos-U driver (driver.c): which NPU
 * the simulator is, the fast memory that replaces region 2 (as Arm's
 * ethosu_init does), and the last run's error and statistics.
 */
#ifndef PTEC_ETHOSU_SIM_DRIVER_H
#define PTEC_ETHOSU_SIM_DRIVER_H

#include <stddef.h>
#include <stdint.h>

#include "backends/ethosu/sim/ethosu_sim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* product: ETHOSU_SIM_U55 / _U65; macs: 32..512. fast_memory may be NULL.
 * Returns 0, or -1 for a configuration the simulator does not model. */
int ptec_ethosu_sim_driver_init(int product, uint32_t macs, void *fast_memory, size_t fast_size);

/* The message of the last failed ethosu_invoke_v3 ("" after a success). */
const char *ptec_ethosu_sim_driver_last_error(void);
/* Statistics of the last ethosu_invoke_v3. */
const ethosu_sim_stats *ptec_ethosu_sim_driver_last_stats(void);

#ifdef __cplusplus
}
#endif

#endif
