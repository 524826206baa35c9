/*
 * The EthosUBackend delegate: runs a Vela command stream on an Ethos-U NPU
 * through Arm's core driver API (ethosu_driver_api.h).
 *
 *   memory_required: the handle plus the NPU's scratch (the blob's
 *                    scratch_size, 16-byte aligned): the scratch is method
 *                    memory, sized from the file before init.
 *   init:            verifies the blob (vela_bin.c); keeps pointers into it.
 *   execute:         checks the method's tensors against the blob's inputs
 *                    and outputs, copies inputs into the scratch, runs the
 *                    stream on a reserved driver, copies outputs out.
 *
 * Inputs and outputs live in the scratch (region 1), as in ExecuTorch's
 * backend; the weights are read where the program holds them (maybe flash).
 * Which driver is linked is the application's choice: Arm's, ptec's NPU
 * simulator, or ptec_ethosu_nodriver (runtime/CMakeLists.txt,
 * PTEC_ETHOSU_DRIVER). This file only declares the functions.
 */
#include <stdbool.h>
#include <string.h>

#include "backends/backend.h"
#include "backends/ethosu/ethosu_driver_api.h"
#include "backends/ethosu/vela_bin.h"
#include "core/message.h"

typedef struct ethosu_handle {
  vela_bin bin;
  uint8_t *scratch;  /* scratch_size bytes, 16-byte aligned, in method memory */
} ethosu_handle;

/* The driver's base-address indices (Vela's regions). */
enum { BASE_WEIGHTS, BASE_SCRATCH, BASE_FAST_SCRATCH, NUM_BASES };

static ptec_status ethosu_memory_required(const ptec_delegate_blob *blob, size_t *bytes,
                                          char *msg, size_t cap) {
  vela_bin bin;
  ptec_status s = vela_bin_read(blob->data, blob->size, &bin, msg, cap);
  if (s != PTEC_STATUS_OK) return s;
  /* The handle, then up to 15 bytes to align the scratch, then the scratch. */
  uint64_t total = (uint64_t)sizeof(ethosu_handle) + VELA_BIN_ALIGNMENT + bin.scratch_size;
  if (total > SIZE_MAX) {
    ptec_format(msg, cap, "EthosUBackend: scratch_size %u overflows this target's memory size",
                bin.scratch_size);
    return PTEC_STATUS_BAD_SIZE;
  }
  *bytes = (size_t)total;
  return PTEC_STATUS_OK;
}

static ptec_status ethosu_init(const ptec_delegate_blob *blob, void *memory, size_t bytes,
                               void **handle, char *msg, size_t cap) {
  size_t need;
  ptec_status s = ethosu_memory_required(blob, &need, msg, cap);
  if (s != PTEC_STATUS_OK) return s;
  if (memory == NULL || bytes < need || (uintptr_t)memory % _Alignof(ethosu_handle) != 0) {
    ptec_format(msg, cap, "EthosUBackend: %zu bytes of delegate memory given, %zu needed",
                bytes, need);
    return PTEC_STATUS_OUT_OF_MEMORY;
  }
  ethosu_handle *h = memory;
  memset(h, 0, sizeof *h);
  s = vela_bin_read(blob->data, blob->size, &h->bin, msg, cap);
  if (s != PTEC_STATUS_OK) return s;
  uintptr_t at = (uintptr_t)(h + 1);
  h->scratch = (uint8_t *)(h + 1) + (VELA_BIN_ALIGNMENT - at % VELA_BIN_ALIGNMENT) %
                                        VELA_BIN_ALIGNMENT;
  *handle = h;
  return PTEC_STATUS_OK;
}

/* The element sizes the NPU's I/O may have, by the method tensor's dtype. */
static int32_t io_elem_size(uint8_t dtype) {
  switch (dtype) {
    case PTEC_DTYPE_INT8:
    case PTEC_DTYPE_UINT8:
    case PTEC_DTYPE_BOOL:
      return 1;
    case PTEC_DTYPE_INT16:
      return 2;
    case PTEC_DTYPE_INT32:
      return 4;
    default:
      return 0;
  }
}

/* Vela's I/O shape is its own view of the bytes (it merges and pads dimensions:
 * [10,1,1,12] for a [2,5,12] linear input), so it cannot tell a layout: the
 * compiler chose it, contiguous, or channels-last where the delegate's graph
 * starts NHWC (docs/ethos-u.md). Any other dim order is refused. */
static bool layout_is_known(const ptec_tensor *t) {
  static const uint8_t nhwc[4] = {0, 2, 3, 1};
  bool contiguous = true, channels_last = t->rank == 4;
  for (uint32_t d = 0; d < t->rank; d++) {
    contiguous = contiguous && t->dim_order[d] == d;
    channels_last = channels_last && t->dim_order[d] == nhwc[d];
  }
  return contiguous || channels_last;
}

