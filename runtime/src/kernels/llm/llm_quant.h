/*
 * Weight-quantized linear layers and embeddings for language models
 * (python/ptec/llm/quantize.py, docs/llm.md "Weight quantization"):
 *
 *   ptec::linear_int8w   fp32 x, int8 weights [N, K], one fp32 scale per output
 *                        channel: out = (x . w[n]) * s[n] + b[n]
 *   ptec::linear_8da4w   ExecuTorch's "8da4w": each row of x quantized at run time
 *                        to asymmetric int8 (its own scale and zero point), weights
 *                        symmetric int4 in groups of 32 input channels with an fp32
 *                        scale per group
 *   ptec::embedding_int8 / embedding_4w  the same weight formats, dequantized on gather
 *
 * int4 packing (two per byte, a group of 32 weights in 16 bytes): byte j of a
 * group holds weight j in its low nibble and weight j + 16 in its high nibble,
 * each stored as w + 8 (0..15). Unpacking 16 bytes then gives the group's two
 * halves in order, with no interleaving (what a SIMD unpack wants).
 *
 * 8da4w arithmetic, the same in every variant (reference: op_linear_8da4w.c,
 * AVX2: x86/gemv_8da4w_avx2.c, AVX-512 VNNI: x86/gemv_8da4w_avx512.c, SDOT:
 * neon/gemv_8da4w_dotprod.c), so results are equal bit for bit:
 *   lo = min(min(x), 0), hi = max(max(x), 0), xs = (hi - lo) / 255 (1 if 0),
 *   zp = clamp(rint(-128 - lo / xs), -128, 127),
 *   q_k = clamp(rint(x_k / xs) + zp, -128, 127)                 (int8)
 *   idot[g] = sum over the group of q_k * w_k                   (int32, exact)
 *   acc = 0; for g in order: acc = acc + (float)idot[g] * ws[n][g]
 *   out = (acc - zp * wsum[n]) * xs (+ b[n])
 * wsum[n] = sum over g in order of ws[n][g] * (float)(sum of group g's w), float32,
 * computed when the model is quantized (python/ptec/llm/quant_ops.py weight_sums) and
 * stored with the weights: the zero point's term sum (q - zp) w = sum q w - zp sum w
 * leaves the inner loop (per output, not per group), which is then products of the raw
 * q and the stored nibbles u = w + 8 alone: sum q w = sum q u - 8 sum q.
 * Every float step is one IEEE operation (the build uses -ffp-contract=off),
 * rint rounds half to even as torch.round does.
 */
#ifndef PTEC_KERNELS_LLM_LLM_QUANT_H
#define PTEC_KERNELS_LLM_LLM_QUANT_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/isa.h"

#define PTEC_LLM_GROUP 32
/* Activations are quantized CHUNK values at a time into a stack buffer (the
 * core has no heap and kernels no scratch): a byte a value per row of x taken at once
 * (PTEC_LLM_ROWS). A multiple of the group. The output row holds each output's running
 * sum between chunks, which leaves the order of the additions as it is. On 64-bit hosts
 * 4096 values (16 KB of stack for four rows): a row of up to 4096 inputs is one chunk, so
 * each block of outputs reads its weight rows whole, in order (with 512, a 768-input row
 * was read as 256 + 128 bytes in two passes over all rows, which the prefetchers follow
 * badly); microcontrollers keep 512. */
#if PTEC_KERNELS_X86 || PTEC_KERNELS_NEON || defined(__x86_64__) || defined(__aarch64__)
#define PTEC_LLM_CHUNK 4096
#else
#define PTEC_LLM_CHUNK 512
#endif

/* int8 weight-only: x [M, K] fp32, w [N, K] int8, scales [N], bias [N] or NULL. */
typedef struct ptec_llm_int8w {
  const float *x;
  const int8_t *w;
  const float *scales;
  const float *bias;
  float *out; /* [M, N] */
  int64_t M, N, K;
} ptec_llm_int8w;

/* 8da4w: x [M, K] fp32, w [N, K / 2] packed int4, scales [N, K / 32], wsum [N]. */
typedef struct ptec_llm_8da4w {
  const float *x;
  const uint8_t *w;
  const float *scales;
  const float *wsum;
  const float *bias;
  float *out;
  int64_t M, N, K;
} ptec_llm_8da4w;

