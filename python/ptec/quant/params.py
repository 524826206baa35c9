"""Integer parameters of ptec's fused kernels, from PyTorch's float scales.

These are compile-time decisions (they follow ExecuTorch's Arm backend, so a
ptec program and a TOSA delegate of the same model requantize identically);
the NumPy model in tests/python/tosa_ref.py re-exports them.
"""
from __future__ import annotations

import numpy as np

from . import tosa_math as tm


def conv_params(input_scale: float, weight_scales, output_scale: float):
    """quantized_conv2d / quantized_linear: multiplier[c], shift[c] for
    s_in * s_w[c] / s_out (per-channel weights give one entry per channel)."""
    scales = input_scale * np.asarray(weight_scales, dtype=np.float64).reshape(-1) / output_scale
    return tm.compute_multipliers_and_shifts(scales)


def add_shift_bits(dtype) -> int:
    """Resolution of quantized_add's common scale S = 2 max(s_a, s_b) / 2^bits.

    Each input is rounded to a multiple of S before the sum; the bound is
    int32: |x - zp| * s/S <= 255 * 2^(bits-1) per int8 input. 20 (int16: 12)
    is what ExecuTorch's TOSA lowering uses, and the only form Vela maps to a
    single Ethos-U55 ADD with its operand scaling: with 22 bits, say, Vela
    lowers each input RESCALE to an ADD and a MUL of its own (3 ADD + 3 MUL
    NPU operations instead of 1, measured with Vela 5.2).
    """
    return 12 if np.dtype(dtype) == np.int16 else 20


def add_params(a_scale: float, b_scale: float, output_scale: float, dtype=np.int8):
    """quantized_add: ((a_m, a_s), (b_m, b_s), (out_m, out_s)), TOSA's
    RESCALE -> ADD -> RESCALE with S = 2 * max(s_a, s_b) / 2^add_shift_bits."""
    common = 2 * max(a_scale, b_scale) / (1 << add_shift_bits(dtype))
    return (tm.compute_multiplier_and_shift(a_scale / common),
            tm.compute_multiplier_and_shift(b_scale / common),
            tm.compute_multiplier_and_shift(common / output_scale))


def mul_params(a_scale: float, b_scale: float, output_scale: float):
    """quantized_mul: multiplier, shift for s_a * s_b / s_out."""
    return tm.compute_multiplier_and_shift(a_scale * b_scale / output_scale)


def mean_params(input_scale: float, count: int, output_scale: float):
    """quantized_mean: multiplier, shift for s_in / (count * s_out)."""
    return tm.compute_multiplier_and_shift(input_scale / (count * output_scale))


def matmul_params(a_scale: float, b_scale: float, output_scale: float, offset: int = 31):
    """quantized_matmul (offset 31, scale32) or quantized_matmul16 (offset 15:
    the scale16 multiplier TOSA's RESCALE of an int48 accumulator takes)."""
    return tm.compute_multiplier_and_shift(a_scale * b_scale / output_scale, offset)


def rescale_params(input_scale: float, output_scale: float):
    """rescale: multiplier, shift for s_in / s_out."""
    return tm.compute_multiplier_and_shift(input_scale / output_scale)
