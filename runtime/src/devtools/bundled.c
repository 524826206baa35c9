/*
 * BundledProgram reader and checker (ptec/bundled.h). Field numbers follow
 * bundled_program_schema.fbs (declaration order; a union takes two slots:
 * its type, then its value).
 */
#include "ptec/bundled.h"

#include <math.h>
#include <string.h>

#include "core/message.h"
#include "format/flatbuffer.h"

enum { BP_VERSION = 0, BP_SUITES, BP_PROGRAM };
enum { SUITE_METHOD = 0, SUITE_CASES };
enum { CASE_INPUTS = 0, CASE_OUTPUTS };
enum { VALUE_TYPE = 0, VALUE_VAL };
enum { UNION_TENSOR = 1, UNION_INT, UNION_BOOL, UNION_DOUBLE };
enum { TENSOR_SCALAR_TYPE = 0, TENSOR_SIZES, TENSOR_DATA, TENSOR_DIM_ORDER };

static ptec_status fail(ptec_bundle *b, ptec_status s, const char *what, size_t index) {
  ptec_format(b->message, sizeof b->message, "bundle: %s %zu", what, index);
  return s;
}

/* A reader of the file, with the reader's reason as the message on failure. */
static ptec_status reader(ptec_bundle *b, fb_reader *r, fb_table *root) {
  ptec_status s = fb_reader_init(r, b->data, b->size);
  if (s == PTEC_STATUS_OK) s = fb_root(r, root);
  if (s != PTEC_STATUS_OK) {
    ptec_format(b->message, sizeof b->message, "bundle: %s at byte %zu",
                r->reason ? r->reason : "malformed", r->where);
  }
  return s;
}

static ptec_status read_failed(ptec_bundle *b, const fb_reader *r) {
  ptec_format(b->message, sizeof b->message, "bundle: %s at byte %zu",
              r->reason ? r->reason : "malformed", r->where);
  return r->status != PTEC_STATUS_OK ? r->status : PTEC_STATUS_MALFORMED;
}

bool ptec_bundle_is_bundle(const void *data, size_t size) {
  return data != NULL && size >= 8 && memcmp((const uint8_t *)data + 4, "BP08", 4) == 0;
}

ptec_status ptec_bundle_open(ptec_bundle *b, const void *data, size_t size) {
  if (b == NULL) return PTEC_STATUS_INVALID_ARGUMENT;
  memset(b, 0, sizeof *b);
  if (!ptec_bundle_is_bundle(data, size)) {
    ptec_format(b->message, sizeof b->message, "not a bundled program (no BP08 identifier)");
    return PTEC_STATUS_MALFORMED;
  }
  b->data = data;
  b->size = size;
  fb_reader r;
  fb_table root;
  fb_vector program;
  ptec_status s = reader(b, &r, &root);
  if (s != PTEC_STATUS_OK) return s;
  if (!fb_vec(&r, &root, BP_PROGRAM, 1, &program) || program.len == 0) {
    if (r.status != PTEC_STATUS_OK) return read_failed(b, &r);
    ptec_format(b->message, sizeof b->message, "bundle: no program");
    return PTEC_STATUS_MALFORMED;
  }
  b->program = b->data + program.data;
  b->program_size = program.len;
  return PTEC_STATUS_OK;
}

const void *ptec_bundle_program(const ptec_bundle *b, size_t *size) {
  *size = b->program_size;
  return b->program;
}

const char *ptec_bundle_message(const ptec_bundle *b) { return b->message; }

/* The test case table `index` of `method`'s suite; *found false if none. */
static ptec_status find_case(ptec_bundle *b, fb_reader *r, const char *method, size_t index,
                             fb_table *out, size_t *count) {
  fb_table root, suite;
  fb_vector suites, cases;
  ptec_status s = reader(b, r, &root);
  if (s != PTEC_STATUS_OK) return s;
  *count = 0;
  fb_vec(r, &root, BP_SUITES, 4, &suites);
  for (uint32_t k = 0; r->status == PTEC_STATUS_OK && k < suites.len; k++) {
    uint32_t len = 0;
    if (!fb_at(r, &suites, k, &suite)) break;
    const char *name = fb_str(r, &suite, SUITE_METHOD, &len);
    if (name == NULL || strcmp(name, method) != 0) continue;
    fb_vec(r, &suite, SUITE_CASES, 4, &cases);
    *count = cases.len;
    if (index < cases.len) fb_at(r, &cases, (uint32_t)index, out);
    break;
  }
  if (r->status != PTEC_STATUS_OK) return read_failed(b, r);
  return PTEC_STATUS_OK;
}

