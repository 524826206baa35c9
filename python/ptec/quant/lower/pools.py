"""Lowering rules for pooling and means: avg_pool2d, max_pool2d and mean over
dims (adaptive average pooling to 1x1 arrives as mean.dim).
"""
from __future__ import annotations

import math
import operator

import torch

from .. import params as P
from .match import (
    QParams, Reject, Rewriter, quantized_input, quantized_output, requantization,
)

aten = torch.ops.aten
ptec = torch.ops.ptec


def _same_scale(xp: QParams, yp: QParams, op: str) -> None:
    if xp.scale != yp.scale or xp.dtype != yp.dtype:
        raise Reject(f"the integer {op} keeps the scale, but the output's "
                     f"({yp.scale:.6g}, {yp.dtype}) differs from the input's "
                     f"({xp.scale:.6g}, {xp.dtype})")


def _arg(node: torch.fx.Node, index: int, name: str, default):
    if len(node.args) > index:
        return node.args[index]
    return node.kwargs.get(name, default)


def _ints(v, n=2) -> list[int]:
    v = [v] if isinstance(v, int) else list(v)
    return v * n if len(v) == 1 else v


def lower_avg_pool2d(rw: Rewriter, node: torch.fx.Node) -> torch.fx.Node:
    x = node.args[0]
    kernel = _ints(_arg(node, 1, "kernel_size", None))
    stride = _ints(_arg(node, 2, "stride", []) or kernel)
    padding = _ints(_arg(node, 3, "padding", 0))
    ceil_mode = _arg(node, 4, "ceil_mode", False)
    count_include_pad = _arg(node, 5, "count_include_pad", True)
    if _arg(node, 6, "divisor_override", None) is not None:
        raise Reject("divisor_override has no integer form")
    if node.meta["val"].dim() != 4:
        raise Reject("the integer avg_pool2d takes 4-d tensors")
    xq, xp = quantized_input(x, "the input")
    out = quantized_output(node)
    _same_scale(xp, out.params, "avg_pool2d")
    h, w = node.args[0].meta["val"].shape[-2:]
    floor_shape = [(h + 2 * padding[0] - kernel[0]) // stride[0] + 1,
                   (w + 2 * padding[1] - kernel[1]) // stride[1] + 1]
    if ceil_mode and list(node.meta["val"].shape[-2:]) != floor_shape:
        raise Reject("ceil_mode adds windows the integer kernel does not make")
    if any(padding) and count_include_pad:
        # PyTorch divides by the whole window, padding included; TOSA by the
        # elements inside. Padding explicitly with the zero point's code
        # (real 0) makes the two agree.
        xq = rw.call(aten.constant_pad_nd.default,
                     [xq, [padding[1], padding[1], padding[0], padding[0]], float(xp.zero_point)],
                     out.quantize)
        padding = [0, 0]
    fused = rw.call(ptec.quantized_avg_pool2d.default,
                    [xq, kernel, stride, padding, xp.zero_point, out.params.zero_point,
                     out.act_min, out.act_max], out.quantize)
    rw.replace_output(out, node, fused)
    return fused


def _only_first_result(node: torch.fx.Node, why: str) -> torch.fx.Node:
    """The getitem of result 0 that is `node`'s only user, else Reject(why):
    the integer kernels make only the first of the op's results."""
    users = list(node.users)
    if len(users) != 1 or users[0].target is not operator.getitem or users[0].args[1] != 0:
        raise Reject(why)
    return users[0]


def lower_max_pool2d(rw: Rewriter, node: torch.fx.Node) -> torch.fx.Node:
    """max_pool2d_with_indices(...)[0]: the indices must be unused."""
    getitem = _only_first_result(node, "the pooling indices are used")
    x = node.args[0]
    kernel = _ints(_arg(node, 1, "kernel_size", None))
    stride = _ints(_arg(node, 2, "stride", []) or kernel)
    padding = _ints(_arg(node, 3, "padding", 0))
    dilation = _ints(_arg(node, 4, "dilation", 1))
    if _arg(node, 5, "ceil_mode", False):
        raise Reject("ceil_mode has no integer form")
    xq, xp = quantized_input(x, "the input")
    out = quantized_output(getitem)
    _same_scale(xp, out.params, "max_pool2d")
    if xp.zero_point != out.params.zero_point:
        raise Reject("input and output zero points differ")
    fused = rw.call(ptec.quantized_max_pool2d.default,
                    [xq, kernel, stride, padding, dilation, out.act_min, out.act_max],
                    out.quantize)
    rw.replace_output(out, getitem, fused)
    if not node.users:
        rw.gm.graph.erase_node(node)
    return fused


def lower_mean(rw: Rewriter, node: torch.fx.Node, divide: bool = True) -> torch.fx.Node:
    """mean(x, dims): the int32 sum RESCALEd by s_in / (count * s_out); with
    divide=False a sum (ptec.quant.decompose's softmax), by s_in / s_out."""
    x, dims = node.args[0], list(_arg(node, 1, "dim", []) or [])
    keepdim = bool(_arg(node, 2, "keepdim", False))
    if node.kwargs.get("dtype") is not None:
        raise Reject(f"{'mean' if divide else 'sum'} with a dtype argument")
    xq, xp = quantized_input(x, "the input")
    out = quantized_output(node)
    if xp.dtype != out.params.dtype:
        raise Reject("input and output dtypes differ")
    shape = x.meta["val"].shape
    axes = {d % len(shape) for d in dims} if dims else set(range(len(shape)))
    count = math.prod(shape[d] for d in axes)
    if not divide and count > 1 << 16:
        raise Reject("a sum of more than 65536 values could overflow int32")
    m, s = requantization(P.mean_params, xp.scale, count if divide else 1, out.params.scale)
    fused = rw.call(ptec.quantized_mean.default,
                    [xq, dims, keepdim, xp.zero_point, m, s, out.params.zero_point,
                     out.act_min, out.act_max], out.quantize)
    rw.replace_output(out, node, fused)
    return fused


def lower_layer_norm(rw: Rewriter, node: torch.fx.Node) -> torch.fx.Node:
    """native_layer_norm(...)[0] -> ptec::quantized_layer_norm (exact statistics)."""
    getitem = _only_first_result(node, "the mean and rstd results are used")
    x, shape, weight, bias, eps = node.args[:5]
    xq, xp = quantized_input(x, "the input")
    if not x.meta["val"].is_contiguous():
        raise Reject("the input is not contiguous")
    out = quantized_output(getitem, allow_clamp=False)
    if xp.dtype != out.params.dtype:
        raise Reject("input and output dtypes differ")
    for what, param in (("weight", weight), ("bias", bias)):
        if param is not None and (not isinstance(param, torch.fx.Node) or param.op != "get_attr"):
            raise Reject(f"the {what} is not a constant")
    fused = rw.call(ptec.quantized_layer_norm.default,
                    [xq, list(shape), weight, bias, float(eps), xp.scale, xp.zero_point,
                     out.params.scale, out.params.zero_point, out.act_min, out.act_max],
                    out.quantize)
    rw.replace_output(out, getitem, fused)
    if not node.users:
        rw.gm.graph.erase_node(node)
    return fused
