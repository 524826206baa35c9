/*
 * The EthosUBackend with a test double of Arm's Ethos-U driver
 * (ethosu_driver_double.c), on real Vela blobs (data/ethosu_programs.h,
 * made by data/make_ethosu_data.py):
 *
 *   - the blob reader on every committed blob, misaligned, truncated at every
 *     length and with every byte flipped (no crash; ASan/UBSan in build/asan);
 *   - the backend's vtable directly: memory, what reaches the driver (checked
 *     by the double), copies in and out of the scratch, argument checks,
 *     driver unavailable, driver failure, NPU of another configuration;
 *   - whole programs through the public API (load, plan, init, execute);
 *   - the simulator's work budget (ethosu_sim_set_work_budget) on a real stream
 *     and on the fuzzer's 220 M MAC POOL.
 *
 * The malformed-blob corpus with named statuses is tests/python/test_ethosu_blob.py.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backends/backend.h"
#include "backends/ethosu/sim/ethosu_sim.h"
#include "backends/ethosu/vela_bin.h"
#include "check.h"
#include "data/ethosu_programs.h"
#include "ethosu_driver_double.h"
#include "ptec/ptec.h"

#define NUM_CASES (sizeof ethosu_cases / sizeof ethosu_cases[0])

static _Alignas(16) uint8_t work[4096];
static _Alignas(16) uint8_t memory[64 * 1024];

static void configure(uint32_t macs, uint32_t product, const void *mem, size_t mem_size) {
  ethosu_double_config c = {.macs = macs, .product = product, .memory = mem,
                            .memory_size = mem_size};
  ethosu_double_configure(&c);
}

static void test_reader(void) {
  char msg[PTEC_MESSAGE_CAPACITY];
  for (size_t i = 0; i < NUM_CASES; i++) {
    const ethosu_case *c = &ethosu_cases[i];
    vela_bin b;
    CHECK(vela_bin_read(c->blob, c->blob_size, &b, msg, sizeof msg) == PTEC_STATUS_OK);
    CHECK(memcmp(b.cmd_data, "COP1", 4) == 0 && b.cmd_size % 4 == 0);
    CHECK(b.cmd_data == c->blob + 64 && (uintptr_t)b.weight_data % 16 == 0);
    CHECK(b.num_outputs == 1 && b.num_inputs >= 1 && b.scratch_size > 0);
    vela_io io;
    vela_io_get(b.outputs, 0, &io);
    CHECK(io.region == 1 && io.elem_size == 1 && io.numel == 4 * 4 * 8 && io.nbytes == io.numel);
    CHECK(io.shape[3] == 4 && io.shape[4] == 4 && io.shape[5] == 8);
  }
  const ethosu_case *c = &ethosu_cases[0];
  vela_bin b;
  memcpy(work + 1, c->blob, c->blob_size);
  CHECK(vela_bin_read(work + 1, c->blob_size, &b, msg, sizeof msg) == PTEC_STATUS_MALFORMED);
  CHECK(strstr(msg, "16-byte aligned") != NULL);
  /* Every truncation fails cleanly; every single-byte change is read without a crash. */
  for (size_t n = 0; n < c->blob_size; n++) {
    memcpy(work, c->blob, n);
    if (vela_bin_read(work, n, &b, msg, sizeof msg) == PTEC_STATUS_OK) CHECK(!"truncated blob read");
  }
  for (size_t k = 0; k < c->blob_size; k++) {
    memcpy(work, c->blob, c->blob_size);
    work[k] ^= 0xa5;
    (void)vela_bin_read(work, c->blob_size, &b, msg, sizeof msg);
  }
  CHECK(vela_bin_read(NULL, 0, &b, msg, sizeof msg) == PTEC_STATUS_INVALID_ARGUMENT);
}

/* The method's side of one delegate call: int8 tensors of shape [1,4,4,8] (or as given). */
typedef struct call {
  ptec_value values[3];
  ptec_tensor tensors[3];
  int32_t sizes[4];
  uint8_t dim_order[4];
  int8_t data[3][128];
  int32_t args[3];
} call;

