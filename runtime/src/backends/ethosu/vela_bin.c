/*
 * Reader of the EthosUBackend blob (see vela_bin.h for the layout).
 *
 * Sizes are read as uint32 and added in uint64, so no sum can wrap; every
 * payload is bounds-checked against the blob before it is read.
 */
#include "backends/ethosu/vela_bin.h"

#include <stdbool.h>
#include <string.h>

#include "core/message.h"

enum { B_START, B_CMD, B_WEIGHTS, B_SCRATCH, B_INPUTS, B_OUTPUTS, B_END, B_COUNT };
static const char *const block_names[B_COUNT] = {
    "vela_bin_stream", "cmd_data", "weight_data", "scratch_size", "inputs", "outputs",
    "vela_end_stream"};

#define PREFIX "EthosUBackend blob: "

static uint32_t le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int32_t le32s(const uint8_t *p) {
  uint32_t u = le32(p);
  int32_t v;
  memcpy(&v, &u, sizeof v); /* two's complement, without implementation-defined casts */
  return v;
}

/* The header's 16 name bytes as text for a message: up to the last non-zero
 * byte, NUL as "\0", other non-printable bytes as '?'. */
static void printable_name(const uint8_t *raw, char out[33]) {
  size_t end = 16, n = 0;
  while (end > 0 && raw[end - 1] == 0) end--;
  for (size_t i = 0; i < end; i++) {
    if (raw[i] == 0) {
      out[n++] = '\\';
      out[n++] = '0';
    } else {
      out[n++] = raw[i] >= 0x20 && raw[i] < 0x7f && raw[i] != '\'' ? (char)raw[i] : '?';
    }
  }
  out[n] = '\0';
}

/* Index of the block whose name the 16 header bytes hold exactly (NUL-padded), or B_COUNT. */
static int block_index(const uint8_t *raw) {
  for (int b = 0; b < B_COUNT; b++) {
    size_t len = strlen(block_names[b]);
    if (memcmp(raw, block_names[b], len) != 0) continue;
    bool padded = true;
    for (size_t i = len; i < 16; i++) padded = padded && raw[i] == 0;
    if (padded) return b;
  }
  return B_COUNT;
}

typedef struct block {
  const uint8_t *payload;
  uint32_t size;
} block;

/* Reads the header at *pos, which must be block `want`, and steps past its padding. */
static ptec_status read_block(const uint8_t *data, size_t size, size_t *pos, int want,
                              block *out, char *msg, size_t cap) {
  const char *name = block_names[want];
  if (size - *pos < VELA_BIN_HEADER_SIZE) {
    ptec_format(msg, cap, PREFIX "block %d ('%s'): its header at byte %zu runs past the end of "
                "the %zu-byte blob", want, name, *pos, size);
    return PTEC_STATUS_TRUNCATED;
  }
  const uint8_t *h = data + *pos;
  int found = block_index(h);
  if (found != want) {
    char text[33];
    printable_name(h, text);
    if (found == B_COUNT) {
      ptec_format(msg, cap, PREFIX "block %d at byte %zu has the unknown name '%s' (expected "
                  "'%s')", want, *pos, text, name);
      return PTEC_STATUS_BAD_ENUM;
    }
    ptec_format(msg, cap, PREFIX "block %d at byte %zu is '%s', expected '%s' (blocks come in "
                "a fixed order)", want, *pos, text, name);
    return PTEC_STATUS_MALFORMED;
  }
  if (h[20] != 0) {
    ptec_format(msg, cap, PREFIX "block '%s': external = %u: external (named-data) blocks are "
                "not supported, the payload must be inline", name, (unsigned)h[20]);
    return PTEC_STATUS_NOT_SUPPORTED;
  }
  for (int i = 21; i < VELA_BIN_HEADER_SIZE; i++) {
    if (h[i] != 0) {
      ptec_format(msg, cap, PREFIX "block '%s': reserved header byte %d is %u, not 0", name, i,
                  (unsigned)h[i]);
      return PTEC_STATUS_MALFORMED;
    }
  }
  uint32_t n = le32(h + 16);
  uint64_t start = (uint64_t)*pos + VELA_BIN_HEADER_SIZE;
  uint64_t padded = ((uint64_t)n + VELA_BIN_ALIGNMENT - 1) / VELA_BIN_ALIGNMENT * VELA_BIN_ALIGNMENT;
  if (n > size - start) {
    ptec_format(msg, cap, PREFIX "block '%s': size %u runs past the end of the blob (%zu bytes "
                "left)", name, n, (size_t)(size - start));
    return PTEC_STATUS_TRUNCATED;
  }
  if (padded > size - start) {
    ptec_format(msg, cap, PREFIX "block '%s': its padding to 16 bytes (size %u) runs past the "
                "end of the blob", name, n);
    return PTEC_STATUS_TRUNCATED;
  }
  for (uint64_t i = start + n; i < start + padded; i++) {
    if (data[i] != 0) {
      ptec_format(msg, cap, PREFIX "block '%s': padding byte %zu is %u, not 0", name, (size_t)i,
                  (unsigned)data[i]);
      return PTEC_STATUS_MALFORMED;
    }
  }
  out->payload = data + start;
  out->size = n;
  *pos = (size_t)(start + padded);
  return PTEC_STATUS_OK;
}

