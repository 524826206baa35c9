/* Fuzz target (g): the corpus's valid programs (fp32, int8, TOSA-delegated) run on input
 * data from the fuzzer. An input is fuzz_program.h's container: the payload is the input
 * data, the program rides along unchanged. Each input tensor is filled from the payload
 * (repeated to its size, continuing where the last tensor stopped), so a float input gets
 * the payload's bit patterns: NaN with any payload, +-Inf, denormals, -0.0; an integer
 * input gets extremes such as INT8_MIN or INT32_MAX. Besides libFuzzer's byte mutations,
 * the mutator writes such special values of 1, 2, 4 and 8 bytes at aligned places.
 *
 * What is checked is what every target checks: no sanitizer report, crash, leak or hang;
 * the statuses and the output values are free (a NaN in may be a NaN out). */
#include "fuzz_program.h"

static const char MAGIC[4] = {'P', 'T', 'E', 'I'};
enum { MAX_PAYLOAD = 4096 };

typedef struct fill_state {
  const uint8_t *payload;
  size_t len;
  size_t at;
} fill_state;

static void fill_from_payload(void *context, size_t i, const ptec_tensor_view *info,
                              uint8_t *data) {
  (void)i;
  fill_state *f = context;
  if (f->len == 0) return; /* zeros */
  for (size_t k = 0; k < info->nbytes; k++) {
    data[k] = f->payload[f->at];
    f->at = (f->at + 1) % f->len;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_container c = fuzz_container_split(data, size, MAGIC);
  uint8_t *program = fuzz_aligned_copy(c.program, c.program_len);
  if (program == NULL) return 0;
  fill_state f = {c.payload, c.payload_len, 0};
  fuzz_run_program(program, c.program_len, fill_from_payload, &f);
  free(program);
  return 0;
}

/* Bit patterns the byte mutations would rarely make, by width. */
static const uint8_t SPECIAL_1[] = {0x80, 0x7f, 0xff, 0x00, 0x01, 0x81};
static const uint16_t SPECIAL_2[] = {0x7c00, 0xfc00, 0x7e00, 0x0001, 0x8000, 0x7bff, 0x7fff};
static const uint32_t SPECIAL_4[] = {
    0x7fc00000, 0xffc00000, 0x7f800001, 0x7f800000, 0xff800000, 0x7f7fffff, 0xff7fffff,
    0x00800000, 0x00000001, 0x807fffff, 0x80000000, 0x7fffffff, 0x4f000000, 0xcf000001,
    0x3f800000, 0xbf800000};
static const uint64_t SPECIAL_8[] = {
    0x7ff8000000000000u, 0xfff0000000000000u, 0x7ff0000000000000u, 0x0000000000000001u,
    0x8000000000000000u, 0x7fffffffffffffffu, 0x7fefffffffffffffu, 0xffffffffffffffffu};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static size_t write_special(uint8_t *payload, size_t len, size_t cap, uint32_t *rng) {
  uint32_t r = fuzz_rand(rng);
  unsigned width = 1u << (r % 4);
  if (len < cap && (len < width || r % 16 == 0)) { /* grow by a few values */
    size_t grow = width * (1 + r % 8), to = len + grow < cap ? len + grow : cap;
    memset(payload + len, 0, to - len);
    len = to;
  }
  if (len < width) return len;
  size_t at = (fuzz_rand(rng) % (len / width)) * width;
  uint32_t k = fuzz_rand(rng);
  switch (width) {
    case 1: payload[at] = SPECIAL_1[k % COUNT(SPECIAL_1)]; break;
    case 2: memcpy(payload + at, &SPECIAL_2[k % COUNT(SPECIAL_2)], 2); break;
    case 4: memcpy(payload + at, &SPECIAL_4[k % COUNT(SPECIAL_4)], 4); break;
    default: memcpy(payload + at, &SPECIAL_8[k % COUNT(SPECIAL_8)], 8); break;
  }
  return len;
}

FUZZ_CONTAINER_MUTATORS(MAGIC, MAX_PAYLOAD, write_special)
