/*
 * Arm's Ethos-U core driver API (ethosu_driver_api.h) on top of the
 * simulator, so the EthosUBackend links unchanged against hardware or this.
 * The driver layer, not the simulator core, owns the one driver instance:
 * static storage here is the platform's, as Arm's driver keeps its own list.
 * Its memory is the caller's (ptec_ethosu_sim_driver_init): the simulated
 * NPU's state (an ethosu_sim, with its SHRAM) at the front of the work
 * memory, the decoded weights of one operation after it.
 * Checks are the real driver's: COP1 payload 16-byte aligned, a multiple of
 * 4 bytes; base addresses 16-byte aligned; region 2 replaced by the fast
 * memory given at init.
 */
#include <stdbool.h>
#include <string.h>

#include "backends/ethosu/ethosu_driver_api.h"
#include "backends/ethosu/sim/ethosu_sim_driver.h"
#include "core/message.h"

struct ethosu_driver {
  ethosu_sim *sim;  /* in the caller's work memory */
  ethosu_sim_product product;
  uint32_t macs;
  bool initialized;
  bool reserved;
  void *fast_memory;
  size_t fast_size;
  uint64_t work_budget; /* 0: ethosu_sim_default_work_budget of each payload */
  int status;
  ethosu_sim_stats stats;
  ptec_ethosu_sim_totals totals;
  char message[256];
};

static struct ethosu_driver driver;

enum { STATE_ALIGN = 16 };

size_t ptec_ethosu_sim_driver_state_bytes(void) {
  return (sizeof(ethosu_sim) + STATE_ALIGN - 1) / STATE_ALIGN * STATE_ALIGN + STATE_ALIGN;
}

int ptec_ethosu_sim_driver_parse(const char *name, int *product, uint32_t *macs) {
  static const char prefix[] = "ethos-u";
  if (name == NULL || product == NULL || macs == NULL ||
      strncmp(name, prefix, sizeof prefix - 1) != 0) {
    return -1;
  }
  const char *p = name + sizeof prefix - 1;
  if (p[0] != '5' && p[0] != '6' && p[0] != '8') return -1;
  if (p[1] != '5' || p[2] != '-') return -1;
  int family = p[0] == '5' ? ETHOSU_SIM_U55 : p[0] == '6' ? ETHOSU_SIM_U65 : ETHOSU_SIM_U85;
  uint32_t n = 0;
  p += 3;
  if (*p == '\0') return -1;
  for (; *p != '\0'; p++) {
    if (*p < '0' || *p > '9' || n > 100000u) return -1;
    n = n * 10u + (uint32_t)(*p - '0');
  }
  static const uint32_t valid[3][5] = {{32, 64, 128, 256, 0}, {256, 512, 0, 0, 0},
                                       {128, 256, 512, 1024, 2048}};
  for (int k = 0; k < 5; k++) {
    if (valid[family][k] == n && n != 0) {
      *product = family;
      *macs = n;
      return 0;
    }
  }
  return -1;
}

static int fail_status(int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ptec_vformat(driver.message, sizeof driver.message, fmt, ap);
  va_end(ap);
  driver.status = status;
  return status;
}

int ptec_ethosu_sim_driver_init(int product, uint32_t macs, void *fast_memory, size_t fast_size,
                                void *work, size_t work_size) {
  if (driver.reserved) {
    return fail_status(ETHOSU_SIM_ERR_ARGUMENT, "bad argument: the driver is reserved (a run "
                       "is under way)");
  }
  driver.initialized = false;
  driver.sim = NULL;
  uintptr_t at = (uintptr_t)work;
  size_t skip = (STATE_ALIGN - at % STATE_ALIGN) % STATE_ALIGN;
  size_t state = (sizeof(ethosu_sim) + STATE_ALIGN - 1) / STATE_ALIGN * STATE_ALIGN;
  if (work == NULL || work_size < skip || work_size - skip < state) {
    return fail_status(ETHOSU_SIM_ERR_WORKSPACE, "work buffer too small: %zu bytes given, the "
                       "simulated NPU's state needs %zu", work_size,
                       ptec_ethosu_sim_driver_state_bytes());
  }
  ethosu_sim *sim = (ethosu_sim *)(void *)((uint8_t *)work + skip);
  uint8_t *rest = (uint8_t *)sim + state;
  size_t rest_size = work_size - skip - state;
  if (ethosu_sim_init(sim, (ethosu_sim_product)product, macs, rest, rest_size) != ETHOSU_SIM_OK) {
    return fail_status(ETHOSU_SIM_ERR_ARGUMENT, "bad argument: no Ethos-U%s has %u MACs",
                       product == ETHOSU_SIM_U55   ? "55"
                       : product == ETHOSU_SIM_U65 ? "65"
                       : product == ETHOSU_SIM_U85 ? "85"
                                                   : "?",
                       macs);
  }
  driver.sim = sim;
  driver.product = (ethosu_sim_product)product;
  driver.macs = macs;
  driver.fast_memory = fast_memory;
  driver.fast_size = fast_memory != NULL ? fast_size : 0;
  driver.work_budget = 0;
  driver.message[0] = '\0';
  driver.status = ETHOSU_SIM_OK;
  memset(&driver.stats, 0, sizeof driver.stats);
  memset(&driver.totals, 0, sizeof driver.totals);
  driver.initialized = true;
  return ETHOSU_SIM_OK;
}