void vela_io_get(const uint8_t *entries, uint32_t k, vela_io *io) {
  const uint8_t *e = entries + (size_t)k * VELA_IO_ENTRY_SIZE;
  for (int d = 0; d < VELA_IO_RANK; d++) io->shape[d] = le32s(e + 4 * d);
  io->elem_size = le32s(e + 24);
  io->offset = le32s(e + 28);
  io->region = le32s(e + 32);
  /* Verified by check_io: the product fits the scratch, hence uint32. */
  uint64_t numel = 1;
  for (int d = 0; d < VELA_IO_RANK; d++) numel *= (uint64_t)(uint32_t)io->shape[d];
  io->numel = (uint32_t)numel;
  io->nbytes = (uint32_t)(numel * (uint32_t)io->elem_size);
}

/* One entry of `inputs` or `outputs`: shape, element size, region, place in the scratch. */
static ptec_status check_io(const uint8_t *entries, uint32_t k, const char *what,
                            uint32_t scratch_size, char *msg, size_t cap) {
  const uint8_t *e = entries + (size_t)k * VELA_IO_ENTRY_SIZE;
  /* Saturated at 2^32 (no scratch is larger), so the product never wraps and
   * a zero dimension still gives 0. */
  uint64_t nbytes = 1;
  for (int d = 0; d < VELA_IO_RANK; d++) {
    int32_t dim = le32s(e + 4 * d);
    if (dim < 0) {
      ptec_format(msg, cap, PREFIX "block '%s' tensor %u: shape[%d] is %d", what, k, d, dim);
      return PTEC_STATUS_BAD_SIZE;
    }
    nbytes *= (uint64_t)dim;
    if (nbytes > (uint64_t)UINT32_MAX + 1) nbytes = (uint64_t)UINT32_MAX + 1;
  }
  int32_t elem = le32s(e + 24), offset = le32s(e + 28), region = le32s(e + 32);
  if (elem != 1 && elem != 2 && elem != 4) {
    ptec_format(msg, cap, PREFIX "block '%s' tensor %u: elem_size %d is not 1, 2 or 4", what, k,
                elem);
    return PTEC_STATUS_BAD_ENUM;
  }
  if (region != VELA_REGION_SCRATCH) {
    ptec_format(msg, cap, PREFIX "block '%s' tensor %u: region %d is not supported: inputs and "
                "outputs must live in the scratch (region 1)", what, k, region);
    return PTEC_STATUS_NOT_SUPPORTED;
  }
  if (offset < 0) {
    ptec_format(msg, cap, PREFIX "block '%s' tensor %u: offset %d is negative", what, k, offset);
    return PTEC_STATUS_BAD_SIZE;
  }
  nbytes *= (uint64_t)elem; /* at most 2^34 */
  if (nbytes > UINT32_MAX) {
    ptec_format(msg, cap, PREFIX "block '%s' tensor %u: its size (shape x elem_size %d) "
                "overflows 32 bits", what, k, elem);
    return PTEC_STATUS_BAD_SIZE;
  }
  if ((uint64_t)offset + nbytes > scratch_size) {
    ptec_format(msg, cap, PREFIX "block '%s' tensor %u: offset %d + %u bytes runs past the "
                "scratch (scratch_size %u)", what, k, offset, (unsigned)nbytes, scratch_size);
    return PTEC_STATUS_BAD_MEMORY_PLAN;
  }
  return PTEC_STATUS_OK;
}

