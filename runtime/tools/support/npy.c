/* .npy files: the format is a magic, a version, a Python-dict header and
 * the raw data. Only what the tools need: C order, the dtypes ptec knows. */
#include "npy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
  const char *descr;
  int dtype;
} kDescrs[] = {
    {"<f4", PTEC_DTYPE_FLOAT32}, {"<f8", PTEC_DTYPE_FLOAT64}, {"<f2", PTEC_DTYPE_FLOAT16},
    {"<i8", PTEC_DTYPE_INT64},   {"<i4", PTEC_DTYPE_INT32},   {"<i2", PTEC_DTYPE_INT16},
    {"|i1", PTEC_DTYPE_INT8},    {"|u1", PTEC_DTYPE_UINT8},   {"|b1", PTEC_DTYPE_BOOL},
};

static int fail(char *err, size_t cap, const char *msg, const char *path) {
  snprintf(err, cap, "%s: %s", path, msg);
  return -1;
}

int npy_read(const char *path, npy_array *out, char *err, size_t cap) {
  memset(out, 0, sizeof *out);
  FILE *f = fopen(path, "rb");
  if (!f) return fail(err, cap, "cannot open", path);
  unsigned char pre[10];
  if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0) {
    fclose(f);
    return fail(err, cap, "not a .npy file", path);
  }
  size_t header_len;
  if (pre[6] == 1) {
    header_len = pre[8] | (size_t)pre[9] << 8;
  } else {
    unsigned char more[2];
    if (fread(more, 1, 2, f) != 2) {
      fclose(f);
      return fail(err, cap, "truncated header", path);
    }
    header_len = pre[8] | (size_t)pre[9] << 8 | (size_t)more[0] << 16 | (size_t)more[1] << 24;
  }
  if (header_len > 65536) {
    fclose(f);
    return fail(err, cap, "header too long", path);
  }
  char *header = calloc(1, header_len + 1);
  if (!header || fread(header, 1, header_len, f) != header_len) {
    free(header);
    fclose(f);
    return fail(err, cap, "truncated header", path);
  }
  int rc = 0;
  const char *d = strstr(header, "'descr':");
  const char *fo = strstr(header, "'fortran_order':");
  const char *sh = strstr(header, "'shape':");
  out->dtype = -1;
  if (d) {
    d = strchr(d + 8, '\'');
    for (size_t i = 0; d && i < sizeof kDescrs / sizeof kDescrs[0]; i++) {
      if (strncmp(d + 1, kDescrs[i].descr, 3) == 0) out->dtype = kDescrs[i].dtype;
    }
  }
  if (out->dtype < 0) rc = fail(err, cap, "unsupported dtype (descr)", path);
  if (rc == 0 && (!fo || strstr(fo, "True") == fo + 17)) {
    rc = fail(err, cap, "fortran-order arrays are not supported", path);
  }
  size_t numel = 1;
  if (rc == 0 && sh) {
    const char *p = strchr(sh, '(');
    const char *end = p ? strchr(p, ')') : NULL;
    if (!p || !end) rc = fail(err, cap, "bad shape", path);
    for (p = p ? p + 1 : NULL; rc == 0 && p < end;) {
      char *next;
      long v = strtol(p, &next, 10);
      if (next == p) break;
      if (v < 0 || out->rank >= PTEC_MAX_RANK) {
        rc = fail(err, cap, "bad shape", path);
        break;
      }
      out->sizes[out->rank++] = (int32_t)v;
      numel *= (size_t)v;
      p = next;
      while (p < end && (*p == ',' || *p == ' ')) p++;
    }
  } else if (rc == 0) {
    rc = fail(err, cap, "no shape", path);
  }
  free(header);
  if (rc == 0) {
    out->nbytes = numel * ptec_dtype_size(out->dtype);
    out->data = malloc(out->nbytes ? out->nbytes : 1);
    if (!out->data || fread(out->data, 1, out->nbytes, f) != out->nbytes) {
      rc = fail(err, cap, "truncated data", path);
      npy_free(out);
    }
  }
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
