/* .npy files: the format is a magic, a version, a Python-dict header and
 * the raw data. Only what the tools need: C order, the dtypes ptec knows. */
#include "npy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/checked.h"

static const struct {
  const char *descr;
  int dtype;
} kDescrs[] = {
    {"<f4", PTEC_DTYPE_FLOAT32}, {"<f8", PTEC_DTYPE_FLOAT64}, {"<f2", PTEC_DTYPE_FLOAT16},
    {"<i8", PTEC_DTYPE_INT64},   {"<i4", PTEC_DTYPE_INT32},   {"<i2", PTEC_DTYPE_INT16},
    {"|i1", PTEC_DTYPE_INT8},    {"|u1", PTEC_DTYPE_UINT8},   {"|b1", PTEC_DTYPE_BOOL},
    {"<c8", PTEC_DTYPE_COMPLEX64}, /* NumPy's complex64: (real, imaginary) float32 pairs */
};

static int fail(char *err, size_t cap, const char *msg, const char *path) {
  snprintf(err, cap, "%s: %s", path, msg);
  return -1;
}

/* Bounded search: the header need not be NUL-terminated. */
static const char *find(const char *s, const char *end, const char *what) {
  size_t n = strlen(what);
  for (; s != NULL && (size_t)(end - s) >= n; s++) {
    if (memcmp(s, what, n) == 0) return s;
  }
  return NULL;
}

static const char *find_char(const char *s, const char *end, char c) {
  for (; s != NULL && s < end; s++) {
    if (*s == c) return s;
  }
  return NULL;
}

int npy_parse(const void *bytes, size_t size, const char *name, npy_array *out, char *err,
              size_t cap) {
  const unsigned char *p = bytes;
  memset(out, 0, sizeof *out);
  if (size < 10 || memcmp(p, "\x93NUMPY", 6) != 0) return fail(err, cap, "not a .npy file", name);
  size_t header_len, at;
  if (p[6] == 1) {
    header_len = p[8] | (size_t)p[9] << 8;
    at = 10;
  } else {
    if (size < 12) return fail(err, cap, "truncated header", name);
    header_len = p[8] | (size_t)p[9] << 8 | (size_t)p[10] << 16 | (size_t)p[11] << 24;
    at = 12;
  }
  if (header_len > 65536) return fail(err, cap, "header too long", name);
  if (header_len > size - at) return fail(err, cap, "truncated header", name);
  const char *header = (const char *)p + at, *hend = header + header_len;
  const char *d = find(header, hend, "'descr':");
  const char *fo = find(header, hend, "'fortran_order':");
  const char *sh = find(header, hend, "'shape':");
  out->dtype = -1;
  if (d) {
    d = find_char(d + 8, hend, '\'');
    for (size_t i = 0; d && i < sizeof kDescrs / sizeof kDescrs[0]; i++) {
      if (hend - d >= 5 && memcmp(d + 1, kDescrs[i].descr, 3) == 0 && d[4] == '\'')
        out->dtype = kDescrs[i].dtype;
    }
  }
  if (out->dtype < 0) return fail(err, cap, "unsupported dtype (descr)", name);
  if (!fo || find(fo, hend, "True") == fo + 17) {
    return fail(err, cap, "fortran-order arrays are not supported", name);
  }
  if (!sh) return fail(err, cap, "no shape", name);
  const char *q = find_char(sh, hend, '(');
  const char *end = find_char(q, hend, ')');
  if (!q || !end) return fail(err, cap, "bad shape", name);
  size_t numel = 1;
  for (q++; q < end;) {
    if (*q < '0' || *q > '9') return fail(err, cap, "bad shape", name);
    uint64_t v = 0;
    while (q < end && *q >= '0' && *q <= '9') {
      v = v * 10 + (uint64_t)(*q++ - '0');
      if (v > INT32_MAX) return fail(err, cap, "shape entry too large", name);
    }
    if (out->rank >= PTEC_MAX_RANK) return fail(err, cap, "bad shape: too many dims", name);
    out->sizes[out->rank++] = (int32_t)v;
    if (!ptec_mul_size(numel, (size_t)v, &numel)) return fail(err, cap, "shape overflows", name);
    while (q < end && (*q == ',' || *q == ' ')) q++;
  }
  if (!ptec_mul_size(numel, ptec_dtype_size(out->dtype), &out->nbytes)) {
    return fail(err, cap, "shape overflows", name);
  }
  at += header_len;
  if (out->nbytes > size - at) return fail(err, cap, "truncated data", name);
  out->data = malloc(out->nbytes ? out->nbytes : 1);
  if (!out->data) return fail(err, cap, "out of memory", name);
  memcpy(out->data, p + at, out->nbytes);
  return 0;
}