/* An inputs or outputs block: int32 count, then count entries, nothing more. */
static ptec_status read_ios(const block *b, const char *what, uint32_t scratch_size,
                            const uint8_t **entries, uint32_t *count, char *msg, size_t cap) {
  if (b->size < 4) {
    ptec_format(msg, cap, PREFIX "block '%s': size %u is too small for its count", what,
                b->size);
    return PTEC_STATUS_BAD_SIZE;
  }
  int32_t n = le32s(b->payload);
  if (n < 0 || 4 + (uint64_t)n * VELA_IO_ENTRY_SIZE != b->size) {
    ptec_format(msg, cap, PREFIX "block '%s': count %d does not match its size %u (4 + 36 bytes "
                "per tensor)", what, n, b->size);
    return PTEC_STATUS_BAD_SIZE;
  }
  *entries = b->payload + 4;
  *count = (uint32_t)n;
  for (uint32_t k = 0; k < *count; k++) {
    ptec_status s = check_io(*entries, k, what, scratch_size, msg, cap);
    if (s != PTEC_STATUS_OK) return s;
  }
  return PTEC_STATUS_OK;
}

/* The command stream: Arm's driver takes "COP1" only, in whole 32-bit words. */
static ptec_status check_cmd(const block *b, char *msg, size_t cap) {
  if (b->size >= 4 && memcmp(b->payload, "COP2", 4) == 0) {
    ptec_format(msg, cap, PREFIX "block 'cmd_data' starts with COP2: Arm's Ethos-U driver takes "
                "COP1 command streams only");
    return PTEC_STATUS_NOT_SUPPORTED;
  }
  if (b->size < 4 || memcmp(b->payload, "COP1", 4) != 0) {
    ptec_format(msg, cap, PREFIX "block 'cmd_data' does not start with 'COP1' (size %u)",
                b->size);
    return PTEC_STATUS_MALFORMED;
  }
  if (b->size % 4 != 0 || b->size > INT32_MAX) {
    ptec_format(msg, cap, PREFIX "block 'cmd_data': size %u is not a multiple of 4 (the driver "
                "reads 32-bit words)", b->size);
    return PTEC_STATUS_BAD_SIZE;
  }
  return PTEC_STATUS_OK;
}

ptec_status vela_bin_read(const uint8_t *data, size_t size, vela_bin *bin, char *msg,
                          size_t cap) {
  if (data == NULL || bin == NULL) return PTEC_STATUS_INVALID_ARGUMENT;
  memset(bin, 0, sizeof *bin);
  if ((uintptr_t)data % VELA_BIN_ALIGNMENT != 0) {
    ptec_format(msg, cap, PREFIX "it starts at an address that is not 16-byte aligned (the NPU "
                "needs its command stream and weights aligned); the program must align its "
                "delegate data to 16");
    return PTEC_STATUS_MALFORMED;
  }
  block b[B_COUNT];
  size_t pos = 0;
  for (int k = 0; k < B_COUNT; k++) {
    ptec_status s = read_block(data, size, &pos, k, &b[k], msg, cap);
    if (s != PTEC_STATUS_OK) return s;
  }
  static const int empty[] = {B_START, B_END};
  for (int i = 0; i < 2; i++) {
    if (b[empty[i]].size != 0) {
      ptec_format(msg, cap, PREFIX "block '%s': size %u, must be 0", block_names[empty[i]],
                  b[empty[i]].size);
      return PTEC_STATUS_BAD_SIZE;
    }
  }
  if (pos != size) {
    ptec_format(msg, cap, PREFIX "%zu bytes follow block 'vela_end_stream', which must end the "
                "blob", size - pos);
    return PTEC_STATUS_MALFORMED;
  }
  ptec_status s = check_cmd(&b[B_CMD], msg, cap);
  if (s != PTEC_STATUS_OK) return s;
  if (b[B_SCRATCH].size != 4) {
    ptec_format(msg, cap, PREFIX "block 'scratch_size': size %u, must be 4", b[B_SCRATCH].size);
    return PTEC_STATUS_BAD_SIZE;
  }
  bin->scratch_size = le32(b[B_SCRATCH].payload);
  s = read_ios(&b[B_INPUTS], "inputs", bin->scratch_size, &bin->inputs, &bin->num_inputs, msg,
               cap);
  if (s == PTEC_STATUS_OK) {
    s = read_ios(&b[B_OUTPUTS], "outputs", bin->scratch_size, &bin->outputs, &bin->num_outputs,
                 msg, cap);
  }
  if (s != PTEC_STATUS_OK) return s;
  bin->cmd_data = b[B_CMD].payload;
  bin->cmd_size = b[B_CMD].size;
  bin->weight_data = b[B_WEIGHTS].payload;
  bin->weight_size = b[B_WEIGHTS].size;
  return PTEC_STATUS_OK;
}