static void make_call(call *k, uint32_t n) {
  memset(k, 0, sizeof *k);
  const int32_t sizes[4] = {1, 4, 4, 8};
  memcpy(k->sizes, sizes, sizeof sizes);
  for (uint8_t d = 0; d < 4; d++) k->dim_order[d] = d;
  for (uint32_t i = 0; i < n; i++) {
    ptec_tensor *t = &k->tensors[i];
    t->data = k->data[i], t->sizes = k->sizes, t->dim_order = k->dim_order;
    t->numel = 128, t->nbytes = 128, t->dtype = PTEC_DTYPE_INT8, t->rank = 4;
    k->values[i].tag = PTEC_VALUE_TENSOR;
    k->values[i].u.tensor = t;
    k->args[i] = (int32_t)i;
    for (int e = 0; e < 128; e++) k->data[i][e] = (int8_t)(e * 3 - 60 + (int)i);
  }
}

static ptec_status run_call(void *h, call *k, uint32_t n, char *msg, size_t cap) {
  return ptec_ethosu_backend.execute(h, k->values, k->args, n, msg, cap);
}

static void test_backend(void) {
  char msg[PTEC_MESSAGE_CAPACITY];
  const ptec_backend *be = ptec_backend_find("EthosUBackend", 13);
  CHECK(be == &ptec_ethosu_backend);
  const ethosu_case *c = &ethosu_cases[0]; /* rescale on a U55-128 */
  ptec_delegate_blob blob = {c->blob, c->blob_size};
  vela_bin b;
  CHECK(vela_bin_read(c->blob, c->blob_size, &b, msg, sizeof msg) == PTEC_STATUS_OK);
  size_t need = 0;
  CHECK(be->memory_required(&blob, &need, msg, sizeof msg) == PTEC_STATUS_OK);
  CHECK(need >= b.scratch_size + 16 && need < b.scratch_size + 256);
  void *h = NULL;
  CHECK(be->init(&blob, memory, need - 1, &h, msg, sizeof msg) == PTEC_STATUS_OUT_OF_MEMORY);
  CHECK(be->init(&blob, memory, need, &h, msg, sizeof msg) == PTEC_STATUS_OK);

  call k;
  make_call(&k, 2);
  configure(c->macs, c->product, memory, need);
  CHECK(run_call(h, &k, 2, msg, sizeof msg) == PTEC_STATUS_OK);
  const ethosu_double_record *r = ethosu_double_last();
  CHECK(r->invokes == 1 && r->runs == 1 && r->last_rc == 0 && r->error[0] == '\0');
  CHECK(r->reserves == 1 && r->releases == 1);
  CHECK(r->num_bases == 3 && r->cmd == b.cmd_data && r->cmd_size == (int)b.cmd_size);
  CHECK(r->bases[0] == (uintptr_t)b.weight_data && r->sizes[0] == b.weight_size);
  CHECK(r->sizes[1] == b.scratch_size && r->bases[2] == 0 && r->sizes[2] == 0);
  int ok = 1;
  for (int e = 0; e < 128; e++) ok &= k.data[1][e] == (int8_t)(k.data[0][e] + 1);
  CHECK(ok);

  /* Arguments the command stream does not take. */
  CHECK(run_call(h, &k, 3, msg, sizeof msg) == PTEC_STATUS_INVALID_ARGUMENT);
  CHECK(strstr(msg, "1 inputs and 1 outputs") != NULL);
  k.tensors[0].dtype = PTEC_DTYPE_INT16;
  CHECK(run_call(h, &k, 2, msg, sizeof msg) == PTEC_STATUS_TYPE_MISMATCH);
  k.tensors[0].dtype = PTEC_DTYPE_FLOAT32;
  CHECK(run_call(h, &k, 2, msg, sizeof msg) == PTEC_STATUS_TYPE_MISMATCH);
  k.tensors[0].dtype = PTEC_DTYPE_UINT8; /* same bytes: accepted */
  CHECK(run_call(h, &k, 2, msg, sizeof msg) == PTEC_STATUS_OK);
  k.tensors[1].numel = 127;
  CHECK(run_call(h, &k, 2, msg, sizeof msg) == PTEC_STATUS_SHAPE_MISMATCH);
  CHECK(strstr(msg, "output 0") != NULL && strstr(msg, "127") != NULL);
  k.tensors[1].numel = 128;
  k.dim_order[1] = 3, k.dim_order[3] = 1;
  CHECK(run_call(h, &k, 2, msg, sizeof msg) == PTEC_STATUS_SHAPE_MISMATCH);
  k.dim_order[1] = 1, k.dim_order[3] = 3;
  k.tensors[1].is_constant = true;
  CHECK(run_call(h, &k, 2, msg, sizeof msg) == PTEC_STATUS_INVALID_ARGUMENT);
  k.tensors[1].is_constant = false;
  k.values[0].tag = PTEC_VALUE_INT;
  CHECK(run_call(h, &k, 2, msg, sizeof msg) == PTEC_STATUS_TYPE_MISMATCH);
  k.values[0].tag = PTEC_VALUE_TENSOR;
  CHECK(ethosu_double_last()->invokes == 2);  /* only the uint8 run reached the driver */

  /* The driver: absent or busy, failing, or an NPU of another configuration. */
  ethosu_double_config busy = {.macs = c->macs, .busy = true};
  ethosu_double_configure(&busy);
  CHECK(run_call(h, &k, 2, msg, sizeof msg) == PTEC_STATUS_DEVICE_ERROR);
  CHECK(strstr(msg, "no Ethos-U driver available") != NULL);
  CHECK(ethosu_double_last()->invokes == 0);
  ethosu_double_config failing = {.macs = c->macs, .fail_with = -7};
  ethosu_double_configure(&failing);
  CHECK(run_call(h, &k, 2, msg, sizeof msg) == PTEC_STATUS_DEVICE_ERROR);
  CHECK(strstr(msg, "return code -7") != NULL);
  CHECK(ethosu_double_last()->releases == 1); /* released after a failure too */
  configure(256, ETHOSU_DOUBLE_U55, NULL, 0);
  CHECK(run_call(h, &k, 2, msg, sizeof msg) == PTEC_STATUS_DEVICE_ERROR);
  CHECK(ethosu_double_last()->last_rc == ETHOSU_DOUBLE_BAD_CONFIG);
  configure(128, ETHOSU_DOUBLE_U85, NULL, 0);
  CHECK(run_call(h, &k, 2, msg, sizeof msg) == PTEC_STATUS_DEVICE_ERROR);
  CHECK(ethosu_double_last()->last_rc == ETHOSU_DOUBLE_BAD_CONFIG);
  /* A scratch outside the memory the double is told about is caught. */
  configure(c->macs, c->product, memory + need, 1024);
  CHECK(run_call(h, &k, 2, msg, sizeof msg) == PTEC_STATUS_DEVICE_ERROR);
  CHECK(ethosu_double_last()->last_rc == ETHOSU_DOUBLE_BAD_SCRATCH);

  /* A blob in unaligned memory is refused at planning, before any copy. */
  memcpy(work + 8, c->blob, c->blob_size);
  ptec_delegate_blob moved = {work + 8, c->blob_size};
  CHECK(be->memory_required(&moved, &need, msg, sizeof msg) == PTEC_STATUS_MALFORMED);
}