/* int8w: the fp32 dots of x[0..K) with `rows` (4 or 1) weight rows from w, K apart, into
 * sums[0..rows): what each ISA's variant supplies to ptec_llm_int8w_rows. */
typedef void (*ptec_llm_int8w_dots_fn)(const float *x, const int8_t *w, int64_t K, int rows,
                                       float *sums);

/* The int8w driver the variants share (op_linear_int8w.c): outputs [n0, n1) of every row,
 * four at a time through `dots`, then out = dot * s[n] (+ b[n]). */
void ptec_llm_int8w_rows(const ptec_llm_int8w *p, int64_t n0, int64_t n1,
                         ptec_llm_int8w_dots_fn dots);

/* A row's dynamic quantization parameters. */
typedef struct ptec_llm_act_q {
  float scale;
  float zp; /* an integer in [-128, 127], kept as float for the rounding step */
} ptec_llm_act_q;

/* Clamps to [lo, hi]; NaN goes to lo, so the int conversion after is defined. */
static inline float ptec_llm_clampf(float v, float lo, float hi) {
  if (!(v > lo)) return lo;
  return v > hi ? hi : v;
}

static inline ptec_llm_act_q ptec_llm_act_params(const float *x, int64_t K) {
  float lo = 0.0f, hi = 0.0f;
  for (int64_t k = 0; k < K; k++) {
    if (x[k] < lo) lo = x[k];
    if (x[k] > hi) hi = x[k];
  }
  ptec_llm_act_q q;
  q.scale = (hi - lo) / 255.0f;
  if (!(q.scale > 0.0f) || !isfinite(q.scale)) q.scale = 1.0f; /* all zeros or inf */
  q.zp = ptec_llm_clampf(rintf(-128.0f - lo / q.scale), -128.0f, 127.0f);
  return q;
}

/* q for n values of x (-128..127). */
static inline void ptec_llm_act_quantize(const float *x, int64_t n, ptec_llm_act_q q,
                                         int8_t *out) {
  for (int64_t k = 0; k < n; k++)
    out[k] = (int8_t)ptec_llm_clampf(rintf(x[k] / q.scale) + q.zp, -128.0f, 127.0f);
}

/* One output's running sum over the groups of a chunk: `w` is the output's
 * packed row at the chunk's first group, `s` its scales from that group. */
static inline float ptec_llm_8da4w_chunk(const uint8_t *w, const float *s, const int8_t *q,
                                         int64_t groups, float acc) {
  for (int64_t g = 0; g < groups; g++) {
    const uint8_t *b = w + g * (PTEC_LLM_GROUP / 2);
    const int8_t *qg = q + g * PTEC_LLM_GROUP;
    int32_t dot = 0;
    for (int j = 0; j < PTEC_LLM_GROUP / 2; j++) {
      dot += (int32_t)qg[j] * ((b[j] & 15) - 8);
      dot += (int32_t)qg[j + PTEC_LLM_GROUP / 2] * ((b[j] >> 4) - 8);
    }
    float p = (float)dot * s[g];
    acc = acc + p;
  }
  return acc;
}

/* One chunk of one row of x, as the 8da4w variants' block functions see it. */
typedef struct ptec_llm_chunk {
  const int8_t *q;     /* the chunk's quantized values */
  const int32_t *qsum; /* sum of q per group */
  int64_t g0, groups;  /* the chunk's first group (of the row) and its groups */
} ptec_llm_chunk;

/* Adds the chunk's terms to the running sums of outputs [n, n + block) of `rows` rows of
 * x (c[r]: row r's chunk, 1 <= rows <= the variant's `rows`); row r's sums are at
 * out + r * p->N (kernels/x86, neon). */
typedef void (*ptec_llm_block_fn)(const ptec_llm_8da4w *p, int64_t n, const ptec_llm_chunk *c,
                                  int rows, float *out);

/* An ISA's 8da4w block functions: fn[0] on whole blocks of block[0] outputs, then fn[1]
 * on whole blocks of block[1] (0: none), the reference loop on the rest. */
