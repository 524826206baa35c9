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
 *   - whole programs through the public API (load, plan, init, execute).
 *
 * The malformed-blob corpus with named statuses is tests/python/test_ethosu_blob.py.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backends/backend.h"
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

void test_ethosu(void) {
  test_reader();
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
