/* The Ethos-U driver test double (see ethosu_driver_double.h). */
#include "ethosu_driver_double.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/ethosu/ethosu_driver_api.h"

struct ethosu_driver {
  int reserved;
};

static struct ethosu_driver the_npu;
static ethosu_double_config config = {.macs = 128, .product = ETHOSU_DOUBLE_U55, .log = true};
static ethosu_double_record record;

void ethosu_double_configure(const ethosu_double_config *c) {
  static const ethosu_double_config defaults = {
      .macs = 128, .product = ETHOSU_DOUBLE_U55, .log = true};
  config = c ? *c : defaults;
  memset(&record, 0, sizeof record);
  the_npu.reserved = 0;
}

const ethosu_double_record *ethosu_double_last(void) { return &record; }

uint8_t ethosu_double_pattern(size_t k) { return (uint8_t)(k * 31u + 7u); }

struct ethosu_driver *ethosu_reserve_driver(void) {
  record.reserves++;
  if (config.busy || the_npu.reserved) return NULL;
  the_npu.reserved = 1;
  return &the_npu;
}

void ethosu_release_driver(struct ethosu_driver *drv) {
  record.releases++;
  if (drv == &the_npu) the_npu.reserved = 0;
}

static int refuse(int rc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(record.error, sizeof record.error, fmt, ap);
  va_end(ap);
  record.last_rc = rc;
  if (config.log) printf("ethosu-double: refused %d: %s\n", rc, record.error);
  return rc;
}

static uint32_t le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static size_t pad16(size_t n) { return (n + 15) / 16 * 16; }

/* What the double reads from the blob around the command stream. */
typedef struct blob_view {
  const uint8_t *weights;
  uint32_t weight_size, scratch_size;
  const uint8_t *io[2]; /* inputs, outputs blocks: count then 9 x int32 each */
} blob_view;

/* The blob holding `cmd`: its first two block headers precede the stream. */
static int find_blob(const uint8_t *cmd, int cmd_size, blob_view *v) {
  const uint8_t *blob = cmd - 64;
  if (strcmp((const char *)blob, "vela_bin_stream") != 0 ||
      strcmp((const char *)blob + 32, "cmd_data") != 0 || le32(blob + 48) != (uint32_t)cmd_size) {
    return refuse(ETHOSU_DOUBLE_NO_BLOB, "the command stream is not a blob's cmd_data");
  }
  memset(v, 0, sizeof *v);
  const uint8_t *p = cmd + pad16((size_t)cmd_size);
  for (int b = 0; b < 5; b++) {
    uint32_t size = le32(p + 16);
    const uint8_t *payload = p + 32;
    if (strcmp((const char *)p, "weight_data") == 0) {
      v->weights = payload, v->weight_size = size;
    } else if (strcmp((const char *)p, "scratch_size") == 0) {
      v->scratch_size = le32(payload);
    } else if (strcmp((const char *)p, "inputs") == 0) {
      v->io[0] = payload;
    } else if (strcmp((const char *)p, "outputs") == 0) {
      v->io[1] = payload;
    } else {
      break;
    }
    p = payload + pad16(size);
  }
  if (!v->weights || !v->io[0] || !v->io[1]) {
    return refuse(ETHOSU_DOUBLE_NO_BLOB, "the blob lacks a block");
  }
  return 0;
}

static uint32_t io_bytes(const uint8_t *entry) {
  uint32_t n = le32(entry + 24);
  for (int d = 0; d < 6; d++) n *= le32(entry + 4 * d);
  return n;
}

/* The NPU's work: see the header. */
static void run(uint8_t *scratch, const blob_view *v) {
  uint32_t ni = le32(v->io[0]), no = le32(v->io[1]);
  const uint8_t *in = v->io[0] + 4, *out = v->io[1] + 4;
  if (ni == 1 && no == 1 && io_bytes(in) == io_bytes(out)) {
    uint32_t n = io_bytes(in);
    uint8_t *copy = malloc(n ? n : 1); /* the regions may overlap */
    memcpy(copy, scratch + le32(in + 28), n);
    for (uint32_t k = 0; k < n; k++) scratch[le32(out + 28) + k] = (uint8_t)(copy[k] + 1);
    free(copy);
    return;
  }
  for (uint32_t o = 0; o < no; o++) {
    const uint8_t *e = out + 36 * o;
    for (uint32_t k = 0; k < io_bytes(e); k++) scratch[le32(e + 28) + k] = ethosu_double_pattern(k);
  }
}

