/* rand.out / randn.out and ptec::random.out: uniform [0, 1) and standard normal numbers
 * from Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
 * SC'11), a counter-based generator: element i of a draw is a pure function of
 * (key, i, stream), made of 32-bit multiplies and xors, so every build (x86-64,
 * aarch64, Cortex-M; any compiler) computes the same integers, and the runtime keeps
 * no generator in globals.
 *
 * Integers to floats, exactly: a uniform takes the type's significand width of bits,
 * k * 2^-bits (float32 24, float64 53, float16 11, bfloat16 8), so it lies in [0, 1)
 * and rounds nowhere. A normal is Box-Muller on two 53-bit uniforms in double
 * (u1 in (0, 1]): sqrt(-2 log u1) * cos(2 pi u2), rounded once to the out type; log
 * and cos come from the C library, so a normal may differ in its last bit between
 * libms that round differently (the integers and uniforms never do).
 *
 * Where the key and stream come from:
 *  - ptec::random.out (what ptec's compiler emits for torch.rand / torch.randn,
 *    python/ptec/passes/random.py): from a state tensor of the program, int64
 *    [seed, draws], that persists between executes (state memory) and resets to its
 *    initial value (the seed given at compile time, draws 0) with the method's state.
 *    Each call uses stream = draws and then counts one draw, so each execute and each
 *    call site gets new numbers, and the same program with the same seed gives the
 *    same sequence on every build.
 *  - aten::rand.out / randn.out (ExecuTorch's programs, which carry no generator
 *    state, and a kernel sees only its arguments): seeded per call with key 0, stream 0
 *    for rand and 1 for randn. Every execute gives the same numbers, and so do two call
 *    sites of one shape and dtype; ptec's compiler emits ptec::random.out instead.
 *    (ExecuTorch's portable kernels seed std::mt19937 from std::random_device: a
 *    different draw on every call, reproducible on no build.) */
#include "kernels/portable/common.h"
#include "kernels/portable/float_any.h"
#include "kernels/ops_decl.h"

#include <math.h>

/* One Philox4x32-10 block: ctr <- bijection_key(ctr). */
static void philox4x32_10(uint32_t ctr[4], uint32_t k0, uint32_t k1) {
  for (int round = 0; round < 10; round++) {
    uint64_t p0 = (uint64_t)0xD2511F53u * ctr[0], p1 = (uint64_t)0xCD9E8D57u * ctr[2];
    uint32_t c0 = (uint32_t)(p1 >> 32) ^ ctr[1] ^ k0, c2 = (uint32_t)(p0 >> 32) ^ ctr[3] ^ k1;
    ctr[0] = c0;
    ctr[1] = (uint32_t)p1;
    ctr[2] = c2;
    ctr[3] = (uint32_t)p0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
}

/* A 53-bit uniform k * 2^-53 in [0, 1) from two words. */
static double uniform53(uint32_t hi, uint32_t lo) {
  return (double)(((uint64_t)(hi >> 5) << 26) | (lo >> 6)) * 0x1p-53;
}

static double uniform(uint32_t w0, uint32_t w1, int dtype) {
  switch (dtype) {
    case PTEC_DTYPE_FLOAT64: return uniform53(w0, w1);
    case PTEC_DTYPE_FLOAT32: return (double)(w0 >> 8) * 0x1p-24;
    case PTEC_DTYPE_FLOAT16: return (double)(w0 >> 21) * 0x1p-11;
    default: return (double)(w0 >> 24) * 0x1p-8; /* bfloat16 */
  }
}

static double normal(const uint32_t w[4]) {
  double u1 = 1.0 - uniform53(w[0], w[1]); /* (0, 1]: log(u1) is finite */
  double u2 = uniform53(w[2], w[3]);
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Fills out (in memory order) with draw `stream` under `seed`. */
static ptec_status fill(ptec_kernel_context *ctx, uint32_t size_arg, ptec_tensor *out,
                        uint64_t seed, uint64_t stream, bool is_normal) {
  PTEC_CHECK(ctx, ptec_dtype_is_float_any(out->dtype), PTEC_STATUS_NOT_SUPPORTED,
             "dtype %s not supported (float64, float32, float16, bfloat16)",
             ptec_dtype_name(out->dtype));
  uint32_t rank;
  const int64_t *size = ptec_arg_int_list(ctx, size_arg, &rank);
  PTEC_TRY(ptec_check_shape(ctx, out, size, rank, "out"));
  for (size_t i = 0; i < out->numel; i++) {
    uint32_t w[4] = {(uint32_t)i, (uint32_t)((uint64_t)i >> 32), (uint32_t)stream,
                     (uint32_t)(stream >> 32)};
    philox4x32_10(w, (uint32_t)seed, (uint32_t)(seed >> 32));
    ptec_st_any(out->data, out->dtype, (int64_t)i,
                is_normal ? normal(w) : uniform(w[0], w[1], out->dtype));
  }
  return PTEC_STATUS_OK;
}

/* rand.out(SymInt[] size, *, Tensor(a!) out) */
ptec_status ptec_kernel_rand_out(ptec_kernel_context *ctx) {
  return fill(ctx, 0, ptec_arg_tensor(ctx, 1), 0, 0, false);
}

/* randn.out(SymInt[] size, *, Tensor(a!) out) */
ptec_status ptec_kernel_randn_out(ptec_kernel_context *ctx) {
  return fill(ctx, 0, ptec_arg_tensor(ctx, 1), 0, 1, true);
}

/* ptec::random.out(Tensor(a!) state, SymInt[] size, bool normal, *, Tensor(b!) out):
 * state is int64 [seed, draws]; draws counts up by one per call (wrapping). */
ptec_status ptec_kernel_random_out(ptec_kernel_context *ctx) {
  ptec_tensor *state = ptec_arg_tensor(ctx, 0);
  PTEC_TRY(ptec_check_dtype(ctx, state, PTEC_DTYPE_INT64, "state"));
  PTEC_CHECK(ctx, state->rank == 1 && state->sizes[0] == 2, PTEC_STATUS_SHAPE_MISMATCH,
             "state must be int64 [seed, draws]");
  int64_t *s = state->data;
  uint64_t draws = (uint64_t)s[1];
  PTEC_TRY(fill(ctx, 1, ptec_arg_tensor(ctx, 3), (uint64_t)s[0], draws, ptec_arg_bool(ctx, 2)));
  s[1] = (int64_t)(draws + 1u); /* two's complement: wraps without overflow */
  return PTEC_STATUS_OK;
}
