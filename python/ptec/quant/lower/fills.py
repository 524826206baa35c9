"""Quantized constant fills: quantize(full(shape, v)) becomes an integer constant.

Relative-position attention shifts its position scores with a zero column
(`cat([zeros, scores])`, Transformer-XL). The zeros are an `aten.full` that
fold_constants leaves computed (it is bigger than its inputs), and its quantize
then runs in float on the CPU between two TOSA delegates. The filled integer
tensor is the quantize's exact result, so storing it changes no value; it is
1 byte an element (a [B, H, T, 1] column), and a TOSA delegate takes it as a
CONST.
"""
from __future__ import annotations

import torch

from .. import qdq
from .match import Rewriter, per_tensor_params

aten = torch.ops.aten


def _fill_value(node) -> float | None:
    """v of a full(shape, v) whose arguments are all Python values."""
    if not (isinstance(node, torch.fx.Node) and node.op == "call_function"
            and node.target == aten.full.default and not node.all_input_nodes):
        return None
    value = node.args[1]
    return float(value) if isinstance(value, (int, float, bool)) else None


def quantize_constant_fills(rw: Rewriter) -> None:
    gm = rw.gm
    for node in list(gm.graph.nodes):
        if not qdq.is_quantize(node):
            continue
        value, params = _fill_value(node.args[0]), per_tensor_params(node)
        if value is None or params is None:
            continue
        shape = list(node.meta["val"].shape)
        filled = torch.full(shape, params.quantize(value), dtype=params.dtype)
        node.replace_all_uses_with(rw.constant(filled, f"{node.args[0].name}_q", node))
        gm.graph.erase_node(node)
