/*
 * The call cache (ptec_method_set_call_cache, ptec.h): each kernel call,
 * delegate call and jump_false is decoded once, into the caller's memory,
 * so that execute does not decode its arguments from the program on every
 * run (about half the cost of a small instruction, issue 12). What a run can
 * change is re-read before each call from the call's refresh entries; the
 * rest (tags, scalars, lists, planned and constant data, static sizes) does
 * not change after init. Without the cache, execute decodes into the frame
 * as it goes (instructions.c), in method memory only: the default for
 * microcontrollers whose RAM the cache would not fit. Execute reaches the
 * cache through the method's `cached` pointer, so a firmware that never
 * calls ptec_method_set_call_cache does not link this object (the Cortex-M
 * core keeps its footprint).
 */
#include <string.h>

#include "core/message.h"
#include "executor/internal.h"

/* Caller memory, handed out in 8-byte aligned pieces, never past `end`;
 * or, with `base` NULL, only counted (ptec_method_call_cache_size). */
typedef struct cache_arena {
  uint8_t *base;
  uint64_t used, size;
} cache_arena;

static void *take(cache_arena *a, uint64_t bytes) {
  bytes = (bytes + 7) & ~(uint64_t)7;
  if (a->base == NULL) {
    a->used += bytes; /* counts below 2^32 times small units: no wrap in 64 bits */
    return NULL;
  }
  if (bytes > a->size - a->used) return NULL;
  void *p = a->base + a->used;
  a->used += bytes;
  return p;
}

/* Whether value `v` is the destination of a move (its alias changes as the
 * method runs): flagged on its state entry by build, a binary search here
 * (a scan of the instructions per argument made this quadratic). */
static bool moved_to(const ptec_method *m, int32_t v) {
  const ptec_value_state *e = ptec_value_state_of(m, (uint32_t)v);
  return e != NULL && e->moved;
}

/* Whether any of `n` arguments, or an item of a tensor list among them,
 * is a move's destination. */
static ptec_status reads_moved(ptec_method *m, fb_reader *r, const int32_t *args, uint32_t n,
                               bool *moved) {
  *moved = false;
  for (uint32_t k = 0; k < n && !*moved; k++) {
    ptec_value v;
    ptec_tensor t;
    *moved = moved_to(m, args[k]);
    ptec_status s = ptec_value_read(m, r, (uint32_t)args[k], &v, &t, NULL);
    if (s != PTEC_STATUS_OK) return s;
    bool tensors = v.tag == PTEC_VALUE_TENSOR_LIST || v.tag == PTEC_VALUE_OPTIONAL_TENSOR_LIST;
    for (uint32_t j = 0; tensors && j < v.count && !*moved; j++) {
      *moved = v.u.tensor_list[j] >= 0 && moved_to(m, v.u.tensor_list[j]);
    }
  }
  return PTEC_STATUS_OK;
}

/* Copies the frame just loaded into the cache, its pointers moved along. */
static ptec_status keep_frame(ptec_method *m, const ptec_kernel_context *ctx, cache_arena *a,
                              ptec_cached_call *c) {
  const ptec_frame *f = m->frame;
  ptec_value *values = take(a, (uint64_t)f->used * sizeof *values);
  ptec_tensor *tensors = take(a, (uint64_t)f->used * sizeof *tensors);
  ptec_cache_refresh *refresh = take(a, (uint64_t)f->used * sizeof *refresh);
  int32_t *args = take(a, (uint64_t)ctx->num_args * sizeof *args);
  int32_t *lists = take(a, (uint64_t)f->lists_used * sizeof *lists);
  int64_t *items = take(a, (uint64_t)f->items_used * sizeof *items);
  if (a->base == NULL) return PTEC_STATUS_OK; /* counted */
  if (values == NULL || tensors == NULL || refresh == NULL || args == NULL || lists == NULL ||
      items == NULL) {
    /* Sized by the same counts at init: only a bug gets here. */
    ptec_format(m->message, sizeof m->message, "call cache overflows its sized bytes");
    return PTEC_STATUS_INTERNAL;
  }
  memcpy(args, ctx->args, ctx->num_args * sizeof *args);
  memcpy(lists, f->lists, f->lists_used * sizeof *lists);
  memcpy(items, f->items, f->items_used * sizeof *items);
  memcpy(tensors, f->tensors, f->used * sizeof *tensors);
  uint32_t num_refresh = 0;
  for (uint32_t s = 0; s < f->used; s++) {
    ptec_value v = f->values[s];
    if (v.tag == PTEC_VALUE_TENSOR) {
      v.u.tensor = &tensors[s];
      ptec_value_state *e = ptec_value_state_of(m, f->origin[s]);
      if (e != NULL || tensors[s].dynamic_sizes != NULL) {
        refresh[num_refresh].t = &tensors[s];
        refresh[num_refresh++].e = e;
      }
    } else if (v.tag == PTEC_VALUE_TENSOR_LIST || v.tag == PTEC_VALUE_OPTIONAL_TENSOR_LIST) {
      v.u.tensor_list = lists + (v.u.tensor_list - f->lists);
    } else if (v.tag == PTEC_VALUE_INT_LIST) {
      v.u.int_list = items + (v.u.int_list - f->items);
    }
    values[s] = v;
  }
  c->values = values;
  c->args = args;
  c->num_args = ctx->num_args;
  c->refresh = refresh;
  c->num_refresh = num_refresh;
  return PTEC_STATUS_OK;
}

/* Decodes instruction `ins` into `c` (left uncached: not a call or jump, or
 * it reads a move's destination). */
