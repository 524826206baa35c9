/*
 * A GPT-2-style byte-level BPE tokenizer (docs/llm.md), bit-exact with Hugging
 * Face `tokenizers` on the same vocabulary: GPT-2's pre-tokenizer regex, the
 * byte-to-unicode alphabet, merges by rank. It reads the binary file
 * python/ptec/llm/tokenizer.py writes from a tokenizer.json, in place (the
 * caller keeps the bytes alive), and allocates nothing: encoding takes the
 * caller's output array and work memory, of sizes known from the text length.
 *
 * C11, no malloc, no stdio. Every failure is a ptec_status with a message.
 */
#ifndef PTEC_TOKENIZER_H
#define PTEC_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ptec/ptec.h"

typedef struct ptec_tokenizer {
  const uint8_t *offsets; /* u32[n_tokens + 1] */
  const uint8_t *merges;  /* n_merges x (left, right, rank, result) u32, sorted by pair */
  const uint8_t *added;   /* u32[n_added], longest first */
  const uint8_t *flags;   /* u8[n_tokens] */
  const uint8_t *blob;
  uint32_t n_tokens, n_merges, n_added, file_flags;
  uint32_t byte_token[256]; /* the token of each single byte */
  char message[96];
} ptec_tokenizer;

/* Reads a tokenizer file (data stays the caller's). PTEC_STATUS_BAD_IDENTIFIER
 * (not a tokenizer file), BAD_HEADER (version), TRUNCATED / BAD_SIZE (sizes
 * that do not add up), INDEX_OUT_OF_RANGE (a token id past the vocabulary) or
 * MALFORMED (unsorted merges, a merge whose result is not its two halves, a
 * byte without a token); ptec_tokenizer_message says which. */
ptec_status ptec_tokenizer_load(ptec_tokenizer *tok, const void *data, size_t size);
const char *ptec_tokenizer_message(const ptec_tokenizer *tok);

/* Encoding `len` bytes of UTF-8 text produces at most ptec_tokenizer_max_tokens(len)
 * ids and needs ptec_tokenizer_work_bytes(len) bytes of work memory (any alignment). */
size_t ptec_tokenizer_max_tokens(size_t len);
size_t ptec_tokenizer_work_bytes(size_t len);

/* Text -> token ids. Invalid UTF-8 bytes count as one 'other' character each
 * (`tokenizers` takes valid strings only). PTEC_STATUS_OUT_OF_MEMORY if `ids`
 * or the work memory is smaller than the sizes above. */
ptec_status ptec_tokenizer_encode(const ptec_tokenizer *tok, const char *text, size_t len,
                                  uint32_t *ids, size_t capacity, size_t *num_ids, void *work,
                                  size_t work_bytes);

/* Token id -> its bytes (UTF-8 may be split between tokens); NULL past the vocabulary. */
const uint8_t *ptec_tokenizer_token(const ptec_tokenizer *tok, uint32_t id, size_t *len);
bool ptec_tokenizer_is_special(const ptec_tokenizer *tok, uint32_t id);

/* Ids -> bytes, special tokens left out when skip_special (as `tokenizers`'
 * decode does by default). *len is the full length even when it does not fit
 * (then PTEC_STATUS_OUT_OF_MEMORY); INDEX_OUT_OF_RANGE for an unknown id. */
ptec_status ptec_tokenizer_decode(const ptec_tokenizer *tok, const uint32_t *ids, size_t n,
                                  bool skip_special, char *out, size_t capacity, size_t *len);

#endif
