"""Lowering rules for ops that only move values: views, permutes, slices,
cat and pad run on the integer tensors themselves, and a dequantize read
straight by a quantize becomes nothing or a ptec::rescale.

A data-movement op between a dequantize and a quantize with the same
parameters computes q(op(dq(x))) = op(x) exactly. Where an input's
parameters differ from the output's (cat of tensors with different scales),
that input is rescaled to the output's first, as q(dq(x)) would.
"""
from __future__ import annotations

import torch

from .. import params as P
from .match import (
    QParams, Reject, Rewriter, per_tensor_params, quantized_input, quantized_output,
)

aten = torch.ops.aten
ptec = torch.ops.ptec

#: Ops whose first argument is the only tensor and whose result holds its values.
SINGLE_INPUT_OPS = frozenset({
    aten.view_copy.default, aten.permute_copy.default, aten.slice_copy.Tensor,
    aten.select_copy.int, aten.unsqueeze_copy.default, aten.squeeze_copy.dims,
    aten.squeeze_copy.dim, aten.squeeze_copy.default, aten.expand_copy.default,
    aten.clone.default, aten.alias_copy.default, aten.t_copy.default,
    aten.transpose_copy.int, aten._to_copy.default, aten.detach_copy.default,
    aten.constant_pad_nd.default,
})


def rescaled(rw: Rewriter, xq: torch.fx.Node, xp: QParams, yp: QParams,
             before: torch.fx.Node) -> torch.fx.Node:
    """xq re-expressed in yp's parameters (itself if they are the same)."""
    if xp.same_as(yp):
        return xq
    try:
        m, s = P.rescale_params(xp.scale, yp.scale)
    except ValueError as e:
        raise Reject(f"rescale out of TOSA's range: {e}") from None
    return rw.call(ptec.rescale.default,
                   [xq, xp.zero_point, rw.constant(torch.tensor([m], dtype=torch.int32),
                                                   "multiplier", before),
                    rw.constant(torch.tensor([s], dtype=torch.int32), "shift", before),
                    yp.zero_point, 0], before, {"dtype": yp.dtype})


def lower_single_input(rw: Rewriter, node: torch.fx.Node) -> torch.fx.Node:
    x, *rest = node.args
    xq, xp = quantized_input(x, "the input")
    out = quantized_output(node, allow_clamp=False)
    if (out.act_min, out.act_max) != (out.params.qmin, out.params.qmax):
        raise Reject("the output range is narrower than the dtype")
    if node.target is aten._to_copy.default and set(node.kwargs) - {"memory_format"}:
        raise Reject("a dtype-changing copy")
    kwargs = dict(node.kwargs)
    if node.target is aten.constant_pad_nd.default:
        value = rest[1] if len(rest) > 1 else kwargs.pop("value", 0.0)
        rest = [rest[0], float(out.params.quantize(value))]
    xr = rescaled(rw, xq, xp, out.params, out.quantize)
    moved = rw.call(node.target, [xr, *rest], out.quantize, kwargs)
    rw.replace_output(out, node, moved)
    return moved


def lower_cat(rw: Rewriter, node: torch.fx.Node) -> torch.fx.Node:
    tensors, *rest = node.args
    inputs = [quantized_input(t, f"input {i}") for i, t in enumerate(tensors)]
    out = quantized_output(node, allow_clamp=False)
    if (out.act_min, out.act_max) != (out.params.qmin, out.params.qmax):
        raise Reject("the output range is narrower than the dtype")
    if any(p.dtype != out.params.dtype for _, p in inputs):
        raise Reject("inputs and output differ in dtype")
    moved_inputs = [rescaled(rw, q, p, out.params, out.quantize) for q, p in inputs]
    moved = rw.call(node.target, [moved_inputs, *rest], out.quantize, dict(node.kwargs))
    rw.replace_output(out, node, moved)
    return moved


def lower_requantize(rw: Rewriter, node: torch.fx.Node) -> torch.fx.Node:
    """quantize(dequantize(x)): x itself, or x rescaled."""
    xq, xp = quantized_input(node.args[0], "the input")
    result = rescaled(rw, xq, xp, per_tensor_params(node), node)
    node.replace_all_uses_with(result)
    rw.gm.graph.erase_node(node)
    return result
