/* Shared by the tokenizer's files: the code point classes and the pre-tokenizer. */
#ifndef PTEC_TOKENIZER_INTERNAL_H
#define PTEC_TOKENIZER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "tokenizer.h"

enum { PTEC_TOK_OTHER = 0, PTEC_TOK_LETTER = 1, PTEC_TOK_NUMBER = 2, PTEC_TOK_SPACE = 3 };

typedef struct ptec_tok_range {
  uint32_t first, last;
  uint8_t cls;
} ptec_tok_range;

extern const ptec_tok_range ptec_tok_ranges[];
extern const size_t ptec_tok_num_ranges;

/* The end of the pre-token that starts at text[at] (at < len): GPT-2's regex
 * 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
size_t ptec_tok_pretoken_end(const uint8_t *text, size_t len, size_t at);
/* The end of the first pre-token of " " + text (len > 0, text[0] != ' '), as
 * an offset into text (0: the space alone). */
size_t ptec_tok_pretoken_end_after_space(const uint8_t *text, size_t len);

static inline uint32_t ptec_tok_u32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

#endif
