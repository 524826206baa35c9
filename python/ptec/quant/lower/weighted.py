"""Lowering rules for the ops with weights or two matrix operands:
convolution -> ptec::quantized_conv2d, addmm/mm with a constant weight ->
ptec::quantized_linear, bmm/mm of two activations -> ptec::quantized_matmul.
"""
from __future__ import annotations

import numpy as np
import torch

from .. import params as P
from .. import qdq
from ..tosa_math import INT32_MAX, INT32_MIN
from .match import (
    QParams, Reject, Rewriter, constant_tensor, quantized_input, quantized_output, requantization,
)

aten = torch.ops.aten
ptec = torch.ops.ptec


class Weight:
    """A constant integer tensor read through a dequantize, per tensor or per channel."""

    def __init__(self, rw: Rewriter, node, what: str, channel_axis: int = 0):
        name = qdq.op_name(node.target) if isinstance(node, torch.fx.Node) else None
        if name == "quantized_decomposed::dequantize_per_channel":
            values, scales, zps, axis = node.args[:4]
            self.scales = constant_tensor(rw.gm, scales)
            zps = constant_tensor(rw.gm, zps) if zps is not None else torch.zeros(1)
            if self.scales is None or zps is None:
                raise Reject(f"{what}'s scales are not constants")
            if axis != channel_axis:
                raise Reject(f"{what} is quantized along dim {axis}, not {channel_axis}")
            self.zero_points = zps
        elif name == "quantized_decomposed::dequantize_per_tensor":
            values, scale, zp = node.args[:3]
            if not isinstance(scale, float):
                raise Reject(f"{what}'s scale is not a constant")
            self.scales = torch.tensor([scale], dtype=torch.float64)
            self.zero_points = torch.tensor([zp])
        else:
            raise Reject(f"{what} is not a quantized constant")
        self.node = values
        self.values = constant_tensor(rw.gm, values)
        if self.values is None:
            raise Reject(f"{what} is not a constant")
        self.dequantize = node

    def single_zero_point(self, what: str) -> int:
        zps = self.zero_points.reshape(-1)
        if not bool((zps == zps[0]).all()):
            raise Reject(f"{what} has per-channel zero points that differ")
        return int(zps[0])

    def scale_array(self) -> np.ndarray:
        return self.scales.to(torch.float64).reshape(-1).numpy()


def _weight(rw: Rewriter, node, what: str) -> Weight:
    w = Weight(rw, node, what)
    if w.values.dtype != torch.int8:
        raise Reject(f"{what} is {w.values.dtype}, the integer kernels take int8 weights")
    return w


def _bias(rw: Rewriter, node, input_scale: float, weight_scales: np.ndarray,
          channels: int, before: torch.fx.Node):
    """The int32 bias at the accumulator's scale s_in * s_w[c], as a constant node."""
    if node is None:
        return None
    acc_scales = input_scale * weight_scales
    if isinstance(node, torch.fx.Node) and node.op == "get_attr":
        real = constant_tensor(rw.gm, node).to(torch.float64).reshape(-1)
    else:
        b = Weight(rw, node, "bias")
        same_scale = torch.equal(b.scales.to(torch.float32).reshape(-1),
                                 torch.from_numpy(acc_scales).to(torch.float32).reshape(-1))
        if (b.values.dtype == torch.int32 and same_scale
                and not bool(b.zero_points.reshape(-1).any())):
            return b.node  # quantized by the quantizer exactly as the kernel adds it
        real = (b.values.to(torch.float64).reshape(-1)
                - b.zero_points.to(torch.float64).reshape(-1)) * b.scales.to(torch.float64).reshape(-1)
    if real.numel() != channels:
        raise Reject(f"bias has {real.numel()} elements for {channels} channels")
    q = torch.round(real / torch.from_numpy(acc_scales).reshape(-1))
    q = q.clamp(INT32_MIN, INT32_MAX).to(torch.int32)
    return rw.constant(q, "bias", before)


def _scale_constants(rw: Rewriter, scales: np.ndarray, before: torch.fx.Node):
    """Per-channel (or single) multiplier and shift constants for s_in*s_w/s_out."""
    from ..tosa_math import compute_multipliers_and_shifts
    m, s = requantization(compute_multipliers_and_shifts, scales)
    return (rw.constant(torch.from_numpy(m), "multiplier", before),
            rw.constant(torch.from_numpy(s), "shift", before))


def _conv_args(node: torch.fx.Node):
    args = list(node.args) + [None] * (9 - len(node.args))
    x, w, b, stride, padding, dilation, transposed, output_padding, groups = args[:9]
    return x, w, b, stride, padding, dilation, transposed, groups