typedef struct ptec_llm_8da4w_variant {
  int64_t block[2];
  ptec_llm_block_fn fn[2];
  int rows; /* rows of x the block functions take at once (1..PTEC_LLM_ROWS) */
  /* NULL: the scalar code below. Else the same values from vector code: a row's
   * parameters (ptec_llm_act_params) and a chunk's q and qsum. */
  ptec_llm_act_q (*params)(const float *x, int64_t K);
  void (*quantize)(const float *x, int64_t len, ptec_llm_act_q aq, int8_t *q, int32_t *qsum);
} ptec_llm_8da4w_variant;

/* The most rows of x a block function takes at once (a prompt's rows share each
 * unpacked weight block): the AVX-512 variant's. */
#define PTEC_LLM_ROWS 4

/* Outputs per span when x has several rows (op_linear_8da4w.c): every row runs over one
 * span's weights before the next span (512 outputs: 192 KB of weights at K = 768). A
 * multiple of every block. */
#define PTEC_LLM_SPAN 512

/* The 8da4w driver all variants share (op_linear_8da4w.c): outputs [n0, n1) of every
 * row; per v->rows rows the dynamic quantization, per chunk `v`'s block functions (v
 * NULL: the reference alone), then out = (acc - zp * wsum) * xs (+ b). */
void ptec_llm_8da4w_rows(const ptec_llm_8da4w *p, int64_t n0, int64_t n1,
                         const ptec_llm_8da4w_variant *v);

/* out = (acc - zp * wsum) * xs (+ b): the last steps of every 8da4w output. */
static inline float ptec_llm_8da4w_finish(float acc, ptec_llm_act_q aq, float wsum,
                                          const float *bias, int64_t n) {
  float z = aq.zp * wsum;
  float v = (acc - z) * aq.scale;
  return bias != NULL ? v + bias[n] : v;
}

/* Outputs [n0, n1) of every row: the unit a thread computes (kernels/parallel.h).
 * An output's value does not depend on the range it is computed in. */
void ptec_llm_linear_int8w_ref(const ptec_llm_int8w *p, int64_t n0, int64_t n1);
void ptec_llm_linear_8da4w_ref(const ptec_llm_8da4w *p, int64_t n0, int64_t n1);

#if PTEC_KERNELS_X86
/* x86-64 AVX2 + FMA (kernels/x86/gemv_*_avx2.c), run only when ptec_x86_has_avx2_fma(). */
void ptec_llm_linear_int8w_avx2(const ptec_llm_int8w *p, int64_t n0, int64_t n1);
void ptec_llm_linear_8da4w_avx2(const ptec_llm_8da4w *p, int64_t n0, int64_t n1);
/* AVX-512 (kernels/x86/gemv_int8w_avx512.c), run only when ptec_x86_has_avx512_vnni(). */
void ptec_llm_linear_int8w_avx512(const ptec_llm_int8w *p, int64_t n0, int64_t n1);
/* AVX-512 VNNI (kernels/x86/gemv_8da4w_avx512.c), run only when ptec_x86_has_avx512_vnni():
 * sixteen outputs at a time, the AVX2 block for eight left over. */
void ptec_llm_linear_8da4w_avx512(const ptec_llm_8da4w *p, int64_t n0, int64_t n1);
/* The AVX2 block function (eight outputs, any rows), which the AVX-512 variant uses for
 * a tail. */
void ptec_llm_8da4w_block8_avx2(const ptec_llm_8da4w *p, int64_t n, const ptec_llm_chunk *c,
                                int rows, float *out);
#endif
#if PTEC_KERNELS_NEON
/* Any AArch64 build (kernels/neon/gemv_int8w_neon.c). */
void ptec_llm_linear_int8w_neon(const ptec_llm_int8w *p, int64_t n0, int64_t n1);
#endif
#if PTEC_KERNELS_NEON_DOTPROD
/* AArch64 with SDOT (kernels/neon/gemv_8da4w_dotprod.c): Cortex-A76 builds. */
void ptec_llm_linear_8da4w_dotprod(const ptec_llm_8da4w *p, int64_t n0, int64_t n1);
#endif

/* Outputs per parallel unit: the widest variant's block (AVX-512 8da4w: 16). */
#define PTEC_LLM_UNIT 16

/* Shares per thread of a linear layer's outputs (kernels/parallel.h ptec_parallel_chunks):
 * a decode's layer takes 25-300 us, so a worker that starts late takes fewer shares
 * instead of holding up the call with half the outputs. */
#define PTEC_LLM_SHARES 4

#endif /* PTEC_KERNELS_LLM_LLM_QUANT_H */
