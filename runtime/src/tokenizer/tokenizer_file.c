/*
 * The tokenizer file reader (layout in python/ptec/llm/tokenizer.py). Every
 * size is checked against the file before anything is read, in 64 bits so no
 * count can wrap; encoding then trusts only what is checked here: token ids
 * below n_tokens, offsets non-decreasing inside the blob, merges sorted by
 * pair (binary search) and each merge's result the bytes of its two halves.
 */
#include <string.h>

#include "tokenizer_internal.h"

#define HEADER_BYTES 32u
#define MAX_COUNT (1u << 24) /* tokens, merges: far past any BPE vocabulary */

static ptec_status refuse(ptec_tokenizer *tok, ptec_status s, const char *what, uint64_t n) {
  /* message = what + (n != UINT64_MAX ? " " + n : ""), no stdio in the runtime */
  size_t k = 0, cap = sizeof tok->message;
  while (what[k] != '\0' && k + 1 < cap) {
    tok->message[k] = what[k];
    k++;
  }
  if (n != UINT64_MAX && k + 22 < cap) {
    char digits[21];
    size_t d = 0;
    do {
      digits[d++] = (char)('0' + n % 10);
      n /= 10;
    } while (n != 0);
    tok->message[k++] = ' ';
    while (d > 0) tok->message[k++] = digits[--d];
  }
  tok->message[k] = '\0';
  return s;
}

const char *ptec_tokenizer_message(const ptec_tokenizer *tok) { return tok->message; }

static uint32_t offset(const ptec_tokenizer *tok, uint32_t i) {
  return ptec_tok_u32(tok->offsets + 4u * (size_t)i);
}

const uint8_t *ptec_tokenizer_token(const ptec_tokenizer *tok, uint32_t id, size_t *len) {
  if (id >= tok->n_tokens) return NULL;
  *len = offset(tok, id + 1) - offset(tok, id);
  return tok->blob + offset(tok, id);
}

bool ptec_tokenizer_is_special(const ptec_tokenizer *tok, uint32_t id) {
  return id < tok->n_tokens && (tok->flags[id] & 1u) != 0;
}

static ptec_status check_tokens(ptec_tokenizer *tok, uint32_t blob_bytes) {
  if (offset(tok, 0) != 0 || offset(tok, tok->n_tokens) != blob_bytes) {
    return refuse(tok, PTEC_STATUS_BAD_SIZE, "token offsets do not span the token bytes", UINT64_MAX);
  }
  for (uint32_t i = 0; i < 256; i++) tok->byte_token[i] = UINT32_MAX;
  for (uint32_t i = 0; i < tok->n_tokens; i++) {
    uint32_t a = offset(tok, i), b = offset(tok, i + 1);
    if (b <= a) return refuse(tok, PTEC_STATUS_MALFORMED, "empty or backwards token", i);
    if (b > blob_bytes) return refuse(tok, PTEC_STATUS_BAD_SIZE, "token past the token bytes", i);
    if (tok->flags[i] > 3) return refuse(tok, PTEC_STATUS_BAD_ENUM, "unknown flags of token", i);
    if (b - a == 1 && tok->flags[i] == 0 && tok->byte_token[tok->blob[a]] == UINT32_MAX) {
      tok->byte_token[tok->blob[a]] = i;
    }
  }
  for (uint32_t b = 0; b < 256; b++) {
    if (tok->byte_token[b] == UINT32_MAX) {
      return refuse(tok, PTEC_STATUS_MALFORMED, "no token for the byte", b);
    }
  }
  for (uint32_t k = 0; k < tok->n_added; k++) {
    uint32_t id = ptec_tok_u32(tok->added + 4u * k);
    if (id >= tok->n_tokens) return refuse(tok, PTEC_STATUS_INDEX_OUT_OF_RANGE, "added token", id);
    if ((tok->flags[id] & 2u) == 0) {
      return refuse(tok, PTEC_STATUS_MALFORMED, "added token not flagged as added", id);
    }
  }
  return PTEC_STATUS_OK;
}

