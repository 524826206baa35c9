/*
 * The part of Arm's Ethos-U core driver API (ethos-u-core-driver,
 * include/ethosu_driver.h) that ptec's EthosUBackend calls, declared here so
 * ptec builds without the driver's sources. The application links a driver
 * that defines these functions: Arm's driver on a device, or ptec's open
 * simulator of the NPU (backends/ethosu/sim/) on any CPU. The signatures are
 * the driver's own, so either links unchanged.
 *
 * Contract (the driver's, as its sources state it):
 *   - custom_data_ptr: Vela's command stream payload ("COP1" driver actions),
 *     16-byte aligned, custom_data_size a multiple of 4;
 *   - base_addr[i] / base_addr_size[i]: the address and size of region i
 *     (0: weights, 1: scratch with the inputs and outputs, 2: fast scratch),
 *     each 16-byte aligned; the driver replaces region 2 with the fast memory
 *     given to ethosu_init when there is one;
 *   - returns 0 on success, negative on failure.
 */
#ifndef PTEC_BACKENDS_ETHOSU_DRIVER_API_H
#define PTEC_BACKENDS_ETHOSU_DRIVER_API_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ethosu_driver; /* the driver's own; opaque to ptec */

struct ethosu_driver *ethosu_reserve_driver(void);
void ethosu_release_driver(struct ethosu_driver *drv);
int ethosu_invoke_v3(struct ethosu_driver *drv, const void *custom_data_ptr,
                     const int custom_data_size, uint64_t *const base_addr,
                     const size_t *base_addr_size, const int num_base_addr, void *user_arg);

#ifdef __cplusplus
}
#endif

#endif
