"""NumPy models of TOSA 1.0 operators as ptec's TOSA executor runs them.

Arrays are in TOSA's layouts (NHWC feature maps, OHWI conv weights, HWCM
depthwise weights); integer results are int64 arrays compared bit for bit,
float results float32 arrays compared within a tolerance. Accumulating ops
reuse tosa_ref.py (NCHW) by transposing; the rest follow the pseudocode of
the TOSA 1.0.2 specification (see /work/shared/reference/tosa-vela.md).

The harness at the end builds one-operator graphs and runs them in ptec's C
runtime:  y = run_op(Op.ADD, [In(a), In(b)], ([2, 3], DType.INT32)).
In(array) is a graph input, C(array, dtype) a constant (a CONST op), S(values)
a shape operand (CONST_SHAPE). Graphs are wrapped in a .pte delegate
(ptec.tosa.delegate_program) and run through ptec.load (ctypes).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

import ptec
import tosa_ref as tr
from ptec.quant import tosa_math as tm
from ptec.tosa import DType, GraphBuilder, Op, delegate_program

NHWC_TO_NCHW = (0, 3, 1, 2)
NCHW_TO_NHWC = (0, 2, 3, 1)


def _i64(a) -> np.ndarray:
    return np.asarray(a, dtype=np.int64)


def conv2d(x, w, bias, pad, stride, dilation, x_zp, w_zp, depthwise=False) -> np.ndarray:
    """CONV2D / DEPTHWISE_CONV2D, int32 result [N, OH, OW, OC] (acc + bias)."""
    xn = np.transpose(x, NHWC_TO_NCHW)
    if depthwise:  # [KH, KW, C, M] -> [C*M, 1, KH, KW]
        kh, kw, c, m = w.shape
        wn = np.transpose(w, (2, 3, 0, 1)).reshape(c * m, 1, kh, kw)
        groups = c
    else:
        wn = np.transpose(w, NHWC_TO_NCHW)
        groups = 1
    acc = tr.conv2d_acc(xn, wn, stride, pad, dilation, groups, x_zp, w_zp)
    acc = acc + _i64(bias).reshape(1, -1, 1, 1)
    return np.transpose(acc, NCHW_TO_NHWC)


INT48_MIN, INT48_MAX = -(2**47), 2**47 - 1


def sat48(v) -> np.ndarray:
    """ptec's INT48 results: the exact int64 value saturated to int48 (TOSA: unpredictable
    outside it)."""
    return np.clip(_i64(v), INT48_MIN, INT48_MAX)


def conv2d_int16(x, w, bias, pad, stride, dilation, w_zp, depthwise=False) -> np.ndarray:
    """EXT-INT16 CONV2D / DEPTHWISE_CONV2D: int16 x int8 + int48 bias -> int48
    (input_zp 0), [N, OH, OW, OC] int64."""
    return sat48(conv2d(x, w, bias, pad, stride, dilation, 0, w_zp, depthwise))


def matmul_int16(a, b) -> np.ndarray:
    """EXT-INT16 MATMUL: int16 x int16 -> int48 (zero points 0)."""
    return sat48(matmul(a, b, 0, 0))


def conv2d_f32(x, w, bias, pad, stride, dilation, depthwise=False) -> np.ndarray:
    x = x.astype(np.float64)
    w = w.astype(np.float64)
    n, ih, iw, c = x.shape
    if depthwise:
        kh, kw, _, m = w.shape
        oc = c * m
    else:
        oc, kh, kw, _ = w.shape
    pt, pb, pl, pr = pad
    oh = (ih - 1 + pt + pb - (kh - 1) * dilation[0]) // stride[0] + 1
    ow = (iw - 1 + pl + pr - (kw - 1) * dilation[1]) // stride[1] + 1
    xp = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    out = np.zeros((n, oh, ow, oc)) + np.asarray(bias, np.float64)
    for ky in range(kh):
        for kx in range(kw):
            patch = xp[:, ky * dilation[0]: ky * dilation[0] + stride[0] * (oh - 1) + 1: stride[0],
                       kx * dilation[1]: kx * dilation[1] + stride[1] * (ow - 1) + 1: stride[1], :]
            if depthwise:
                out += (patch[..., :, None] * w[ky, kx][None, None, None]).reshape(n, oh, ow, oc)
            else:
                out += np.einsum("nhwc,oc->nhwo", patch, w[:, ky, kx, :])
    return out.astype(np.float32)


def rescale(x, multiplier, shift, in_zp, out_zp, out_dtype, per_channel) -> np.ndarray:
    """RESCALE (scale32 or scale16 alike: the same 64-bit formula), SINGLE_ROUND, signed.
    An INT48 input (int64 values, scale16) is apply_scale_16: the value is not narrowed,
    the product fits int64, and a result outside int32 saturates as in apply_scale_32."""
    m, s = _i64(multiplier), _i64(shift)
    if not per_channel:
        m, s = m[0], s[0]
    lo, hi = tr.dtype_range(out_dtype)
    return np.clip(tm.apply_scale_32(_i64(x) - in_zp, m, s) + out_zp, lo, hi)


def matmul(a, b, a_zp, b_zp) -> np.ndarray:
    return np.matmul(_i64(a) - a_zp, _i64(b) - b_zp)


def avg_pool2d(x, kernel, stride, pad, in_zp, out_zp) -> np.ndarray:
    """int8 or int16 (the output clipped to the input's dtype)."""
    lo, hi = tr.dtype_range(np.asarray(x).dtype)
    xn = np.transpose(x, NHWC_TO_NCHW)
    y = tr.quantized_avg_pool2d(xn, kernel, stride, pad, in_zp, out_zp, lo, hi)
    return np.transpose(y, NCHW_TO_NHWC)


def max_pool2d(x, kernel, stride, pad) -> np.ndarray:
    dtype = np.asarray(x).dtype
    lo, hi = tr.dtype_range(dtype)
    xn = np.transpose(x, NHWC_TO_NCHW)
    y = tr.quantized_max_pool2d(xn, kernel, stride, pad, [1, 1], lo, hi, dtype)
    return np.transpose(y, NCHW_TO_NHWC)


def pool2d_f32(x, kernel, stride, pad, avg: bool) -> np.ndarray:
    n, ih, iw, c = x.shape
    pt, pb, pl, pr = pad
    oh = (ih + pt + pb - kernel[0]) // stride[0] + 1
    ow = (iw + pl + pr - kernel[1]) // stride[1] + 1
    out = np.zeros((n, oh, ow, c), np.float64)
    for oy in range(oh):
        for ox in range(ow):
            y0, x0 = oy * stride[0] - pt, ox * stride[1] - pl
            win = x[:, max(y0, 0):min(y0 + kernel[0], ih), max(x0, 0):min(x0 + kernel[1], iw), :]
            win = win.astype(np.float64)
            out[:, oy, ox, :] = win.mean(axis=(1, 2)) if avg else win.max(axis=(1, 2))
    return out.astype(np.float32)


def wrap(v, dtype) -> np.ndarray:
    """The low bits of v as `dtype` (TOSA stores truncate where they do not saturate)."""
    return _i64(v).astype(dtype)


def asr(a, b) -> np.ndarray:
    return _i64(a) >> _i64(b)


def arithmetic_right_shift(a, b, rnd: bool) -> np.ndarray:
    a, b = np.broadcast_arrays(_i64(a), _i64(b))
    r = a >> b
    if rnd:
        r = r + ((b > 0) & (((a >> np.maximum(b - 1, 0)) & 1) != 0))
    return r


def mul(a, b, shift: int, dtype) -> np.ndarray:
    p = _i64(a) * _i64(b)
    if np.dtype(dtype) == np.int32 and shift > 0:
        return (p + (1 << (shift - 1))) >> shift
    return wrap(p, np.int32)


def intdiv(a, b) -> np.ndarray:
    a, b = _i64(a), _i64(b)
    q = np.abs(a) // np.abs(b)
    return np.where((a < 0) != (b < 0), -q, q)


def logical_shift(a, b, left: bool, dtype) -> np.ndarray:
    bits = np.dtype(dtype).itemsize * 8
    mask = (1 << bits) - 1
    a, b = _i64(a) & mask, _i64(b)
    r = (a << b) & mask if left else a >> b
    return wrap(r, dtype)


def clz(a) -> np.ndarray:
    v = _i64(a) & 0xFFFFFFFF
    out = np.full(v.shape, 32, np.int64)
    for bit in range(31, -1, -1):
        hit = ((v >> bit) & 1).astype(bool) & (out == 32)
        out[hit] = 31 - bit
    return out


def negate(x, in_zp, out_zp, dtype) -> np.ndarray:
    lo, hi = tr.dtype_range(dtype)
    return np.clip(-(_i64(x) - in_zp) + out_zp, lo, hi)


def cast(x, dtype) -> np.ndarray:
    x = np.asarray(x)
    dtype = np.dtype(dtype)
    if x.dtype == np.float32 and dtype.kind == "i":
        info = np.iinfo(dtype)
        return np.clip(np.rint(x.astype(np.float64)), info.min, info.max).astype(dtype)
    if dtype == np.bool_:
        return x != 0
    if x.dtype == np.bool_:
        return x.astype(dtype)
    if dtype == np.float32:
        return x.astype(np.float32)
    return wrap(x, dtype)


def reduce(x, axis: int, kind: str) -> np.ndarray:
    fn = {"sum": np.sum, "max": np.max, "min": np.min, "all": np.all, "any": np.any,
          "product": np.prod}[kind]
    return fn(x, axis=axis, keepdims=True)


def pad(x, padding, value) -> np.ndarray:
    pairs = [(padding[2 * d], padding[2 * d + 1]) for d in range(x.ndim)]
    return np.pad(x, pairs, constant_values=value)


def gather(values, indices) -> np.ndarray:
    return np.stack([values[n][indices[n]] for n in range(values.shape[0])])


def scatter(values_in, indices, inp) -> np.ndarray:
    out = values_in.copy()
    for n in range(values_in.shape[0]):
        out[n][indices[n]] = inp[n]
    return out


def transpose_conv2d(x, w, bias, out_pad, stride, x_zp=0, w_zp=0) -> np.ndarray:
    """TRANSPOSE_CONV2D as scattered taps (no kernel flip): int64, or float64 for floats."""
    fp = x.dtype == np.float32
    x = x.astype(np.float64 if fp else np.int64) - x_zp
    w = w.astype(np.float64 if fp else np.int64) - w_zp
    n, ih, iw, _ = x.shape
    oc, kh, kw, _ = w.shape
    oh = (ih - 1) * stride[0] + out_pad[0] + out_pad[1] + kh
    ow = (iw - 1) * stride[1] + out_pad[2] + out_pad[3] + kw
    out = np.zeros((n, oh, ow, oc), x.dtype)
    for iy in range(ih):
        for ix in range(iw):
            for ky in range(kh):
                for kx in range(kw):
                    oy = iy * stride[0] + out_pad[0] + ky
                    ox = ix * stride[1] + out_pad[2] + kx
                    if 0 <= oy < oh and 0 <= ox < ow:
                        out[:, oy, ox, :] += x[:, iy, ix, :] @ w[:, ky, kx, :].T
    return out + np.asarray(bias, out.dtype)


def conv3d(x, w, bias, pad, stride, dilation, x_zp=0, w_zp=0) -> np.ndarray:
    fp = x.dtype == np.float32
    x = x.astype(np.float64 if fp else np.int64) - x_zp
    w = w.astype(np.float64 if fp else np.int64) - w_zp
    x = np.pad(x, ((0, 0), (pad[0], pad[1]), (pad[2], pad[3]), (pad[4], pad[5]), (0, 0)))
    n, dd, hh, ww, _ = x.shape
    oc, kd, kh, kw, _ = w.shape
    od = (dd - 1 - (kd - 1) * dilation[0]) // stride[0] + 1
    oh = (hh - 1 - (kh - 1) * dilation[1]) // stride[1] + 1
    ow = (ww - 1 - (kw - 1) * dilation[2]) // stride[2] + 1
    out = np.zeros((n, od, oh, ow, oc), x.dtype)
    for a in range(kd):
        for b in range(kh):
            for c in range(kw):
                patch = x[:, a * dilation[0]: a * dilation[0] + stride[0] * (od - 1) + 1: stride[0],
                          b * dilation[1]: b * dilation[1] + stride[1] * (oh - 1) + 1: stride[1],
                          c * dilation[2]: c * dilation[2] + stride[2] * (ow - 1) + 1: stride[2]]
                out += np.einsum("ndhwi,oi->ndhwo", patch, w[:, a, b, c, :])
    return out + np.asarray(bias, out.dtype)


def resize(x, scale, offset, border, bilinear: bool) -> np.ndarray:
    """RESIZE as the TOSA 1.0 pseudocode computes it (integer or float weights)."""
    n, ih, iw, c = x.shape
    yn, yd, xn, xd = scale
    oh = ((ih - 1) * yn - offset[0] + border[0]) // yd + 1
    ow = ((iw - 1) * xn - offset[1] + border[1]) // xd + 1
    fp = x.dtype == np.float32
    out = np.zeros((n, oh, ow, c), np.float64 if fp else np.int64)
    xs = x.astype(np.float64 if fp else np.int64)
    for oy in range(oh):
        for ox in range(ow):
            y, xx = oy * yd + offset[0], ox * xd + offset[1]
            iy, ix = y // yn, xx // xn
            ry, rx = y - iy * yn, xx - ix * xn
            iy0, iy1 = max(iy, 0), min(iy + 1, ih - 1)
            ix0, ix1 = max(ix, 0), min(ix + 1, iw - 1)
            if not bilinear:
                out[:, oy, ox] = xs[:, iy1 if 2 * ry >= yn else iy0, ix1 if 2 * rx >= xn else ix0]
                continue
            if fp:
                dy, dx, uy, ux = ry / yn, rx / xn, 1.0, 1.0
            else:
                dy, dx, uy, ux = ry, rx, yn, xn
            out[:, oy, ox] = (xs[:, iy0, ix0] * (uy - dy) * (ux - dx) +
                              xs[:, iy0, ix1] * (uy - dy) * dx +
                              xs[:, iy1, ix0] * dy * (ux - dx) + xs[:, iy1, ix1] * dy * dx)
    return out


# ------------------------------------------------------------------ harness


NP_TO_TOSA = {np.dtype(np.bool_): DType.BOOL, np.dtype(np.int8): DType.INT8,
              np.dtype(np.int16): DType.INT16, np.dtype(np.int32): DType.INT32,
              np.dtype(np.float32): DType.FP32}
TOSA_TO_NP = {v: k for k, v in NP_TO_TOSA.items()}


@dataclass
class In:
    array: np.ndarray


@dataclass
class C:
    array: np.ndarray
    dtype: DType | None = None


@dataclass
class S:
    values: list


def graph_op(op: Op, operands, out, **attrs) -> tuple[GraphBuilder, list[np.ndarray]]:
    """A graph of one operator; `out` is (shape, dtype) or a list of them."""
    g = GraphBuilder()
    names, inputs = [], []
    for k, x in enumerate(operands):
        name = f"t{k}"
        if isinstance(x, In):
            a = np.asarray(x.array)
            g.input(name, a.shape, NP_TO_TOSA[a.dtype])
            inputs.append(a)
        elif isinstance(x, C):
            g.const(name, np.asarray(x.array), x.dtype)
        else:
            g.const_shape(name, x.values)
        names.append(name)
    outs = out if isinstance(out, list) else [out]
    out_names = []
    for k, (shape, dtype) in enumerate(outs):
        g.tensor(f"y{k}", shape, dtype)
        out_names.append(f"y{k}")
    g.op(op, names, out_names, **attrs)
    for n in out_names:
        g.output(n)
    return g, inputs


def run_graph(g: GraphBuilder, inputs: list[np.ndarray]) -> list[np.ndarray]:
    runner = ptec.load(delegate_program(g.serialize(), g))
    outs = runner(*[torch.from_numpy(np.ascontiguousarray(a)) for a in inputs])
    return [o.numpy() for o in outs]


def run_op(op: Op, operands, out, **attrs) -> np.ndarray:
    g, inputs = graph_op(op, operands, out, **attrs)
    (y,) = run_graph(g, inputs)
    return y


def rand_int(rng, shape, dtype) -> np.ndarray:
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)