static ptec_status check_merges(ptec_tokenizer *tok) {
  uint64_t previous = 0;
  for (uint32_t k = 0; k < tok->n_merges; k++) {
    const uint8_t *m = tok->merges + 16u * (size_t)k;
    uint32_t left = ptec_tok_u32(m), right = ptec_tok_u32(m + 4), rank = ptec_tok_u32(m + 8);
    uint32_t result = ptec_tok_u32(m + 12);
    if (left >= tok->n_tokens || right >= tok->n_tokens || result >= tok->n_tokens) {
      return refuse(tok, PTEC_STATUS_INDEX_OUT_OF_RANGE, "token id past the vocabulary in merge", k);
    }
    if (rank >= tok->n_merges) return refuse(tok, PTEC_STATUS_INDEX_OUT_OF_RANGE, "rank of merge", k);
    uint64_t pair = (uint64_t)left << 32 | right;
    if (k > 0 && pair <= previous) {
      return refuse(tok, PTEC_STATUS_MALFORMED, "merges not sorted by pair at", k);
    }
    previous = pair;
    size_t nl, nr, nm;
    const uint8_t *l = ptec_tokenizer_token(tok, left, &nl), *r = ptec_tokenizer_token(tok, right, &nr);
    const uint8_t *res = ptec_tokenizer_token(tok, result, &nm);
    if (nm != nl + nr || memcmp(res, l, nl) != 0 || memcmp(res + nl, r, nr) != 0) {
      return refuse(tok, PTEC_STATUS_MALFORMED, "result is not its two halves in merge", k);
    }
  }
  return PTEC_STATUS_OK;
}

ptec_status ptec_tokenizer_load(ptec_tokenizer *tok, const void *data, size_t size) {
  if (tok == NULL) return PTEC_STATUS_INVALID_ARGUMENT;
  memset(tok, 0, sizeof *tok);
  const uint8_t *p = (const uint8_t *)data;
  if (p == NULL || size < HEADER_BYTES) {
    return refuse(tok, PTEC_STATUS_TRUNCATED, "tokenizer file shorter than its header", size);
  }
  if (memcmp(p, "PTOK", 4) != 0) {
    return refuse(tok, PTEC_STATUS_BAD_IDENTIFIER, "not a ptec tokenizer file (convert a "
                  "tokenizer.json with python -m ptec.llm.tokenizer)", UINT64_MAX);
  }
  if (ptec_tok_u32(p + 4) != 1) return refuse(tok, PTEC_STATUS_BAD_HEADER, "version", ptec_tok_u32(p + 4));
  tok->file_flags = ptec_tok_u32(p + 8);
  tok->n_tokens = ptec_tok_u32(p + 12);
  tok->n_merges = ptec_tok_u32(p + 16);
  tok->n_added = ptec_tok_u32(p + 20);
  uint32_t blob_bytes = ptec_tok_u32(p + 24);
  if (tok->file_flags > 1 || ptec_tok_u32(p + 28) != 0) {
    return refuse(tok, PTEC_STATUS_BAD_HEADER, "unknown flags", tok->file_flags);
  }
  if (tok->n_tokens < 256 || tok->n_tokens > MAX_COUNT || tok->n_merges > MAX_COUNT ||
      tok->n_added > tok->n_tokens) {
    return refuse(tok, PTEC_STATUS_BAD_SIZE, "token, merge or added-token count out of range",
                  UINT64_MAX);
  }
  uint64_t at = HEADER_BYTES, n = tok->n_tokens;
  uint64_t ends[5];
  ends[0] = at + 4 * (n + 1);
  ends[1] = ends[0] + 16 * (uint64_t)tok->n_merges;
  ends[2] = ends[1] + 4 * (uint64_t)tok->n_added;
  ends[3] = ends[2] + n;
  ends[4] = ends[3] + blob_bytes;
  if (ends[4] != size) {
    return refuse(tok, size < ends[4] ? PTEC_STATUS_TRUNCATED : PTEC_STATUS_BAD_SIZE,
                  "tokenizer file size differs from its header's counts: expected", ends[4]);
  }
  tok->offsets = p + at;
  tok->merges = p + ends[0];
  tok->added = p + ends[1];
  tok->flags = p + ends[2];
  tok->blob = p + ends[3];
  ptec_status s = check_tokens(tok, blob_bytes);
  return s != PTEC_STATUS_OK ? s : check_merges(tok);
}