/* A whole program: load, plan, init, run with the double set to the blob's NPU. */
static ptec_status run_program(const uint8_t *bytes, size_t size, uint32_t macs, uint32_t product,
                               int *outputs_ok, char *msg, size_t cap) {
  static ptec_program prog;
  static ptec_method m;
  *outputs_ok = 0;
  ptec_status s = ptec_program_load(&prog, bytes, size);
  ptec_method_requirements req;
  if (s == PTEC_STATUS_OK) s = ptec_program_method_requirements(&prog, 0, &req);
  if (s != PTEC_STATUS_OK) {
    snprintf(msg, cap, "%s", ptec_program_message(&prog));
    return s;
  }
  size_t planned_size = req.num_planned_buffers ? ptec_method_planned_buffer_size(&req, 0) : 0;
  if (req.num_planned_buffers != 1 || planned_size + req.method_memory_bytes > sizeof memory) {
    snprintf(msg, cap, "the test expects one small planned buffer");
    return PTEC_STATUS_OUT_OF_MEMORY;
  }
  size_t method_bytes = (req.method_memory_bytes + 15) / 16 * 16;
  void *planned[1] = {memory + method_bytes};
  s = ptec_method_init(&m, &prog, 0, memory, req.method_memory_bytes, planned, &planned_size, 1);
  configure(macs, product, memory, req.method_memory_bytes);
  size_t n_in = ptec_method_num_inputs(&m);
  int8_t in[4][4096];
  for (size_t i = 0; s == PTEC_STATUS_OK && i < n_in && i < 4; i++) {
    ptec_tensor_view v;
    s = ptec_method_input_info(&m, i, &v);
    if (s != PTEC_STATUS_OK || v.nbytes > sizeof in[i]) break;
    for (size_t e = 0; e < v.nbytes; e++) in[i][e] = (int8_t)(e * 7 + i * 13 - 100);
    v.data = in[i];
    s = ptec_method_set_input(&m, i, &v);
  }
  if (s == PTEC_STATUS_OK) s = ptec_method_execute(&m);
  if (s != PTEC_STATUS_OK) {
    snprintf(msg, cap, "%s", ptec_method_message(&m));
    return s;
  }
  ptec_tensor_view out, first;
  s = ptec_method_get_output(&m, 0, &out);
  if (s == PTEC_STATUS_OK) s = ptec_method_input_info(&m, 0, &first);
  if (s != PTEC_STATUS_OK) return s;
  const uint8_t *o = out.data;
  int ok = 1;
  for (size_t e = 0; e < out.nbytes; e++) {
    uint8_t want = n_in == 1 && first.nbytes == out.nbytes ? (uint8_t)((uint8_t)in[0][e] + 1)
                                                           : ethosu_double_pattern(e);
    ok &= o[e] == want;
  }
  *outputs_ok = ok && ethosu_double_last()->runs == 1;
  return PTEC_STATUS_OK;
}

