"""What the convolution and pooling converters of both profiles share: PyTorch's
window parameters in TOSA's form, and weights in TOSA's layouts."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..schema import Op
from .context import NHWC, Lowering, Unsupported


def pair(v: Sequence[int], default: Sequence[int] | None = None) -> list[int]:
    """[a] or [a, b] as [a, b]; [] as `default`."""
    v = list(v)
    if not v:
        return list(default)
    return [int(v[0]), int(v[-1])]


def exact_window(size: int, lo: int, hi: int, k: int, stride: int, dilation: int = 1
                 ) -> tuple[int, int]:
    """(hi', crop): TOSA requires (size - 1 + lo + hi - (k-1)*dilation) to divide by
    stride exactly. PyTorch floors, dropping the last rows; trimming the trailing
    pad by the remainder (and cropping the input where the pad is too small)
    computes the same windows."""
    extra = (size - 1 + lo + hi - (k - 1) * dilation) % stride
    if extra <= hi:
        return hi - extra, 0
    return 0, extra - hi


def windowed(lw: Lowering, xt, kernel, stride, pad, dilation, base: str):
    """An NHWC tensor and its [top, bottom, left, right] pad, made to meet TOSA's
    exact-division rule: (cropped tensor, trimmed pad)."""
    pad = list(pad)
    crop = [0, 0]
    for a in (0, 1):
        pad[2 * a + 1], crop[a] = exact_window(xt.shape[1 + a], pad[2 * a], pad[2 * a + 1],
                                               kernel[a], stride[a], dilation[a])
    if any(crop):
        size = [xt.shape[0], xt.shape[1] - crop[0], xt.shape[2] - crop[1], xt.shape[3]]
        xt = lw.op(Op.SLICE, [xt, lw.shape(f"{base}_start", [0, 0, 0, 0]),
                              lw.shape(f"{base}_size", size)], size, xt.dtype, f"{base}_crop")
    return xt, pad


def nhwc_windowed(lw: Lowering, x, kernel, stride, padding, dilation, base: str):
    """FX value x as NHWC, with PyTorch's padding ([p], [ph, pw] or [t, b, l, r]) in
    the form TOSA accepts."""
    p = [int(v) for v in padding] or [0]
    pad = p if len(p) == 4 else [p[0], p[0], p[-1], p[-1]]
    return windowed(lw, lw.value(x, NHWC), kernel, stride, pad, dilation, base)


def conv_weight(weight: np.ndarray, groups: int, in_channels: int):
    """(CONV2D, OHWI weight) or (DEPTHWISE_CONV2D, [KH, KW, C, M] weight) for a
    PyTorch [O, C/groups, KH, KW] weight."""
    out_channels, in_per_group, kh, kw = weight.shape
    if groups == 1:
        return Op.CONV2D, np.ascontiguousarray(weight.transpose(0, 2, 3, 1))
    if groups == in_channels and in_per_group == 1:
        m = out_channels // in_channels
        return Op.DEPTHWISE_CONV2D, np.ascontiguousarray(
            weight.reshape(in_channels, m, kh, kw).transpose(2, 3, 0, 1))
    raise Unsupported(f"a grouped convolution ({groups} groups of {in_per_group} channels) "
                      "has no TOSA operator")