ptec_status ptec_bundle_num_cases(ptec_bundle *b, const char *method, size_t *count) {
  if (b == NULL || b->data == NULL || method == NULL || count == NULL) {
    return PTEC_STATUS_INVALID_ARGUMENT;
  }
  fb_reader r;
  fb_table unused;
  return find_case(b, &r, method, SIZE_MAX, &unused, count);
}

/* Value `i` of a case's inputs or outputs, as a tensor view or a scalar. */
static ptec_status read_value(ptec_bundle *b, fb_reader *r, const fb_vector *values, size_t i,
                              int32_t *kind, ptec_tensor_view *view, ptec_scalar *scalar) {
  fb_table value, val;
  if (!fb_at(r, values, (uint32_t)i, &value)) return read_failed(b, r);
  uint8_t type = (uint8_t)fb_get(r, &value, VALUE_TYPE, 1);
  if (!fb_tab(r, &value, VALUE_VAL, &val)) {
    return r->status != PTEC_STATUS_OK ? read_failed(b, r)
                                       : fail(b, PTEC_STATUS_MALFORMED, "empty value", i);
  }
  memset(scalar, 0, sizeof *scalar);
  if (type == UNION_INT || type == UNION_BOOL || type == UNION_DOUBLE) {
    *kind = type == UNION_INT ? PTEC_INPUT_INT
          : type == UNION_BOOL ? PTEC_INPUT_BOOL : PTEC_INPUT_DOUBLE;
    scalar->kind = *kind;
    uint64_t raw = fb_get(r, &val, 0, type == UNION_BOOL ? 1 : 8);
    if (type == UNION_DOUBLE) memcpy(&scalar->d, &raw, sizeof scalar->d);
    else scalar->i = (int64_t)raw;
    return r->status == PTEC_STATUS_OK ? PTEC_STATUS_OK : read_failed(b, r);
  }
  if (type != UNION_TENSOR) return fail(b, PTEC_STATUS_MALFORMED, "unknown value type of value", i);
  *kind = PTEC_INPUT_TENSOR;
  fb_vector sizes, data, order;
  memset(view, 0, sizeof *view);
  view->dtype = (int8_t)fb_get(r, &val, TENSOR_SCALAR_TYPE, 1);
  fb_vec(r, &val, TENSOR_SIZES, 4, &sizes);
  fb_vec(r, &val, TENSOR_DATA, 1, &data);
  fb_vec(r, &val, TENSOR_DIM_ORDER, 1, &order);
  if (r->status != PTEC_STATUS_OK) return read_failed(b, r);
  size_t elem = ptec_dtype_size(view->dtype);
  if (elem == 0) return fail(b, PTEC_STATUS_TYPE_MISMATCH, "unknown dtype of value", i);
  if (sizes.len > PTEC_MAX_RANK || (order.len != 0 && order.len != sizes.len)) {
    return fail(b, PTEC_STATUS_MALFORMED, "rank or dim order of value", i);
  }
  view->rank = (int32_t)sizes.len;
  uint64_t count = 1;
  uint8_t seen[PTEC_MAX_RANK] = {0};
  for (uint32_t d = 0; d < sizes.len; d++) {
    int32_t n = fb_vector_i32(r, &sizes, d);
    uint8_t o = order.len ? fb_vector_u8(r, &order, d) : (uint8_t)d;
    if (n < 0 || o >= sizes.len || seen[o]++) {
      return fail(b, PTEC_STATUS_MALFORMED, "sizes or dim order of value", i);
    }
    view->sizes[d] = n;
    view->dim_order[d] = o;
    count *= (uint64_t)n; /* n < 2^31, at most 16 factors: checked below before overflow */
    if (count > data.len) count = (uint64_t)data.len + 1;
  }
  if (count * elem != data.len) {
    return fail(b, PTEC_STATUS_SHAPE_MISMATCH, "data size does not match the shape of value", i);
  }
  view->data = (void *)(uintptr_t)(b->data + data.data);
  view->nbytes = data.len;
  return PTEC_STATUS_OK;
}

