"""TOSA INT converters for the pieces of ptec.quant.decompose's softmax and
layer norm: ptec::quantized_sub (RESCALE, RESCALE, SUB, RESCALE: the host
kernel's arithmetic, op_quantized_sub.c) and the row maximum on int8/int16
codes (REDUCE_MAX per axis). The sums, tables and products are the integer
converters' (integer.py).
"""
from __future__ import annotations

import torch

from ..schema import Op
from .context import Lowering, Unsupported, fx_val
from .integer import _activation, convert_add

aten = torch.ops.aten
ptec = torch.ops.ptec


def convert_sub(lw: Lowering, node) -> None:
    convert_add(lw, node, Op.SUB)


def convert_amax(lw: Lowering, node) -> None:
    x = node.args[0]
    dims = list(node.args[1]) if len(node.args) > 1 and node.args[1] else []
    keepdim = bool(node.args[2]) if len(node.args) > 2 else False
    dtype = _activation(lw, x, "the input")
    val = fx_val(x)
    if val.dtype.is_floating_point:
        raise Unsupported("amax of a float tensor in the TOSA INT profile")
    rank = val.dim()
    perm = lw.perm_of(x)
    axes = sorted(perm.index(d % rank) for d in (dims or range(rank)))
    y = lw.value(x, perm)
    for axis in axes:
        shape = list(y.shape)
        shape[axis] = 1
        y = lw.op(Op.REDUCE_MAX, [y], shape, dtype, f"{node.name}_max", axis=axis, nan_mode=1)
    lw.set_reduced(node, y, perm, keepdim)


CONVERTERS = {
    ptec.quantized_sub.default: convert_sub,
    aten.amax.default: convert_amax,
}