void ptec_ethosu_sim_driver_deinit(void) {
  if (driver.reserved) return;
  driver.initialized = false;
  driver.sim = NULL;
  driver.fast_memory = NULL;
  driver.fast_size = 0;
}

void ptec_ethosu_sim_driver_set_work_budget(uint64_t ops) { driver.work_budget = ops; }

int ptec_ethosu_sim_driver_last_status(void) { return driver.status; }

const char *ptec_ethosu_sim_driver_last_error(void) { return driver.message; }

const ethosu_sim_stats *ptec_ethosu_sim_driver_last_stats(void) { return &driver.stats; }

const ptec_ethosu_sim_totals *ptec_ethosu_sim_driver_totals(void) { return &driver.totals; }

void ptec_ethosu_sim_driver_reset_totals(void) { memset(&driver.totals, 0, sizeof driver.totals); }

static int fail(int status, const char *why) {
  fail_status(status, "%s: %s", ethosu_sim_status_to_string((ethosu_sim_status)status), why);
  driver.totals.failed++;
  return -1;
}

struct ethosu_driver *ethosu_reserve_driver(void) {
  if (!driver.initialized || driver.reserved) return NULL;
  driver.reserved = true;
  return &driver;
}

void ethosu_release_driver(struct ethosu_driver *drv) {
  if (drv == &driver) driver.reserved = false;
}

static void add_totals(const ethosu_sim_stats *s) {
  ptec_ethosu_sim_totals *t = &driver.totals;
  t->commands += s->commands;
  t->ops += s->ops;
  t->macs += s->macs;
  for (int i = 0; i < ETHOSU_SIM_MAX_REGIONS; i++) {
    t->bytes_read[i] += s->bytes_read[i];
    t->bytes_written[i] += s->bytes_written[i];
  }
}

int ethosu_invoke_v3(struct ethosu_driver *drv, const void *custom_data_ptr,
                     const int custom_data_size, uint64_t *const base_addr,
                     const size_t *base_addr_size, const int num_base_addr, void *user_arg) {
  (void)user_arg;
  if (drv != &driver || !driver.initialized) return -1;
  driver.totals.invokes++;
  memset(&driver.stats, 0, sizeof driver.stats);
  if (custom_data_ptr == NULL || custom_data_size <= 0 || custom_data_size % 4 != 0 ||
      ((uintptr_t)custom_data_ptr & 15u) != 0) {
    return fail(ETHOSU_SIM_ERR_ARGUMENT,
                "custom data must be 16-byte aligned, a multiple of 4 bytes");
  }
  if (num_base_addr < 0 || num_base_addr > ETHOSU_SIM_MAX_REGIONS ||
      (num_base_addr > 0 && (base_addr == NULL || base_addr_size == NULL))) {
    return fail(ETHOSU_SIM_ERR_ARGUMENT, "bad base address list");
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
      return fail(ETHOSU_SIM_ERR_ARGUMENT, "base addresses must be 16-byte aligned");
    }
  }
  ethosu_sim_set_work_budget(driver.sim, driver.work_budget != 0
                                             ? driver.work_budget
                                             : ethosu_sim_default_work_budget(
                                                   (size_t)custom_data_size, sizes, n));
  ethosu_sim_status s = ethosu_sim_run(driver.sim, custom_data_ptr, (size_t)custom_data_size,
                                       bases, sizes, n, &driver.stats, driver.message,
                                       sizeof driver.message);
  add_totals(&driver.stats);
  driver.status = (int)s;
  if (s != ETHOSU_SIM_OK) {
    driver.totals.failed++;
    return -1;
  }
  driver.message[0] = '\0';
  return 0;
}
