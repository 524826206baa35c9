/*
 * Encoding and decoding. Added tokens are matched literally first (leftmost,
 * longest: `tokenizers`' AddedVocabulary), the text between them is split by
 * the pre-tokenizer and each pre-token merged by BPE. The merge order is
 * `tokenizers`': the pair of lowest rank first, the leftmost of equal ones,
 * one merge at a time (word.rs's priority queue of (rank, position) pops the
 * same sequence of merges).
 */
#include <string.h>

#include "tokenizer_internal.h"

typedef struct symbol {
  uint32_t id;
  uint32_t rank, result; /* of the pair (this, next); UINT32_MAX: no merge */
} symbol;

size_t ptec_tokenizer_max_tokens(size_t len) { return 2 * len + 1; }
size_t ptec_tokenizer_work_bytes(size_t len) { return (len + 1) * sizeof(symbol); }

static void find_merge(const ptec_tokenizer *tok, symbol *s) {
  const symbol *next = s + 1;
  uint64_t pair = (uint64_t)s->id << 32 | next->id;
  size_t lo = 0, hi = tok->n_merges;
  s->rank = s->result = UINT32_MAX;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const uint8_t *m = tok->merges + 16u * mid;
    uint64_t at = (uint64_t)ptec_tok_u32(m) << 32 | ptec_tok_u32(m + 4);
    if (at == pair) {
      s->rank = ptec_tok_u32(m + 8);
      s->result = ptec_tok_u32(m + 12);
      return;
    }
    if (at < pair) lo = mid + 1;
    else hi = mid;
  }
}

typedef struct output {
  uint32_t *ids;
  size_t capacity, n;
  symbol *work;
  size_t work_symbols;
} output;

/* One pre-token (with a leading space when `space`) merged and appended. */
static ptec_status encode_piece(const ptec_tokenizer *tok, bool space, const uint8_t *t, size_t len,
                                output *out) {
  size_t n = len + (space ? 1 : 0);
  if (n > out->work_symbols) return PTEC_STATUS_OUT_OF_MEMORY;
  symbol *s = out->work;
  if (space) s[0].id = tok->byte_token[' '];
  for (size_t k = 0; k < len; k++) s[k + (space ? 1 : 0)].id = tok->byte_token[t[k]];
  for (size_t k = 0; k + 1 < n; k++) find_merge(tok, &s[k]);
  if (n > 0) s[n - 1].rank = UINT32_MAX;
  for (;;) {
    size_t best = 0;
    for (size_t k = 1; k + 1 < n; k++) {
      if (s[k].rank < s[best].rank) best = k;
    }
    if (n < 2 || s[best].rank == UINT32_MAX) break;
    s[best].id = s[best].result;
    memmove(&s[best + 1], &s[best + 2], (n - best - 2) * sizeof *s);
    n--;
    if (best > 0) find_merge(tok, &s[best - 1]);
    if (best + 1 < n) find_merge(tok, &s[best]);
    else s[best].rank = UINT32_MAX;
  }
  if (out->capacity - out->n < n) return PTEC_STATUS_OUT_OF_MEMORY;
  for (size_t k = 0; k < n; k++) out->ids[out->n++] = s[k].id;
  return PTEC_STATUS_OK;
}

static ptec_status encode_segment(const ptec_tokenizer *tok, const uint8_t *t, size_t len,
                                  output *out) {
  size_t at = 0;
  if (len > 0 && (tok->file_flags & 1u) != 0 && t[0] != ' ') {
    size_t end = ptec_tok_pretoken_end_after_space(t, len);
    ptec_status s = encode_piece(tok, true, t, end, out);
    if (s != PTEC_STATUS_OK) return s;
    at = end;
  }
  while (at < len) {
    size_t end = ptec_tok_pretoken_end(t, len, at);
    ptec_status s = encode_piece(tok, false, t + at, end - at, out);
    if (s != PTEC_STATUS_OK) return s;
    at = end;
  }
  return PTEC_STATUS_OK;
}

/* The longest added token at t[at..), or UINT32_MAX. */
static uint32_t added_at(const ptec_tokenizer *tok, const uint8_t *t, size_t len, size_t at,
                         size_t *n) {
  for (uint32_t k = 0; k < tok->n_added; k++) { /* longest first */
    uint32_t id = ptec_tok_u32(tok->added + 4u * k);
    const uint8_t *bytes = ptec_tokenizer_token(tok, id, n);
    if (*n <= len - at && memcmp(t + at, bytes, *n) == 0) return id;
  }
  return UINT32_MAX;
}

ptec_status ptec_tokenizer_encode(const ptec_tokenizer *tok, const char *text, size_t len,
                                  uint32_t *ids, size_t capacity, size_t *num_ids, void *work,
                                  size_t work_bytes) {
  if (tok == NULL || (text == NULL && len > 0) || ids == NULL || num_ids == NULL) {
    return PTEC_STATUS_INVALID_ARGUMENT;
  }
  const uint8_t *t = (const uint8_t *)text;
  output out = {ids, capacity, 0, (symbol *)work, work_bytes / sizeof(symbol)};
  *num_ids = 0;
  if (work_bytes < ptec_tokenizer_work_bytes(len) || capacity < ptec_tokenizer_max_tokens(len) ||
      ((uintptr_t)work % _Alignof(symbol)) != 0) {
    return PTEC_STATUS_OUT_OF_MEMORY;
  }
  size_t start = 0;
  for (size_t at = 0; at <= len; at++) {
    size_t n = 0;
    uint32_t id = at < len ? added_at(tok, t, len, at, &n) : UINT32_MAX;
    if (id == UINT32_MAX && at < len) continue;
    ptec_status s = encode_segment(tok, t + start, at - start, &out);
    if (s != PTEC_STATUS_OK) return s;
    if (id != UINT32_MAX) {
      if (out.n == out.capacity) return PTEC_STATUS_OUT_OF_MEMORY;
      out.ids[out.n++] = id;
      at += n - 1;
      start = at + 1;
    }
  }
  *num_ids = out.n;
  return PTEC_STATUS_OK;
}

ptec_status ptec_tokenizer_decode(const ptec_tokenizer *tok, const uint32_t *ids, size_t n,
                                  bool skip_special, char *out, size_t capacity, size_t *len) {
  if (tok == NULL || (ids == NULL && n > 0) || len == NULL || (out == NULL && capacity > 0)) {
    return PTEC_STATUS_INVALID_ARGUMENT;
  }
  size_t total = 0;
  ptec_status status = PTEC_STATUS_OK;
  for (size_t k = 0; k < n; k++) {
    size_t m;
    const uint8_t *bytes = ptec_tokenizer_token(tok, ids[k], &m);
    if (bytes == NULL) return PTEC_STATUS_INDEX_OUT_OF_RANGE;
    if (skip_special && ptec_tokenizer_is_special(tok, ids[k])) continue;
    if (status == PTEC_STATUS_OK && m <= capacity - total) memcpy(out + total, bytes, m);
    else status = PTEC_STATUS_OUT_OF_MEMORY;
    total += m;
  }
  *len = total;
  return status;
}
