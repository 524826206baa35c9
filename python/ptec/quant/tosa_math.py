"""TOSA 1.0 integer arithmetic, in NumPy.

One integer semantics everywhere: the compiler computes multipliers and
shifts with these functions, the C kernels implement the same arithmetic
(runtime/src/kernels/quantized/requantize.h), and the tests use these
functions as the bit-exact oracle. Source: the TOSA 1.0 pseudocode
(scale_helpers.tosac, RESCALE.tosac), summarised in
shared/reference/tosa-vela.md.
"""
from __future__ import annotations

import math

import numpy as np

INT8_MIN, INT8_MAX = -128, 127
INT16_MIN, INT16_MAX = -32768, 32767
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def compute_multiplier_and_shift(scale: float, offset: int = 31) -> tuple[int, int]:
    """A positive float scale as (multiplier, right shift) for apply_scale_32.

    multiplier * 2**-shift approximates `scale`, with the multiplier in
    [2**30, 2**31) for scale32 (offset 31) or [2**14, 2**15) for scale16
    (offset 15), as ExecuTorch's TOSA lowering computes it (Python round,
    i.e. half to even, on the mantissa).
    """
    if not (scale > 0.0 and math.isfinite(scale)):
        raise ValueError(f"scale must be positive and finite, got {scale}")
    mantissa, exponent = math.frexp(scale)
    multiplier = round(mantissa * (1 << offset))
    if multiplier == (1 << offset):
        multiplier //= 2
        exponent += 1
    shift = offset - exponent
    if shift > 62:
        multiplier >>= min(31, shift - 62)
        shift = 62
    if shift < 2:
        raise ValueError(f"scale {scale} is too large to express (shift {shift} < 2)")
    return int(multiplier), int(shift)


def compute_multipliers_and_shifts(scales, offset: int = 31) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel version: int32 multipliers and int32 shifts."""
    pairs = [compute_multiplier_and_shift(float(s), offset) for s in np.asarray(scales).reshape(-1)]
    return (np.array([m for m, _ in pairs], dtype=np.int32),
            np.array([s for _, s in pairs], dtype=np.int32))


def apply_scale_32(value, multiplier, shift) -> np.ndarray:
    """TOSA apply_scale_32 with SINGLE_ROUND: (value*m + 2**(shift-1)) >> shift.

    Vectorised; `multiplier` and `shift` broadcast against `value`. Values
    TOSA declares out of range (|value| >= 2**(shift-1)) give the same result
    as the C kernels: the 64-bit result saturated to int32.
    """
    v = np.asarray(value, dtype=np.int64)
    m = np.asarray(multiplier, dtype=np.int64)
    s = np.asarray(shift, dtype=np.int64)
    rounding = np.left_shift(np.int64(1), s - 1)
    result = np.right_shift(v * m + rounding, s)  # arithmetic shift on int64
    return np.clip(result, INT32_MIN, INT32_MAX).astype(np.int64)


def reciprocal_scale(count: int) -> tuple[int, int]:
    """TOSA reciprocal_scale: (multiplier, shift) with m*2**-shift ~ 1/count."""
    if count <= 0:
        raise ValueError("count must be positive")
    k = 32 - _count_leading_zeros32(count - 1)
    numerator = ((1 << 30) + 1) << k
    return numerator // count, 30 + k


def _count_leading_zeros32(x: int) -> int:
    return 32 if x == 0 else 32 - x.bit_length()


def rescale(value, input_zp: int, multiplier, shift, output_zp: int, out_min: int,
            out_max: int) -> np.ndarray:
    """TOSA RESCALE (scale32, SINGLE_ROUND): saturate(apply_scale_32(v - in_zp) + out_zp)."""
    v = np.asarray(value, dtype=np.int64) - input_zp
    scaled = apply_scale_32(v, multiplier, shift) + output_zp
    return np.clip(scaled, out_min, out_max)
