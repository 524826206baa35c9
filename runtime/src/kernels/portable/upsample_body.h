/* upsample_bilinear2d's loop, a template (half.h): the includer defines LD, ST,
 * SOURCE_INDEX and BILINEAR. PyTorch's source-index arithmetic and weights in float32 for
 * every element type (its opmath), one rounding per output. */
/* area_pixel_compute_source_index for linear modes. */
static float SOURCE_INDEX(float scale, int64_t dst, bool align_corners) {
  if (align_corners) return scale * (float)dst;
  float src = scale * ((float)dst + 0.5f) - 0.5f;
  return src < 0.0f ? 0.0f : src;
}

static void BILINEAR(const void *src, void *dst, const int64_t *isz, const int64_t *osz,
                     const int64_t *is, const int64_t *os, const float *scale, bool align,
                     bool bf) {
  (void)bf;
  for (int64_t y = 0; y < osz[2]; y++) {
    float fy = SOURCE_INDEX(scale[0], y, align);
    int64_t y0 = (int64_t)fy, y1 = y0 + (y0 < isz[2] - 1 ? 1 : 0);
    float ly1 = fy - (float)y0, ly0 = 1.0f - ly1;
    for (int64_t x = 0; x < osz[3]; x++) {
      float fx = SOURCE_INDEX(scale[1], x, align);
      int64_t x0 = (int64_t)fx, x1 = x0 + (x0 < isz[3] - 1 ? 1 : 0);
      float lx1 = fx - (float)x0, lx0 = 1.0f - lx1;
      for (int64_t n = 0; n < osz[0]; n++)
        for (int64_t c = 0; c < osz[1]; c++) {
          int64_t p = n * is[0] + c * is[1];
          float v = ly0 * (lx0 * LD(src, p + y0 * is[2] + x0 * is[3]) +
                           lx1 * LD(src, p + y0 * is[2] + x1 * is[3])) +
                    ly1 * (lx0 * LD(src, p + y1 * is[2] + x0 * is[3]) +
                           lx1 * LD(src, p + y1 * is[2] + x1 * is[3]));
          ST(dst, n * os[0] + c * os[1] + y * os[2] + x * os[3], v);
        }
    }
  }
}