static ptec_status case_values(ptec_bundle *b, fb_reader *r, const char *method, size_t index,
                               unsigned field, fb_vector *values) {
  fb_table c;
  size_t count;
  ptec_status s = find_case(b, r, method, index, &c, &count);
  if (s != PTEC_STATUS_OK) return s;
  if (index >= count) return fail(b, PTEC_STATUS_INDEX_OUT_OF_RANGE, "no test case", index);
  fb_vec(r, &c, field, 4, values);
  return r->status == PTEC_STATUS_OK ? PTEC_STATUS_OK : read_failed(b, r);
}

ptec_status ptec_bundle_set_inputs(ptec_bundle *b, const char *method, size_t index,
                                   ptec_method *m) {
  if (b == NULL || b->data == NULL || method == NULL || m == NULL) {
    return PTEC_STATUS_INVALID_ARGUMENT;
  }
  fb_reader r;
  fb_vector inputs;
  ptec_status s = case_values(b, &r, method, index, CASE_INPUTS, &inputs);
  if (s != PTEC_STATUS_OK) return s;
  if (inputs.len != ptec_method_num_inputs(m)) {
    ptec_format(b->message, sizeof b->message, "bundle: case %zu has %u inputs, the method %zu",
                index, inputs.len, ptec_method_num_inputs(m));
    return PTEC_STATUS_SHAPE_MISMATCH;
  }
  for (uint32_t i = 0; i < inputs.len; i++) {
    int32_t kind;
    ptec_tensor_view view;
    ptec_scalar scalar;
    s = read_value(b, &r, &inputs, i, &kind, &view, &scalar);
    if (s != PTEC_STATUS_OK) return s;
    s = kind == PTEC_INPUT_TENSOR ? ptec_method_set_input(m, i, &view)
                                  : ptec_method_set_input_scalar(m, i, &scalar);
    if (s != PTEC_STATUS_OK) {
      ptec_format(b->message, sizeof b->message, "bundle: case %zu input %u: %s", index, i,
                  ptec_method_message(m));
      return s;
    }
  }
  return PTEC_STATUS_OK;
}

static bool is_complex(int32_t dtype) {
  return dtype == PTEC_DTYPE_COMPLEX32 || dtype == PTEC_DTYPE_COMPLEX64 ||
         dtype == PTEC_DTYPE_COMPLEX128;
}

/* Part `part` (0 real, 1 imaginary) of element `k` (in memory order) of a view, as a
 * double; a complex element's parts are float16/32/64 pairs, a real element's
 * imaginary part is 0 (so a real tensor compares with a complex one by value). */
static double element(const ptec_tensor_view *v, size_t k, int part) {
  int32_t dtype = v->dtype;
  size_t size = ptec_dtype_size(dtype);
  const uint8_t *p = (const uint8_t *)v->data + k * size;
  if (is_complex(dtype)) {
    size /= 2;
    p += (size_t)part * size;
    dtype = size == 2 ? PTEC_DTYPE_FLOAT16 : size == 4 ? PTEC_DTYPE_FLOAT32 : PTEC_DTYPE_FLOAT64;
  } else if (part) {
    return 0.0;
  }
  switch (dtype) {
    case PTEC_DTYPE_UINT8: return *p;
    case PTEC_DTYPE_BOOL: return *p != 0;
    case PTEC_DTYPE_INT8: return (int8_t)*p;
    case PTEC_DTYPE_INT16: { int16_t x; memcpy(&x, p, 2); return x; }
    case PTEC_DTYPE_INT32: { int32_t x; memcpy(&x, p, 4); return x; }
    case PTEC_DTYPE_INT64: { int64_t x; memcpy(&x, p, 8); return (double)x; }
    case PTEC_DTYPE_FLOAT32: { float x; memcpy(&x, p, 4); return x; }
    case PTEC_DTYPE_FLOAT64: { double x; memcpy(&x, p, 8); return x; }
    case PTEC_DTYPE_BFLOAT16: {  /* the top half of a float32 */
      uint16_t h;
      memcpy(&h, p, 2);
      uint32_t bits = (uint32_t)h << 16;
      float x;
      memcpy(&x, &bits, 4);
      return x;
    }
    case PTEC_DTYPE_FLOAT16: {
      uint16_t h;
      memcpy(&h, p, 2);
      int e = (h >> 10) & 31, f = h & 1023;
      double x = e == 0 ? ldexp(f, -24) : e == 31 ? (f ? NAN : INFINITY) : ldexp(f + 1024, e - 25);
      return (h & 0x8000) ? -x : x;
    }
    default: return NAN;
  }
}