static ptec_status cache_call(ptec_method *m, fb_reader *r, const ptec_instruction *ins,
                              bool any_moves, cache_arena *a, ptec_cached_call *c) {
  uint32_t kind = PTEC_INSTR_KIND(ins);
  memset(c, 0, sizeof *c);
  int32_t cond = (int32_t)ins->a;
  const int32_t *args = &cond;
  uint32_t n = 1;
  if (kind <= INSTR_DELEGATE_CALL) args = ptec_instruction_args(m, ins, &n);
  else if (kind != INSTR_JUMP_FALSE_CALL) return PTEC_STATUS_OK;
  bool moved = false;
  ptec_status s = any_moves ? reads_moved(m, r, args, n, &moved) : PTEC_STATUS_OK;
  if (s != PTEC_STATUS_OK || moved) return s;
  ptec_kernel_context ctx;
  s = ptec_frame_load_args(m, r, args, n, &ctx);
  if (s != PTEC_STATUS_OK) return s;
  return keep_frame(m, &ctx, a, c);
}

/* Instruction `ins`'s cached call, refreshed: what a run can change, as
 * values.c would read it; NULL if it is not cached. `after` its kernel ran:
 * the bindings it made (a view's output) kept, as ptec_frame_store does. */
static const ptec_cached_call *cached(ptec_method *m, const ptec_instruction *ins, bool after) {
  const ptec_cached_call *c = &m->calls[ins - m->instructions];
  if (c->values == NULL) return NULL;
  for (uint32_t k = 0; after && k < c->num_refresh; k++) {
    if (c->refresh[k].e != NULL) c->refresh[k].e->data = c->refresh[k].t->data;
  }
  for (uint32_t k = 0; !after && k < c->num_refresh; k++) {
    ptec_tensor *t = c->refresh[k].t;
    const ptec_value_state *e = c->refresh[k].e;
    if (e != NULL && e->data != NULL) t->data = e->data; /* bound at run time */
    if (t->dynamic_sizes != NULL) { /* its current sizes, within its bound (resize.c) */
      size_t numel = 1;
      for (uint32_t d = 0; d < t->rank; d++) numel *= (size_t)t->dynamic_sizes[d];
      t->sizes = t->dynamic_sizes;
      t->numel = numel;
      t->nbytes = numel * ptec_dtype_size(t->dtype);
    }
  }
  return c;
}

/* Decodes every instruction into `a` (or counts its bytes). */
static ptec_status build(ptec_method *m, cache_arena *a, ptec_cached_call **out) {
  ptec_cached_call scratch;
  ptec_cached_call *calls = take(a, (uint64_t)m->num_instructions * sizeof *calls);
  if (a->base != NULL && calls == NULL) {
    ptec_format(m->message, sizeof m->message, "call cache overflows its sized bytes");
    return PTEC_STATUS_INTERNAL;
  }
  /* Flags each move's destination (it has a state entry: init noted it). */
  bool any_moves = false;
  for (uint32_t k = 0; k < m->num_states; k++) m->states[k].moved = false;
  for (uint32_t i = 0; i < m->num_instructions; i++) {
    const ptec_instruction *ins = &m->instructions[i];
    if (PTEC_INSTR_KIND(ins) != INSTR_MOVE_CALL) continue;
    ptec_value_state *e = ptec_value_state_of(m, PTEC_INSTR_B(ins));
    if (e != NULL) e->moved = true;
    any_moves = true;
  }
  fb_reader r;
  ptec_program_reader(m->program, &r);
  for (uint32_t i = 0; i < m->num_instructions; i++) {
    ptec_status s = cache_call(m, &r, &m->instructions[i], any_moves, a,
                               calls != NULL ? &calls[i] : &scratch);
    if (s != PTEC_STATUS_OK) {
      if (s != PTEC_STATUS_INTERNAL) ptec_method_program_failed(m, s); /* the program changed */
      ptec_prefix_message(m->message, i);
      return s;
    }
  }
  *out = calls;
  return PTEC_STATUS_OK;
}

ptec_status ptec_method_call_cache_size(ptec_method *m, size_t *bytes) {
  ptec_status s = ptec_method_check_ready(m);
  if (s != PTEC_STATUS_OK) return s;
  if (bytes == NULL) return PTEC_STATUS_INVALID_ARGUMENT;
  cache_arena a = {NULL, 0, 0};
  ptec_cached_call *calls;
  m->message[0] = '\0';
  s = build(m, &a, &calls);
  if (s != PTEC_STATUS_OK) return s;
  if (a.used > SIZE_MAX) {
    ptec_format(m->message, sizeof m->message, "the call cache needs more than SIZE_MAX bytes");
    return PTEC_STATUS_BAD_SIZE;
  }
  *bytes = (size_t)a.used;
  return PTEC_STATUS_OK;
}

ptec_status ptec_method_set_call_cache(ptec_method *m, void *memory, size_t bytes) {
  size_t need;
  ptec_status s = ptec_method_call_cache_size(m, &need);
  if (s != PTEC_STATUS_OK) return s;
  m->calls = NULL; /* until it is complete */
  m->cached = NULL;
  if (memory == NULL || (uintptr_t)memory % PTEC_BUFFER_ALIGNMENT != 0) {
    ptec_format(m->message, sizeof m->message, "call cache memory must be non-null and %d-byte "
                "aligned", PTEC_BUFFER_ALIGNMENT);
    return PTEC_STATUS_INVALID_ARGUMENT;
  }
  if (bytes < need) {
    ptec_format(m->message, sizeof m->message,
                "call cache of %zu bytes is too small: the method needs %zu", bytes, need);
    return PTEC_STATUS_OUT_OF_MEMORY;
  }
  cache_arena a = {memory, 0, bytes};
  ptec_cached_call *calls;
  s = build(m, &a, &calls);
  if (s != PTEC_STATUS_OK) return s;
  m->calls = calls;
  m->cached = cached;
  return PTEC_STATUS_OK;
}