int npy_read(const char *path, npy_array *out, char *err, size_t cap) {
  memset(out, 0, sizeof *out);
  FILE *f = fopen(path, "rb");
  if (!f) return fail(err, cap, "cannot open", path);
  long n = -1;
  if (fseek(f, 0, SEEK_END) == 0) n = ftell(f);
  if (n < 0 || fseek(f, 0, SEEK_SET) != 0) {
    fclose(f);
    return fail(err, cap, "cannot read", path);
  }
  unsigned char *bytes = malloc(n ? (size_t)n : 1);
  int rc = -1;
  if (!bytes) {
    rc = fail(err, cap, "out of memory", path);
  } else if (fread(bytes, 1, (size_t)n, f) != (size_t)n) {
    rc = fail(err, cap, "cannot read", path);
  } else {
    rc = npy_parse(bytes, (size_t)n, path, out, err, cap);
  }
  free(bytes);
  fclose(f);
  return rc;
}

int npy_write(const char *path, const npy_array *a, char *err, size_t cap) {
  const char *descr = NULL;
  for (size_t i = 0; i < sizeof kDescrs / sizeof kDescrs[0]; i++) {
    if (kDescrs[i].dtype == a->dtype) descr = kDescrs[i].descr;
  }
  if (!descr) return fail(err, cap, "unsupported dtype", path);
  char shape[256] = "";
  size_t n = 0;
  for (int d = 0; d < a->rank; d++) {
    n += (size_t)snprintf(shape + n, sizeof shape - n, "%d,%s", (int)a->sizes[d],
                          (a->rank > 1 && d + 1 < a->rank) ? " " : "");
  }
  if (a->rank > 1 && n > 0) shape[--n] = '\0'; /* "(2, 3)" not "(2, 3,)" */
  char header[512];
  int len = snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }",
                     descr, shape);
  /* Pad with spaces so that the data starts 64-byte aligned, ending in \n. */
  size_t total = 10 + (size_t)len + 1;
  size_t pad = (64 - total % 64) % 64;
  FILE *f = fopen(path, "wb");
  if (!f) return fail(err, cap, "cannot create", path);
  unsigned short hl = (unsigned short)(len + pad + 1);
  unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hl & 0xff),
                           (unsigned char)(hl >> 8)};
  int ok = fwrite(pre, 1, 10, f) == 10 && fwrite(header, 1, (size_t)len, f) == (size_t)len;
  for (size_t i = 0; ok && i < pad; i++) ok = fputc(' ', f) != EOF;
  ok = ok && fputc('\n', f) != EOF;
  ok = ok && fwrite(a->data, 1, a->nbytes, f) == a->nbytes;
  ok = (fclose(f) == 0) && ok;
  return ok ? 0 : fail(err, cap, "write failed", path);
}

void npy_free(npy_array *a) {
  free(a->data);
  a->data = NULL;
}

/* An .npy array is in logical C order; a tensor may be laid out in another
 * dim order. Copies one into the other (to_dim_order: C order -> tensor). */
void npy_relayout(const ptec_tensor_view *t, const void *src, void *dst, int to_dim_order) {
  size_t elem = ptec_dtype_size(t->dtype);
  size_t strides[PTEC_MAX_RANK];
  size_t numel = 1;
  for (int k = t->rank - 1; k >= 0; k--) {
    strides[t->dim_order[k]] = numel;
    numel *= (size_t)t->sizes[t->dim_order[k]];
  }
  int32_t index[PTEC_MAX_RANK] = {0};
  for (size_t linear = 0; linear < numel; linear++) {
    size_t off = 0;
    for (int d = 0; d < t->rank; d++) off += (size_t)index[d] * strides[d];
    if (to_dim_order) {
      memcpy((char *)dst + off * elem, (const char *)src + linear * elem, elem);
    } else {
      memcpy((char *)dst + linear * elem, (const char *)src + off * elem, elem);
    }
    for (int d = t->rank - 1; d >= 0; d--) {
      if (++index[d] < t->sizes[d]) break;
      index[d] = 0;
    }
  }
}
