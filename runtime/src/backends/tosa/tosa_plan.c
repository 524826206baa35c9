/*
 * Activation memory by lifetime: each tensor an operator produces (not a
 * constant, not a graph input or output, which live in the method's
 * tensors) lives from its producer to its last reader, and takes the lowest
 * 16-byte aligned place that no live tensor holds (first fit, in operator
 * order). An operator's outputs are placed before its inputs are released,
 * so no operator writes over what it reads.
 *
 * The plan is computed from the blob alone, twice with the same code: once
 * by memory_required for the size, once at init to place the tensors. It
 * keeps at most TOSA_PLAN_MAX_LIVE tensors in its list; beyond that a tensor
 * goes above everything placed so far and that space is never reused
 * (always correct, only less compact). Time is O(tensors * operators)
 * name comparisons: names are how TOSA operators refer to tensors.
 */
#include <string.h>

#include "backends/tosa/tosa.h"
#include "core/message.h"

#define TOSA_PLAN_MAX_LIVE 32 /* 768 bytes of stack */

typedef struct live_block {
  uint64_t offset, size;
  uint32_t last;  /* index of the last operator reading it */
} live_block;

static bool name_in(const fb_reader *r, const fb_vector *names, const char *name, uint32_t len) {
  for (uint32_t k = 0; k < names->len; k++) {
    const char *s;
    uint32_t n;
    if (tosa_string_at(r, names, k, &s, &n) && n == len && memcmp(s, name, len) == 0) return true;
  }
  return false;
}

/* Index of the tensor called `name` in the block's vector, -1 if none. */
static int64_t tensor_index(const tosa_block_view *b, const char *name, uint32_t len,
                            tosa_tensor_info *ti, char *msg, size_t cap, ptec_status *s) {
  fb_reader r = b->r;
  for (uint32_t i = 0; i < tosa_block_tensors(b); i++) {
    *s = tosa_read_tensor(&r, b, i, ti, msg, cap);
    if (*s != PTEC_STATUS_OK) return -1;
    if (ti->name_len == len && memcmp(ti->name, name, len) == 0) return i;
  }
  return -1;
}

/* The operator's inputs and outputs, and its op code. */
static ptec_status operator_at(const tosa_block_view *b, uint32_t i, uint32_t *code,
                               fb_vector *ins, fb_vector *outs) {
  fb_reader r = b->r;
  fb_table op;
  ptec_status s = fb_vector_table(&r, &b->operators, i, &op);
  if (s == PTEC_STATUS_OK) s = fb_u32(&r, &op, TOSA_OPERATOR_OP, 0, code);
  if (s == PTEC_STATUS_OK) s = fb_vector_field(&r, &op, TOSA_OPERATOR_INPUTS, 4, ins, NULL);
  if (s == PTEC_STATUS_OK) s = fb_vector_field(&r, &op, TOSA_OPERATOR_OUTPUTS, 4, outs, NULL);
  return s;
}

/* The last operator after `from` that reads `name` (`from` if none). */
static ptec_status last_reader(const tosa_block_view *b, uint32_t from, const char *name,
                               uint32_t len, uint32_t *last) {
  *last = from;
  for (uint32_t j = from + 1; j < b->operators.len; j++) {
    uint32_t code;
    fb_vector ins, outs;
    ptec_status s = operator_at(b, j, &code, &ins, &outs);
    if (s != PTEC_STATUS_OK) return s;
    if (name_in(&b->r, &ins, name, len)) *last = j;
  }
  return PTEC_STATUS_OK;
}

/* Lowest offset >= floor where `size` bytes fit between the live blocks
 * (sorted by offset). */
static uint64_t first_fit(const live_block *live, uint32_t n, uint64_t floor, uint64_t size) {
  uint64_t at = floor;
  for (uint32_t k = 0; k < n; k++) {
    if (live[k].offset + live[k].size <= at) continue;
    if (at + size <= live[k].offset) break;
    at = live[k].offset + live[k].size;
  }
  return at;
}

ptec_status tosa_plan(const tosa_block_view *b, tosa_graph *g, uint64_t *bytes, char *msg,
                      size_t cap) {
  live_block live[TOSA_PLAN_MAX_LIVE];
  uint32_t num_live = 0;
  uint64_t peak = 0, floor = 0;
  for (uint32_t i = 0; i < b->operators.len; i++) {
    uint32_t code;
    fb_vector ins, outs;
    ptec_status s = operator_at(b, i, &code, &ins, &outs);
    if (s != PTEC_STATUS_OK) {
      ptec_format(msg, cap, "TOSA operator %u: %s", i, b->r.reason);
      return s;
    }
    for (uint32_t k = 0; code != TOSA_OP_CONST && code != TOSA_OP_CONST_SHAPE && k < outs.len;
         k++) {
      const char *name;
      uint32_t len;
      tosa_tensor_info ti;
      if (!tosa_string_at(&b->r, &outs, k, &name, &len)) continue; /* init reports it */
      int64_t t = tensor_index(b, name, len, &ti, msg, cap, &s);
      if (s != PTEC_STATUS_OK) return s;
      if (t < 0 || ti.has_data || ti.nbytes == 0 || name_in(&b->r, &b->inputs, name, len) ||
          name_in(&b->r, &b->outputs, name, len)) {
        continue;
      }
      uint32_t last;
      s = last_reader(b, i, name, len, &last);
      if (s != PTEC_STATUS_OK) return s;
      uint64_t size = (ti.nbytes + 15) / 16 * 16;
      uint64_t at = first_fit(live, num_live, floor, size);
      if (num_live < TOSA_PLAN_MAX_LIVE) {
        uint32_t pos = num_live++;
        while (pos > 0 && live[pos - 1].offset > at) {
          live[pos] = live[pos - 1];
          pos--;
        }
        live[pos] = (live_block){at, size, last};
      } else {
        at = peak; /* untracked: above everything, never reused */
        floor = at + size;
      }
      if (at + size > peak) peak = at + size;
      if (g != NULL && (uint64_t)t < g->num_tensors && at + size <= g->arena_size) {
        g->tensors[t].t.data = g->arena + at;
      }
    }
    /* Release what operator i was the last to read. */
    uint32_t kept = 0;
    for (uint32_t k = 0; k < num_live; k++) {
      if (live[k].last > i) live[kept++] = live[k];
    }
    num_live = kept;
  }
  *bytes = peak;
  return PTEC_STATUS_OK;
}
