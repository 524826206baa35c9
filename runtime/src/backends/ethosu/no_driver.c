/*
 * ptec_ethosu_nodriver: the Ethos-U driver functions for a build without an
 * NPU. The backend is in every build (so a program that uses it verifies
 * and plans as anywhere); the application chooses the driver at link time
 * (PTEC_ETHOSU_DRIVER in runtime/CMakeLists.txt). With this one, running an
 * EthosUBackend delegate fails cleanly with PTEC_STATUS_DEVICE_ERROR.
 * No weak symbols: exactly one driver library is linked.
 */
#include "backends/ethosu/ethosu_driver_api.h"

struct ethosu_driver *ethosu_reserve_driver(void) { return NULL; }

void ethosu_release_driver(struct ethosu_driver *drv) { (void)drv; }

int ethosu_invoke_v3(struct ethosu_driver *drv, const void *custom_data_ptr,
                     const int custom_data_size, uint64_t *const base_addr,
                     const size_t *base_addr_size, const int num_base_addr, void *user_arg) {
  (void)drv, (void)custom_data_ptr, (void)custom_data_size, (void)base_addr;
  (void)base_addr_size, (void)num_base_addr, (void)user_arg;
  return -1;
}