/* The method's tensor for the blob's input or output k: dtype size, element count, layout. */
static ptec_status check_tensor(const ptec_value *v, const vela_io *io, const char *what,
                                uint32_t k, bool output, char *msg, size_t cap) {
  if (v->tag != PTEC_VALUE_TENSOR) {
    ptec_format(msg, cap, "EthosUBackend %s %u is not a tensor", what, k);
    return PTEC_STATUS_TYPE_MISMATCH;
  }
  const ptec_tensor *t = v->u.tensor;
  int32_t elem = io_elem_size(t->dtype);
  if (elem == 0 || elem != io->elem_size) {
    ptec_format(msg, cap, "EthosUBackend %s %u: the method's tensor is %s, the command stream's "
                "has %d-byte elements (int8/uint8/bool 1, int16 2, int32 4)", what, k,
                ptec_dtype_name(t->dtype), io->elem_size);
    return PTEC_STATUS_TYPE_MISMATCH;
  }
  if (t->numel != io->numel || !layout_is_known(t) || t->data == NULL) {
    ptec_format(msg, cap, "EthosUBackend %s %u: the method's tensor has %zu elements, the "
                "command stream's %u (shape %v); it must be contiguous or channels-last",
                what, k, t->numel, io->numel, io->shape, VELA_IO_RANK);
    return PTEC_STATUS_SHAPE_MISMATCH;
  }
  if (output && t->is_constant) { /* it may sit in read-only flash */
    ptec_format(msg, cap, "EthosUBackend output %u is a constant of the program", k);
    return PTEC_STATUS_INVALID_ARGUMENT;
  }
  return PTEC_STATUS_OK;
}

static ptec_status check_args(const ethosu_handle *h, ptec_value *values, const int32_t *args,
                              uint32_t num_args, char *msg, size_t cap) {
  const vela_bin *b = &h->bin;
  if (num_args != b->num_inputs + b->num_outputs) {
    ptec_format(msg, cap, "EthosUBackend delegate called with %u arguments, the command stream "
                "has %u inputs and %u outputs", num_args, b->num_inputs, b->num_outputs);
    return PTEC_STATUS_INVALID_ARGUMENT;
  }
  for (uint32_t i = 0; i < num_args; i++) {
    bool output = i >= b->num_inputs;
    uint32_t k = output ? i - b->num_inputs : i;
    vela_io io;
    vela_io_get(output ? b->outputs : b->inputs, k, &io);
    ptec_status s = check_tensor(&values[args[i]], &io, output ? "output" : "input", k, output,
                                 msg, cap);
    if (s != PTEC_STATUS_OK) return s;
  }
  return PTEC_STATUS_OK;
}

static ptec_status run_on_npu(const ethosu_handle *h, char *msg, size_t cap) {
  const vela_bin *b = &h->bin;
  struct ethosu_driver *drv = ethosu_reserve_driver();
  if (drv == NULL) {
    ptec_format(msg, cap, "EthosUBackend: no Ethos-U driver available (ethosu_reserve_driver "
                "returned NULL: none is linked, or every NPU is busy)");
    return PTEC_STATUS_DEVICE_ERROR;
  }
  /* Fast scratch (region 2) is 0 here: the driver substitutes the memory
   * given to ethosu_init, as Arm's driver does. */
  uint64_t bases[NUM_BASES] = {(uintptr_t)b->weight_data, (uintptr_t)h->scratch, 0};
  size_t sizes[NUM_BASES] = {b->weight_size, b->scratch_size, 0};
  int rc = ethosu_invoke_v3(drv, b->cmd_data, (int)b->cmd_size, bases, sizes, NUM_BASES, NULL);
  ethosu_release_driver(drv);
  if (rc != 0) {
    ptec_format(msg, cap, "EthosUBackend: ethosu_invoke_v3 failed with return code %d", rc);
    return PTEC_STATUS_DEVICE_ERROR;
  }
  return PTEC_STATUS_OK;
}

static ptec_status ethosu_execute(void *handle, ptec_value *values, const int32_t *args,
                                  uint32_t num_args, char *msg, size_t cap) {
  const ethosu_handle *h = handle;
  const vela_bin *b = &h->bin;
  ptec_status s = check_args(h, values, args, num_args, msg, cap);
  if (s != PTEC_STATUS_OK) return s;
  vela_io io;
  for (uint32_t k = 0; k < b->num_inputs; k++) {
    vela_io_get(b->inputs, k, &io);
    memcpy(h->scratch + io.offset, values[args[k]].u.tensor->data, io.nbytes);
  }
  s = run_on_npu(h, msg, cap);
  if (s != PTEC_STATUS_OK) return s;
  for (uint32_t k = 0; k < b->num_outputs; k++) {
    vela_io_get(b->outputs, k, &io);
    memcpy(values[args[b->num_inputs + k]].u.tensor->data, h->scratch + io.offset, io.nbytes);
  }
  return PTEC_STATUS_OK;
}

const ptec_backend ptec_ethosu_backend = {
    .id = "EthosUBackend",
    .api_version = PTEC_BACKEND_API_VERSION,
    .memory_required = ethosu_memory_required,
    .init = ethosu_init,
    .execute = ethosu_execute,
};