static int check_cmd(const uint8_t *cmd, int size) {
  if ((uintptr_t)cmd % 16 != 0 || size < 16 || size % 4 != 0 || memcmp(cmd, "COP1", 4) != 0) {
    return refuse(ETHOSU_DOUBLE_BAD_CMD, "command stream at %p, %d bytes: not 16-aligned COP1 "
                  "words", (const void *)cmd, size);
  }
  /* Word 1: driver action OPTIMIZER_CONFIG (1); word 2: the NPU config Vela compiled for. */
  uint32_t action = le32(cmd + 4), cfg = le32(cmd + 8);
  if ((action & 0xff) != 1) return refuse(ETHOSU_DOUBLE_BAD_CMD, "no OPTIMIZER_CONFIG action");
  uint32_t log2_macs = 0;
  while ((1u << log2_macs) < config.macs) log2_macs++;
  if ((cfg & 0xf) != log2_macs || cfg >> 28 != config.product) {
    return refuse(ETHOSU_DOUBLE_BAD_CONFIG, "stream for product %u with 2^%u MACs, the NPU is "
                  "product %u with %u MACs", (unsigned)(cfg >> 28), (unsigned)(cfg & 0xf),
                  (unsigned)config.product, (unsigned)config.macs);
  }
  return 0;
}

static int check_bases(const blob_view *v, uint64_t *const base, const size_t *size) {
  if (base[0] % 16 != 0 || (uintptr_t)v->weights != base[0] || size[0] != v->weight_size) {
    return refuse(ETHOSU_DOUBLE_BAD_WEIGHTS, "base 0 is 0x%llx (%zu bytes), weight_data is %p "
                  "(%u bytes)", (unsigned long long)base[0], size[0], (const void *)v->weights,
                  (unsigned)v->weight_size);
  }
  uintptr_t mem = (uintptr_t)config.memory;
  bool inside = config.memory == NULL ||
                (base[1] >= mem && size[1] <= config.memory_size &&
                 base[1] - mem <= config.memory_size - size[1]);
  if (base[1] % 16 != 0 || base[1] == 0 || size[1] != v->scratch_size || !inside) {
    return refuse(ETHOSU_DOUBLE_BAD_SCRATCH, "base 1 is 0x%llx (%zu bytes): the scratch must "
                  "be 16-aligned, %u bytes, in method memory", (unsigned long long)base[1],
                  size[1], (unsigned)v->scratch_size);
  }
  if (base[2] != 0 || size[2] != 0) {
    return refuse(ETHOSU_DOUBLE_BAD_FAST, "base 2 (fast scratch) is not empty");
  }
  return 0;
}

int ethosu_invoke_v3(struct ethosu_driver *drv, const void *custom_data_ptr,
                     const int custom_data_size, uint64_t *const base_addr,
                     const size_t *base_addr_size, const int num_base_addr, void *user_arg) {
  record.invokes++;
  record.error[0] = '\0';
  record.cmd = custom_data_ptr;
  record.cmd_size = custom_data_size;
  record.num_bases = num_base_addr;
  if (drv != &the_npu || !the_npu.reserved) {
    return refuse(ETHOSU_DOUBLE_NOT_RESERVED, "invoked without a reserved driver");
  }
  if (num_base_addr != 3) {
    return refuse(ETHOSU_DOUBLE_BAD_NUM_BASES, "%d base addresses, expected 3", num_base_addr);
  }
  memcpy(record.bases, base_addr, sizeof record.bases);
  memcpy(record.sizes, base_addr_size, sizeof record.sizes);
  const uint8_t *cmd = custom_data_ptr;
  blob_view v;
  int rc = check_cmd(cmd, custom_data_size);
  if (rc == 0) rc = find_blob(cmd, custom_data_size, &v);
  if (rc == 0) rc = check_bases(&v, base_addr, base_addr_size);
  if (rc != 0) return rc;
  if (config.fail_with != 0) return refuse(config.fail_with, "failing as configured");
  run((uint8_t *)(uintptr_t)base_addr[1], &v);
  record.runs++;
  record.last_rc = 0;
  if (config.log) {
    printf("ethosu-double: ran %d command bytes, %u weight bytes, %u scratch bytes\n",
           custom_data_size, (unsigned)v.weight_size, (unsigned)v.scratch_size);
  }
  return 0;
}
