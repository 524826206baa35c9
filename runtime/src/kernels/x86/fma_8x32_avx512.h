/*
 * The register block of the AVX-512 float32 convolution microkernels
 * (conv2d_f32_avx512.c, conv2d_f32_implicit_avx512.c): eight filter rows
 * w0..w7 by 32 pixels in two vectors, sixteen named accumulators c00..c71
 * (GCC keeps an array of them in memory). Included only by *_avx512.c files.
 */
#ifndef PTEC_KERNELS_X86_FMA_8X32_AVX512_H
#define PTEC_KERNELS_X86_FMA_8X32_AVX512_H

#include <immintrin.h>

/* Declares c00, c01, ..., c71, all zero. */
#define PTEC_ACC_8X32                                                                     \
  __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, \
         c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00,     \
         c61 = c00, c70 = c00, c71 = c00

#define PTEC_FMA_ROW_8X32(r, k, b0, b1)            \
  do {                                             \
    const __m512 a_ = _mm512_set1_ps(w##r[k]);     \
    c##r##0 = _mm512_fmadd_ps(a_, b0, c##r##0);    \
    c##r##1 = _mm512_fmadd_ps(a_, b1, c##r##1);    \
  } while (0)

/* c{r}{0,1} += w{r}[k] * (b0, b1) for the eight rows: one value of k. */
#define PTEC_FMA_8X32(k, b0, b1)         \
  do {                                   \
    PTEC_FMA_ROW_8X32(0, k, b0, b1);     \
    PTEC_FMA_ROW_8X32(1, k, b0, b1);     \
    PTEC_FMA_ROW_8X32(2, k, b0, b1);     \
    PTEC_FMA_ROW_8X32(3, k, b0, b1);     \
    PTEC_FMA_ROW_8X32(4, k, b0, b1);     \
    PTEC_FMA_ROW_8X32(5, k, b0, b1);     \
    PTEC_FMA_ROW_8X32(6, k, b0, b1);     \
    PTEC_FMA_ROW_8X32(7, k, b0, b1);     \
  } while (0)

/* The accumulators as c[8][2]. */
#define PTEC_ACC_ARRAY_8X32(c)                                               \
  const __m512 c[8][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, \
                          {c40, c41}, {c50, c51}, {c60, c61}, {c70, c71}}

/* The wider block of the implicit GEMM (conv2d_f32_implicit_avx512.c): eight
 * filter rows by 48 pixels in three vectors, 24 accumulators c00..c72. Per
 * value of k: three pixel loads and eight broadcasts for 24 FMAs, where the
 * 8x32 block's 16 FMAs carry about as many loads, mask and address
 * instructions (the 8x32 loop is ~36 instructions per 16 FMAs: at the
 * front end's width, not at the two FMA ports). */
#define PTEC_ACC_8X48                                                                     \
  __m512 c00 = _mm512_setzero_ps(), c01 = c00, c02 = c00, c10 = c00, c11 = c00, c12 = c00, \
         c20 = c00, c21 = c00, c22 = c00, c30 = c00, c31 = c00, c32 = c00, c40 = c00,     \
         c41 = c00, c42 = c00, c50 = c00, c51 = c00, c52 = c00, c60 = c00, c61 = c00,     \
         c62 = c00, c70 = c00, c71 = c00, c72 = c00

#define PTEC_FMA_ROW_8X48(r, k, b0, b1, b2)        \
  do {                                             \
    const __m512 a_ = _mm512_set1_ps(w##r[k]);     \
    c##r##0 = _mm512_fmadd_ps(a_, b0, c##r##0);    \
    c##r##1 = _mm512_fmadd_ps(a_, b1, c##r##1);    \
    c##r##2 = _mm512_fmadd_ps(a_, b2, c##r##2);    \
  } while (0)

#define PTEC_FMA_8X48(k, b0, b1, b2)         \
  do {                                       \
    PTEC_FMA_ROW_8X48(0, k, b0, b1, b2);     \
    PTEC_FMA_ROW_8X48(1, k, b0, b1, b2);     \
    PTEC_FMA_ROW_8X48(2, k, b0, b1, b2);     \
    PTEC_FMA_ROW_8X48(3, k, b0, b1, b2);     \
    PTEC_FMA_ROW_8X48(4, k, b0, b1, b2);     \
    PTEC_FMA_ROW_8X48(5, k, b0, b1, b2);     \
    PTEC_FMA_ROW_8X48(6, k, b0, b1, b2);     \
    PTEC_FMA_ROW_8X48(7, k, b0, b1, b2);     \
  } while (0)

#define PTEC_ACC_ARRAY_8X48(c)                                                  \
  const __m512 c[8][3] = {{c00, c01, c02}, {c10, c11, c12}, {c20, c21, c22}, \
                          {c30, c31, c32}, {c40, c41, c42}, {c50, c51, c52}, \
                          {c60, c61, c62}, {c70, c71, c72}}

/* The filter rows [oc, oc + mr) of the convolution p (conv2d_f32_x86.h) as
 * w0..w7 and the step ks between values of k. OIHW rows past mr repeat row 0; the compiler's panels (pk, a constant
 * once inlined) hold zeros there, so their rows are w0 + r: offsets known at
 * compile time, where rows picked at run time had GCC reloading five row
 * pointers from the stack per value of k. */
#define PTEC_F32_ROW(r, pk, mr, ldw) ((pk) ? (r) : (r) * ((r) < (mr)) * (ldw))
#define PTEC_F32_FILTER_ROWS(p, oc, mr, pk)                                      \
  int64_t ldw, ks;                                                               \
  const float *w_ = ptec_f32_filters(p, oc, 0, &ldw, &ks);                       \
  if (pk) ks = PTEC_F32_PANEL;                                                   \
  const float *w0 = w_, *w1 = w_ + PTEC_F32_ROW(1, pk, mr, ldw),                 \
              *w2 = w_ + PTEC_F32_ROW(2, pk, mr, ldw),                           \
              *w3 = w_ + PTEC_F32_ROW(3, pk, mr, ldw),                           \
              *w4 = w_ + PTEC_F32_ROW(4, pk, mr, ldw),                           \
              *w5 = w_ + PTEC_F32_ROW(5, pk, mr, ldw),                           \
              *w6 = w_ + PTEC_F32_ROW(6, pk, mr, ldw),                           \
              *w7 = w_ + PTEC_F32_ROW(7, pk, mr, ldw)

/* The epilogue of a stored vector: + bias, then clamped to [lo, hi]. VMAXPS
 * and VMINPS return their second operand when either is NaN, so a NaN sum
 * stays NaN (as relu and hardtanh leave it). */
static inline __m512 ptec_f32_epi512(__m512 v, __m512 bias, __m512 lo, __m512 hi) {
  return _mm512_min_ps(hi, _mm512_max_ps(lo, _mm512_add_ps(v, bias)));
}

#endif