/* Memory offset (in elements) of logical index `at` in a view's dim order. */
static size_t offset_of(const ptec_tensor_view *v, const int32_t *at) {
  size_t offset = 0;
  for (int32_t d = 0; d < v->rank; d++) {
    uint8_t dim = v->dim_order[d];
    offset = offset * (size_t)v->sizes[dim] + (size_t)at[dim];
  }
  return offset;
}

static bool is_float(int32_t dtype) {
  return dtype == PTEC_DTYPE_FLOAT16 || dtype == PTEC_DTYPE_FLOAT32 ||
         dtype == PTEC_DTYPE_FLOAT64 || dtype == PTEC_DTYPE_BFLOAT16 || is_complex(dtype);
}

/* Compares one output; false (with a message) when shapes differ. */
static bool compare(ptec_bundle *b, size_t index, uint32_t o, const ptec_tensor_view *actual,
                    const ptec_tensor_view *expected, double rtol, double atol, double *worst,
                    bool *passed) {
  if (actual->rank != expected->rank ||
      memcmp(actual->sizes, expected->sizes, (size_t)actual->rank * sizeof actual->sizes[0])) {
    ptec_format(b->message, sizeof b->message, "bundle: case %zu output %u: shape differs",
                index, o);
    return false;
  }
  bool floats = is_float(actual->dtype) || is_float(expected->dtype);
  int32_t at[PTEC_MAX_RANK] = {0};
  size_t count = actual->nbytes / ptec_dtype_size(actual->dtype);
  /* Complex: real and imaginary parts compared each on its own (the error is the larger). */
  int parts = is_complex(actual->dtype) || is_complex(expected->dtype) ? 2 : 1;
  for (size_t k = 0; k < count; k++) {
    for (int part = 0; part < parts; part++) {
      double a = element(actual, offset_of(actual, at), part);
      double e = element(expected, offset_of(expected, at), part);
      double err = fabs(a - e);
      bool ok = floats ? (err <= atol + rtol * fabs(e) || (isnan(a) && isnan(e)) || a == e)
                       : a == e;
      if (!ok) *passed = false;
      if (isnan(err) && !ok) err = INFINITY;
      if (err > *worst) *worst = err;
    }
    for (int32_t d = actual->rank - 1; d >= 0 && ++at[d] == actual->sizes[d]; d--) at[d] = 0;
  }
  return true;
}

ptec_status ptec_bundle_check_outputs(ptec_bundle *b, const char *method, size_t index,
                                      const ptec_method *m, double rtol, double atol,
                                      ptec_bundle_result *result) {
  if (b == NULL || b->data == NULL || method == NULL || m == NULL || result == NULL) {
    return PTEC_STATUS_INVALID_ARGUMENT;
  }
  memset(result, 0, sizeof *result);
  result->passed = true;
  fb_reader r;
  fb_vector outputs;
  ptec_status s = case_values(b, &r, method, index, CASE_OUTPUTS, &outputs);
  if (s != PTEC_STATUS_OK) return s;
  if (outputs.len != ptec_method_num_outputs(m)) {
    ptec_format(b->message, sizeof b->message, "bundle: case %zu expects %u outputs, the "
                "method has %zu", index, outputs.len, ptec_method_num_outputs(m));
    return PTEC_STATUS_SHAPE_MISMATCH;
  }
  for (uint32_t o = 0; o < outputs.len; o++) {
    int32_t kind;
    ptec_tensor_view expected, actual;
    ptec_scalar scalar;
    s = read_value(b, &r, &outputs, o, &kind, &expected, &scalar);
    if (s != PTEC_STATUS_OK) return s;
    if (kind != PTEC_INPUT_TENSOR) {
      return fail(b, PTEC_STATUS_TYPE_MISMATCH, "expected output is not a tensor:", o);
    }
    s = ptec_method_get_output(m, o, &actual);
    if (s != PTEC_STATUS_OK) return s;
    double worst = 0.0;
    if (!compare(b, index, o, &actual, &expected, rtol, atol, &worst, &result->passed)) {
      return PTEC_STATUS_SHAPE_MISMATCH;
    }
    if (worst > result->max_error || o == 0) {
      result->max_error = worst;
      result->worst_output = o;
    }
    result->outputs++;
  }
  return PTEC_STATUS_OK;
}
