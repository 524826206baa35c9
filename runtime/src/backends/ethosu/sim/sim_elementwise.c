#include "backends/ethosu/sim/sim_internal.h"

ethosu_sim_status sim_op_elementwise(ethosu_sim *sim, uint32_t mode) {
  return sim_fail(sim, ETHOSU_SIM_ERR_NOT_IMPLEMENTED, "elementwise mode %u", mode);
}
