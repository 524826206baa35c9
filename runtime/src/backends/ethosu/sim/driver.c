/*
 * Arm's Ethos-U core driver API (ethosu_driver_api.h) on top of the
 * simulator, so the EthosUBackend links unchanged against hardware or this.
 * The driver layer, not the simulator core, owns the one driver instance and
 * the work buffer for decoded weights (PTEC_ETHOSU_SIM_WORK_BYTES): static
 * storage here is the platform's, as Arm's driver keeps its own list.
 * Checks are the real driver's: COP1 payload 16-byte aligned, a multiple of
 * 4 bytes; base addresses 16-byte aligned; region 2 replaced by the fast
 * memory given at init.
 */
#include <stdbool.h>
#include <string.h>

#include "backends/ethosu/ethosu_driver_api.h"
#include "backends/ethosu/sim/ethosu_sim_driver.h"

#ifndef PTEC_ETHOSU_SIM_WORK_BYTES
#define PTEC_ETHOSU_SIM_WORK_BYTES (8u * 1024u * 1024u)
#endif

struct ethosu_driver {
  ethosu_sim sim;
  bool initialized;
  bool reserved;
  void *fast_memory;
  size_t fast_size;
  ethosu_sim_stats stats;
  char message[256];
};

static struct ethosu_driver driver;
static uint64_t work[PTEC_ETHOSU_SIM_WORK_BYTES / sizeof(uint64_t)];

int ptec_ethosu_sim_driver_init(int product, uint32_t macs, void *fast_memory, size_t fast_size) {
  if (driver.reserved) return -1;
  if (ethosu_sim_init(&driver.sim, (ethosu_sim_product)product, macs, work, sizeof work) !=
      ETHOSU_SIM_OK) {
    return -1;
  }
  driver.fast_memory = fast_memory;
  driver.fast_size = fast_memory != NULL ? fast_size : 0;
  driver.message[0] = '\0';
  driver.initialized = true;
  return 0;
}

static int fail(const char *why) {
  size_t n = strlen(why);
  if (n >= sizeof driver.message) n = sizeof driver.message - 1;
  memcpy(driver.message, why, n);
  driver.message[n] = '\0';
  return -1;
}

const char *ptec_ethosu_sim_driver_last_error(void) { return driver.message; }

const ethosu_sim_stats *ptec_ethosu_sim_driver_last_stats(void) { return &driver.stats; }

struct ethosu_driver *ethosu_reserve_driver(void) {
  if (!driver.initialized || driver.reserved) return NULL;
  driver.reserved = true;
  return &driver;
}

void ethosu_release_driver(struct ethosu_driver *drv) {
  if (drv == &driver) driver.reserved = false;
}

int ethosu_invoke_v3(struct ethosu_driver *drv, const void *custom_data_ptr,
                     const int custom_data_size, uint64_t *const base_addr,
                     const size_t *base_addr_size, const int num_base_addr, void *user_arg) {
  (void)user_arg;
  if (drv != &driver || !driver.initialized) return -1;
  if (custom_data_ptr == NULL || custom_data_size <= 0 || custom_data_size % 4 != 0 ||
      ((uintptr_t)custom_data_ptr & 15u) != 0) {
    return fail("custom data must be 16-byte aligned, a multiple of 4 bytes");
  }
  if (num_base_addr < 0 || num_base_addr > ETHOSU_SIM_MAX_REGIONS ||
      (num_base_addr > 0 && (base_addr == NULL || base_addr_size == NULL))) {
    return fail("bad base address list");
  }
  uint64_t bases[ETHOSU_SIM_MAX_REGIONS];
  size_t sizes[ETHOSU_SIM_MAX_REGIONS];
  int n = num_base_addr;
  for (int i = 0; i < n; i++) {
    bases[i] = base_addr[i];
    sizes[i] = base_addr_size[i];
  }
  if (driver.fast_memory != NULL) {
    if (n < 3) {
      for (int i = n; i < 3; i++) bases[i] = 0, sizes[i] = 0;
      n = 3;
    }
    bases[2] = (uintptr_t)driver.fast_memory;
    sizes[2] = driver.fast_size;
  }
  for (int i = 0; i < n; i++) {
    if ((bases[i] & 15u) != 0) {
      return fail("base addresses must be 16-byte aligned");
    }
  }
  ethosu_sim_status s = ethosu_sim_run(&driver.sim, custom_data_ptr, (size_t)custom_data_size,
                                       bases, sizes, n, &driver.stats, driver.message,
                                       sizeof driver.message);
  return s == ETHOSU_SIM_OK ? 0 : -1;
}
