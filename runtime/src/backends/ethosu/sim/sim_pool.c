#include "backends/ethosu/sim/sim_internal.h"

ethosu_sim_status sim_op_pool(ethosu_sim *sim, uint32_t mode) {
  return sim_fail(sim, ETHOSU_SIM_ERR_NOT_IMPLEMENTED, "pool mode %u", mode);
}