static void test_programs(void) {
  char msg[PTEC_MESSAGE_CAPACITY];
  for (size_t i = 0; i < NUM_CASES; i++) {
    const ethosu_case *c = &ethosu_cases[i];
    int ok = 0;
    ptec_status s = run_program(c->program, c->program_size, c->macs, c->product, &ok, msg,
                                sizeof msg);
    if (s != PTEC_STATUS_OK) fprintf(stderr, "%s: %s: %s\n", c->name, ptec_status_to_string(s), msg);
    CHECK(s == PTEC_STATUS_OK && ok);
    /* The same program on an NPU it was not compiled for: the driver refuses it. */
    s = run_program(c->program, c->program_size, c->macs * 2, c->product, &ok, msg, sizeof msg);
    CHECK(s == PTEC_STATUS_DEVICE_ERROR && strstr(msg, "return code -13") != NULL);
  }
}


/* tests/fuzz/regressions/ethosu_sim/pool_220m_macs_from_306_bytes.bin, the fuzz target's
 * input (byte 0: NPU 3 = U65-256; bytes 1-4: payload length; payload; weights): one POOL of
 * 220 M MACs over a 64 KiB scratch, every access in bounds. */
static const uint8_t pool_220m_macs[] = {
    0x03, 0x2c, 0x01, 0x00, 0x00, 0x43, 0x4f, 0x50, 0x31, 0x01, 0x00, 0x10, 0x00, 0x08, 0x30, 0x00,
    0x10, 0x3f, 0x60, 0x06, 0x10, 0x05, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00,
    0x00, 0x02, 0x00, 0x43, 0x00, 0x23, 0x01, 0x00, 0x00, 0x0f, 0x01, 0x01, 0x00, 0x00, 0x40, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x40, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x40, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0b, 0x01, 0x03,
    0x00, 0x0c, 0x01, 0x03, 0x00, 0x0a, 0x01, 0x03, 0x00, 0x04, 0x01, 0x07, 0x00, 0x05, 0x40, 0x00,
    0x00, 0x20, 0x00, 0x00, 0x00, 0x04, 0x40, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x06, 0x40, 0x00,
    0x00, 0x01, 0x00, 0x00, 0x00, 0x09, 0x01, 0x00, 0x00, 0x05, 0x01, 0x01, 0x00, 0x07, 0x01, 0x00,
    0x00, 0x00, 0x01, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00, 0x03, 0x01, 0x00, 0x00, 0x02, 0x01, 0x2a,
    0x00, 0x1f, 0x01, 0x01, 0x00, 0x10, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x11, 0x40, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x12, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x13, 0x40, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x12, 0x01, 0x03, 0x00, 0x11, 0x01, 0x03, 0x00, 0x1b, 0x01, 0x03,
    0x76, 0x00, 0x01, 0x03, 0x00, 0x1a, 0x01, 0x03, 0x00, 0x13, 0x01, 0x15, 0x03, 0x00, 0x40, 0x00,
    0x00, 0x20, 0x00, 0x00, 0x00, 0x14, 0x40, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x16, 0x40, 0x00,
    0x00, 0x01, 0x00, 0x00, 0x00, 0x18, 0x01, 0x00, 0x00, 0x14, 0x01, 0x01, 0x81, 0x21, 0x01, 0x10,
    0x00, 0x20, 0x01, 0x00, 0x04, 0x22, 0x01, 0x00, 0x6e, 0x00, 0x01, 0x00, 0x00, 0x26, 0x01, 0x80,
    0xff, 0x27, 0x01, 0x7f, 0x00, 0x24, 0x40, 0x1f, 0x00, 0x00, 0x00, 0x00, 0x40, 0x16, 0x01, 0x03,
    0x00, 0x15, 0x01, 0x03, 0x00, 0x17, 0x01, 0x07, 0x00, 0x0d, 0x01, 0x0a, 0x00, 0x29, 0x01, 0x1e,
    0x00, 0x24, 0x6c, 0x00, 0x00, 0x2f, 0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0xff,
    0xff, 0x00,
};

