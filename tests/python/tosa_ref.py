"""NumPy models of ptec's fused integer kernels (runtime/src/kernels/quantized/
ops_fused.def), TOSA 1.0 integer semantics, built on ptec.quant.tosa_math.

Each function takes the op's arguments in schema order, with tensors as
NumPy integer arrays in logical (NCHW / PyTorch) order, and returns the
output as an int64 array; the tests compare the C kernels with these bit
for bit. The formulas are the ones documented in each op_*.c file:

  accumulate exactly (int64), saturate to int32 (TOSA: an int32 overflow is
  unpredictable; ptec saturates), add the bias and saturate again, then
  apply_scale_32 (SINGLE_ROUND), add the output zero point and clamp to
  [activation_min, activation_max] (TOSA: RESCALE saturates to the dtype,
  CLAMP narrows further; the activation range lies within the dtype).

The `*_params` helpers at the end turn PyTorch float scales into the ops'
integer parameters, as the compiler must (and as ExecuTorch's Arm backend
does).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ptec.quant import tosa_math as tm

DTYPE_RANGES = {
    np.dtype(np.int8): (tm.INT8_MIN, tm.INT8_MAX),
    np.dtype(np.int16): (tm.INT16_MIN, tm.INT16_MAX),
    np.dtype(np.int32): (tm.INT32_MIN, tm.INT32_MAX),
}


def dtype_range(dtype) -> tuple[int, int]:
    return DTYPE_RANGES[np.dtype(dtype)]


def sat32(v) -> np.ndarray:
    return np.clip(np.asarray(v, dtype=np.int64), tm.INT32_MIN, tm.INT32_MAX)


def requantize(acc, bias, multiplier, shift, output_zp: int, lo: int, hi: int) -> np.ndarray:
    """The epilogue of every accumulating op (qparams.h ptec_q_requantize)."""
    v = sat32(sat32(acc) + np.asarray(bias, dtype=np.int64))
    return np.clip(tm.apply_scale_32(v, multiplier, shift) + output_zp, lo, hi)


def _i64(a) -> np.ndarray:
    return np.asarray(a, dtype=np.int64)


def padding4(padding: Sequence[int]) -> tuple[int, int, int, int]:
    """[p], [ph, pw] or [top, bottom, left, right] as (top, bottom, left, right)."""
    p = list(padding)
    if len(p) == 4:
        return tuple(p)
    return (p[0], p[0], p[-1], p[-1])


def pair(v: Sequence[int], default=None) -> tuple[int, int]:
    v = list(v)
    if not v:
        return tuple(default)
    return (v[0], v[-1])


def window_out(size: int, lo: int, hi: int, k: int, stride: int, dilation: int = 1) -> int:
    span = size + lo + hi - dilation * (k - 1) - 1
    return 0 if span < 0 else span // stride + 1


# ------------------------------------------------------------------ ops

def conv2d_acc(x, w, stride, padding, dilation, groups: int, input_zp: int,
               weight_zp: int) -> np.ndarray:
    """TOSA CONV2D's exact accumulator, [N, O, OH, OW] int64 (no bias)."""
    x, w = _i64(x), _i64(w)
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    sy, sx = pair(stride)
    dy, dx = pair(dilation)
    pt, pb, pl, pr = padding4(padding)
    oh, ow = window_out(h, pt, pb, kh, sy, dy), window_out(wd, pl, pr, kw, sx, dx)
    # Padding holds input_zp, i.e. contributes 0 after the subtraction.
    xp = np.pad(x - input_zp, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    xg = xp.reshape(n, groups, cg, h + pt + pb, wd + pl + pr)
    wg = (w - weight_zp).reshape(groups, o // groups, cg, kh, kw)
    acc = np.zeros((n, groups, o // groups, oh, ow), dtype=np.int64)
    for ky in range(kh):
        for kx in range(kw):
            patch = xg[:, :, :, ky * dy: ky * dy + sy * (oh - 1) + 1: sy,
                       kx * dx: kx * dx + sx * (ow - 1) + 1: sx]
            acc += np.einsum("ngchw,goc->ngohw", patch, wg[:, :, :, ky, kx])
    return acc.reshape(n, o, oh, ow)


def quantized_conv2d(x, w, bias, stride, padding, dilation, groups, input_zp, weight_zp,
                     multiplier, shift, output_zp, activation_min, activation_max):
    acc = conv2d_acc(x, w, stride, padding, dilation, groups, input_zp, weight_zp)
    o = acc.shape[1]
    per_channel = lambda v: _i64(v).reshape(1, -1, 1, 1)  # noqa: E731
    b = per_channel(bias if bias is not None else np.zeros(o))
    return requantize(acc, b, per_channel(multiplier), per_channel(shift), output_zp,
                      activation_min, activation_max)


def quantized_linear(x, w, bias, input_zp, weight_zp, multiplier, shift, output_zp,
                     activation_min, activation_max):
    acc = np.matmul(_i64(x) - input_zp, (_i64(w) - weight_zp).T)
    b = _i64(bias) if bias is not None else 0
    return requantize(acc, b, _i64(multiplier), _i64(shift), output_zp, activation_min,
                      activation_max)


def quantized_matmul(a, b, a_zp, b_zp, multiplier, shift, output_zp):
    acc = np.matmul(_i64(a) - a_zp, _i64(b) - b_zp)
    return requantize(acc, 0, multiplier, shift, output_zp, tm.INT8_MIN, tm.INT8_MAX)


def quantized_matmul16(a, b, a_zp, b_zp, multiplier, shift, output_zp):
    """EXT-INT16 MATMUL (int48 accumulator, saturated where TOSA calls it
    unpredictable) and RESCALE with scale16: apply_scale_16 is apply_scale_32's
    formula with a multiplier below 2^15."""
    acc = np.clip(np.matmul(_i64(a) - a_zp, _i64(b) - b_zp), -(1 << 47), (1 << 47) - 1)
    return np.clip(tm.apply_scale_32(acc, multiplier, shift) + output_zp, tm.INT16_MIN,
                   tm.INT16_MAX)


def quantized_add(a, b, a_zp, a_multiplier, a_shift, b_zp, b_multiplier, b_shift, output_zp,
                  output_multiplier, output_shift, activation_min, activation_max):
    va = tm.apply_scale_32(_i64(a) - a_zp, a_multiplier, a_shift)
    vb = tm.apply_scale_32(_i64(b) - b_zp, b_multiplier, b_shift)
    r = tm.apply_scale_32(sat32(va + vb), output_multiplier, output_shift) + output_zp
    return np.clip(r, activation_min, activation_max)


def quantized_mul(a, b, a_zp, b_zp, multiplier, shift, output_zp, activation_min,
                  activation_max):
    prod = sat32((_i64(a) - a_zp) * (_i64(b) - b_zp))
    return np.clip(tm.apply_scale_32(prod, multiplier, shift) + output_zp, activation_min,
                   activation_max)


def quantized_avg_pool2d(x, kernel, stride, padding, input_zp, output_zp, activation_min,
                         activation_max):
    x = _i64(x)
    squeeze = x.ndim == 3
    if squeeze:
        x = x[None]
    n, c, h, w = x.shape
    kh, kw = pair(kernel)
    sy, sx = pair(stride, (kh, kw))
    pt, pb, pl, pr = padding4(padding)
    oh, ow = window_out(h, pt, pb, kh, sy), window_out(w, pl, pr, kw, sx)
    out = np.zeros((n, c, oh, ow), dtype=np.int64)
    for oy in range(oh):
        y0, y1 = max(oy * sy - pt, 0), min(oy * sy - pt + kh, h)
        for ox in range(ow):
            x0, x1 = max(ox * sx - pl, 0), min(ox * sx - pl + kw, w)
            count = (y1 - y0) * (x1 - x0)
            acc = (x[:, :, y0:y1, x0:x1] - input_zp).sum(axis=(2, 3))
            m, s = tm.reciprocal_scale(count)
            out[:, :, oy, ox] = tm.apply_scale_32(sat32(acc), m, s) + output_zp
    out = np.clip(out, activation_min, activation_max)
    return out[0] if squeeze else out


def quantized_max_pool2d(x, kernel, stride, padding, dilation, activation_min, activation_max,
                         dtype=np.int8):
    x = _i64(x)
    squeeze = x.ndim == 3
    if squeeze:
        x = x[None]
    n, c, h, w = x.shape
    kh, kw = pair(kernel)
    sy, sx = pair(stride, (kh, kw))
    dy, dx = pair(dilation)
    pt, pb, pl, pr = padding4(padding)
    oh, ow = window_out(h, pt, pb, kh, sy, dy), window_out(w, pl, pr, kw, sx, dx)
    lowest = dtype_range(dtype)[0]  # TOSA starts at the dtype's minimum; padding never wins
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)), constant_values=lowest)
    out = np.full((n, c, oh, ow), lowest, dtype=np.int64)
    for ky in range(kh):
        for kx in range(kw):
            patch = xp[:, :, ky * dy: ky * dy + sy * (oh - 1) + 1: sy,
                       kx * dx: kx * dx + sx * (ow - 1) + 1: sx]
            out = np.maximum(out, patch)
    out = np.clip(out, activation_min, activation_max)
    return out[0] if squeeze else out


def quantized_mean(x, dims, keepdim, input_zp, multiplier, shift, output_zp, activation_min,
                   activation_max):
    x = _i64(x)
    axes = tuple(d % x.ndim for d in dims) if len(dims) else tuple(range(x.ndim))
    acc = (x - input_zp).sum(axis=axes, keepdims=keepdim)
    return requantize(acc, 0, multiplier, shift, output_zp, activation_min, activation_max)


def quantized_softmax(x, dim, exp_table, multiplier, shift, output_zp, activation_min,
                      activation_max) -> np.ndarray:
    """ptec's integer softmax (op_quantized_softmax.c): exp from a Q15 table of
    d = x - max(x) in [-255, 0], one rounded division by the row's sum, then
    the output scale as multiplier * 2^-shift (rounding half up)."""
    x = _i64(x)
    t = _i64(exp_table)
    e = t[x - x.max(axis=dim, keepdims=True) + 255]
    total = e.sum(axis=dim, keepdims=True)
    r = (e * multiplier + total // 2) // total
    out = ((r + (1 << (shift - 1))) >> shift) + output_zp
    return np.clip(out, activation_min, activation_max)


def table(x, tbl) -> np.ndarray:
    """TOSA TABLE: int8 (256 entries, int8 out) or int16 (513 entries, int32 out)."""
    x, tbl = np.asarray(x), _i64(tbl)
    if x.dtype == np.int8:
        return tbl[_i64(x) + 128]
    v = _i64(x) + 32768
    index, fraction = v >> 7, v & 0x7F
    base = tbl[index]
    slope = tbl[index + 1] - base
    return base * 128 + slope * fraction


def rescale(x, input_zp, multiplier, shift, output_zp, axis, out_dtype) -> np.ndarray:
    x = _i64(x)
    m, s = _i64(multiplier).reshape(-1), _i64(shift).reshape(-1)
    if m.size > 1:
        shape = [1] * x.ndim
        shape[axis % x.ndim] = -1
        m, s = m.reshape(shape), s.reshape(shape)
    else:
        m, s = m[0], s[0]
    lo, hi = dtype_range(out_dtype)
    return np.clip(tm.apply_scale_32(sat32(x - input_zp), m, s) + output_zp, lo, hi)


# ------------------------------------------------- parameters from float scales
# The compiler's own decisions, re-exported: the tests build kernel calls
# with the same parameters a compiled program has.
from ptec.quant.params import (  # noqa: E402,F401
    add_params, conv_params, matmul_params, mean_params, mul_params, rescale_params,
)