def lower_convolution(rw: Rewriter, node: torch.fx.Node) -> torch.fx.Node:
    x, w, b, stride, padding, dilation, transposed, groups = _conv_args(node)
    if transposed:
        raise Reject("transposed convolution has no integer kernel")
    if node.meta["val"].dim() != 4:
        raise Reject(f"{node.meta['val'].dim() - 2}-d convolution: the integer kernel is 2-d")
    xq, xp = quantized_input(x, "the input")
    weight = _weight(rw, w, "the weight")
    out = quantized_output(node)
    _check_output_dtype(xp, out.params)
    w_scales = weight.scale_array()
    channels = weight.values.shape[0]
    if w_scales.size not in (1, channels):
        raise Reject(f"{w_scales.size} weight scales for {channels} output channels")
    bias = _bias(rw, b, xp.scale, w_scales, channels, out.quantize)
    mult, shift = _scale_constants(rw, xp.scale * w_scales / out.params.scale, out.quantize)
    fused = rw.call(ptec.quantized_conv2d.default,
                    [xq, weight.node, bias, list(stride), list(padding), list(dilation),
                     int(groups), xp.zero_point, weight.single_zero_point("the weight"), mult,
                     shift, out.params.zero_point, out.act_min, out.act_max], out.quantize)
    rw.replace_output(out, node, fused)
    return fused


def _check_output_dtype(xp: QParams, yp: QParams) -> None:
    if xp.dtype != yp.dtype:
        raise Reject(f"input is {xp.dtype} and output {yp.dtype}; the kernel keeps the dtype")


def _transposed_weight(node) -> torch.fx.Node:
    """The dequantized [N, K] weight behind a permute(w, [1, 0]) / t(w)."""
    if isinstance(node, torch.fx.Node) and node.op == "call_function":
        if node.target is aten.permute_copy.default and list(node.args[1]) == [1, 0]:
            return node.args[0]
        if node.target is aten.t_copy.default:
            return node.args[0]
    raise Reject("the weight is not a transposed constant")


def lower_linear(rw: Rewriter, node: torch.fx.Node) -> torch.fx.Node:
    """addmm(bias, x, w^T) or mm(x, w^T), w a quantized [N, K] constant."""
    if node.target is aten.addmm.default:
        b, x, wt = node.args[:3]
        if node.kwargs.get("beta", 1) != 1 or node.kwargs.get("alpha", 1) != 1:
            raise Reject("addmm with beta or alpha other than 1")
    else:
        (x, wt), b = node.args[:2], None
    weight = _weight(rw, _transposed_weight(wt), "the weight")
    xq, xp = quantized_input(x, "the input")
    out = quantized_output(node)
    _check_output_dtype(xp, out.params)
    w_scales = weight.scale_array()
    channels = weight.values.shape[0]
    bias = _bias(rw, b, xp.scale, w_scales, channels, out.quantize)
    mult, shift = _scale_constants(rw, xp.scale * w_scales / out.params.scale, out.quantize)
    fused = rw.call(ptec.quantized_linear.default,
                    [xq, weight.node, bias, xp.zero_point, weight.single_zero_point("the weight"),
                     mult, shift, out.params.zero_point, out.act_min, out.act_max], out.quantize)
    rw.replace_output(out, node, fused)
    return fused


#: The matmul kernel of each operand dtype: int8 x int8 (int32 accumulator,
#: 32-bit multiplier) or int16 x int16 (int48 accumulator, TOSA's scale16
#: RESCALE: a 16-bit multiplier), with the output dtype's full range.
_MATMULS = {torch.int8: (ptec.quantized_matmul.default, 31, (-128, 127)),
            torch.int16: (ptec.quantized_matmul16.default, 15, (-32768, 32767))}


def lower_matmul(rw: Rewriter, node: torch.fx.Node) -> torch.fx.Node:
    """bmm / mm of two quantized activations, both int8 or both int16 (a16w8
    attention); one per-tensor scale (activations are per tensor)."""
    a, b = node.args[:2]
    aq, ap = quantized_input(a, "the first operand")
    bq, bp = quantized_input(b, "the second operand")
    out = quantized_output(node, allow_clamp=False)
    if not (ap.dtype == bp.dtype == out.params.dtype and ap.dtype in _MATMULS):
        raise Reject(f"no integer matmul kernel for {ap.dtype} x {bp.dtype} -> "
                     f"{out.params.dtype} (int8 x int8 -> int8 or int16 x int16 -> int16)")
    op, offset, full_range = _MATMULS[ap.dtype]
    if (out.act_min, out.act_max) != full_range:
        raise Reject(f"output range [{out.act_min}, {out.act_max}] is not {ap.dtype}'s")
    m, s = requantization(P.matmul_params, ap.scale, bp.scale, out.params.scale, offset)
    fused = rw.call(op,
                    [aq, bq, ap.zero_point, bp.zero_point, m, s, out.params.zero_point],
                    out.quantize)
    rw.replace_output(out, node, fused)
    return fused


def lower_mm(rw: Rewriter, node: torch.fx.Node) -> torch.fx.Node:
    """mm is a linear layer when its second operand is a transposed constant."""
    try:
        _transposed_weight(node.args[1])
    except Reject:
        return lower_matmul(rw, node)
    return lower_linear(rw, node)