static _Alignas(16) uint8_t sim_scratch[64 * 1024];
static _Alignas(16) uint8_t sim_payload[sizeof pool_220m_macs];
static _Alignas(16) uint64_t sim_work[1 << 14];
static ethosu_sim sim_state;

static ethosu_sim_status sim_run_budget(ethosu_sim_product product, uint32_t macs,
                                        const void *cmd, size_t cmd_size, const void *weights,
                                        size_t weight_size, uint64_t budget,
                                        ethosu_sim_stats *stats, char *msg, size_t cap) {
  CHECK(ethosu_sim_init(&sim_state, product, macs, sim_work, sizeof sim_work) == ETHOSU_SIM_OK);
  ethosu_sim_set_work_budget(&sim_state, budget);
  uint64_t bases[2] = {(uintptr_t)weights, (uintptr_t)sim_scratch};
  size_t sizes[2] = {weight_size, sizeof sim_scratch};
  return ethosu_sim_run(&sim_state, cmd, cmd_size, bases, sizes, 2, stats, msg, cap);
}

static void test_work_budget(void) {
  char msg[200];
  /* A real stream: its MACs are within a budget of exactly its cost, one less is refused
   * at the op (before it writes: the output bytes keep their marker). */
  const ethosu_case *c = &ethosu_cases[0];
  vela_bin b;
  CHECK(vela_bin_read(c->blob, c->blob_size, &b, msg, sizeof msg) == PTEC_STATUS_OK);
  CHECK(b.scratch_size <= sizeof sim_scratch);
  ethosu_sim_stats st = {0};
  ethosu_sim_product product = (ethosu_sim_product)c->product;
  CHECK(sim_run_budget(product, c->macs, b.cmd_data, b.cmd_size, b.weight_data, b.weight_size,
                       UINT64_MAX, &st, msg, sizeof msg) == ETHOSU_SIM_OK);
  CHECK(st.ops == 1 && st.macs > 0);
  uint64_t cost = st.macs; /* a 1x1 op: its MACs are its whole cost */
  CHECK(sim_run_budget(product, c->macs, b.cmd_data, b.cmd_size, b.weight_data, b.weight_size,
                       cost, &st, msg, sizeof msg) == ETHOSU_SIM_OK);
  memset(sim_scratch, 0x5a, sizeof sim_scratch);
  CHECK(sim_run_budget(product, c->macs, b.cmd_data, b.cmd_size, b.weight_data, b.weight_size,
                       cost - 1, &st, msg, sizeof msg) == ETHOSU_SIM_ERR_WORK_BUDGET);
  CHECK(strstr(msg, "work budget exceeded") != NULL && st.ops == 0);
  int untouched = 1;
  for (size_t i = 0; i < b.scratch_size; i++) untouched &= sim_scratch[i] == 0x5a;
  CHECK(untouched);
  /* The fuzzer's stream: refused at once with the fuzz target's budget (4 Mi operations),
   * naming the POOL and what it would cost. */
  size_t cmd_size = (size_t)pool_220m_macs[1] | (size_t)pool_220m_macs[2] << 8 |
                    (size_t)pool_220m_macs[3] << 16 | (size_t)pool_220m_macs[4] << 24;
  size_t rest = sizeof pool_220m_macs - 5;
  if (cmd_size > rest) cmd_size = rest;
  memcpy(sim_payload, pool_220m_macs + 5, rest);
  memset(sim_scratch, 0, sizeof sim_scratch);
  CHECK(pool_220m_macs[0] % 6 == 3); /* the fuzz target's U65-256 */
  ethosu_sim_status s = sim_run_budget(ETHOSU_SIM_U65, 256, sim_payload, cmd_size,
                                       sim_payload + cmd_size, rest - cmd_size, 4u << 20, &st,
                                       msg, sizeof msg);
  CHECK(s == ETHOSU_SIM_ERR_WORK_BUDGET && st.macs == 0);
  CHECK(strstr(msg, "NPU_OP_POOL would do ") != NULL);
  CHECK(strcmp(ethosu_sim_status_to_string(s), "work budget exceeded") == 0);
  /* A default budget from the program's memory is far above what real models do. */
  size_t sizes[2] = {1000, 64 * 1024};
  CHECK(ethosu_sim_default_work_budget(100, sizes, 2) == ((uint64_t)1 << 32) + 1024 * 66636);
  /* Three sizes of SIZE_MAX: with a 64-bit size_t their sum already saturates; with a
   * 32-bit one (x86-32, arm-none-eabi) they sum to 3 x (2^32 - 1) bytes, exact in 64 bits,
   * which must not wrap as a size_t sum would. */
  size_t huge[2] = {SIZE_MAX, SIZE_MAX};
#if SIZE_MAX > UINT32_MAX
  const uint64_t huge_budget = UINT64_MAX;
#else
  const uint64_t huge_budget = ((uint64_t)1 << 32) + 3 * (uint64_t)SIZE_MAX * 1024;
#endif
  CHECK(ethosu_sim_default_work_budget(SIZE_MAX, huge, 2) == huge_budget);
}

void test_ethosu(void) {
  test_reader();
  test_work_budget();
  test_backend();
  test_programs();
  ethosu_double_configure(NULL);
}

/* ptec-c-tests ethosu FILE.pte MACS PRODUCT: one program, generated by the Python tests. */
int test_ethosu_program_file(const char *path, uint32_t macs, uint32_t product) {
  static _Alignas(16) uint8_t bytes[1 << 20];
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    fprintf(stderr, "cannot open %s\n", path);
    return 1;
  }
  size_t n = fread(bytes, 1, sizeof bytes, f);
  fclose(f);
  char msg[PTEC_MESSAGE_CAPACITY];
  int ok = 0;
  ptec_status s = run_program(bytes, n, macs, product, &ok, msg, sizeof msg);
  const ethosu_double_record *r = ethosu_double_last();
  printf("ethosu: %s %s rc %d runs %u outputs %s\n", ptec_status_to_string(s),
         s == PTEC_STATUS_OK ? "-" : msg, r->last_rc, r->runs, ok ? "ok" : "wrong");
  return s == PTEC_STATUS_OK && ok ? 0 : 2;
}
