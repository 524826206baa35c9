/* Fuzz target: the byte-level BPE tokenizer's file reader (runtime/src/tokenizer/, as
 * ptec-generate --tokenizer uses it), then, on a file it accepts, encoding fixed texts
 * (white-space runs, contractions, non-ASCII, invalid UTF-8) and the input's own bytes as
 * text, and decoding every id. The input is copied to exactly its size, so ASan sees any
 * read past it. */
#include "fuzz_common.h"
#include "tokenizer/tokenizer.h"

static const char *const TEXTS[] = {
    "The for statement", "  don't  'll\n\n x", "\xc3\xa9t\xc3\xa9 \xe6\xbc\xa2 123 \xf0\x9f\x91\x8d",
    "\xff\xfe\xc3 \x80", "<|endoftext|>a", "   ",
};

static void encode(const ptec_tokenizer *tok, const char *text, size_t len) {
  size_t cap = ptec_tokenizer_max_tokens(len), work_bytes = ptec_tokenizer_work_bytes(len), n;
  uint32_t *ids = malloc(cap * sizeof *ids);
  void *work = malloc(work_bytes);
  if (ids != NULL && work != NULL &&
      ptec_tokenizer_encode(tok, text, len, ids, cap, &n, work, work_bytes) == PTEC_STATUS_OK) {
    char out[256];
    size_t got;
    (void)ptec_tokenizer_decode(tok, ids, n, true, out, sizeof out, &got);
  }
  free(ids);
  free(work);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t *copy = malloc(size ? size : 1);
  if (copy == NULL) return 0;
  if (size) memcpy(copy, data, size);
  ptec_tokenizer tok;
  if (ptec_tokenizer_load(&tok, copy, size) == PTEC_STATUS_OK) {
    for (size_t k = 0; k < sizeof TEXTS / sizeof TEXTS[0]; k++) encode(&tok, TEXTS[k], strlen(TEXTS[k]));
    encode(&tok, (const char *)copy, size < 4096 ? size : 4096);
    for (uint32_t id = 0; id < tok.n_tokens; id++) {
      char out[64];
      size_t got;
      (void)ptec_tokenizer_decode(&tok, &id, 1, false, out, sizeof out, &got);
    }
  }
  free(copy);
  return 0;
}
