"""Lowering rules for the pieces of ptec.quant.decompose's softmax, layer
norm and GLU: a subtraction (ptec::quantized_sub), a sum with its own output
scale (ptec::quantized_mean without the 1/count), a row maximum on the
integer codes (it shares its input's parameters), an elementwise op with a
scalar operand (var + eps: a lookup table), and two lookup tables in a row
composed into one.
"""
from __future__ import annotations

import torch

from .elementwise import lower_add, lower_table
from .match import Reject, Rewriter
from .pools import lower_mean

aten = torch.ops.aten
ptec = torch.ops.ptec


def lower_sub(rw: Rewriter, node: torch.fx.Node) -> torch.fx.Node:
    """a - b: quantized_add's RESCALE, RESCALE, SUB, RESCALE."""
    if not isinstance(node.args[1], torch.fx.Node):
        return lower_table(rw, node)  # x - c is a function of x alone
    return lower_add(rw, node, ptec.quantized_sub.default)


def lower_sum(rw: Rewriter, node: torch.fx.Node) -> torch.fx.Node:
    """sum(x, dims, keepdim) -> quantized_mean with the multiplier s_in / s_out
    (an int32 sum, RESCALEd): TOSA's REDUCE_SUM and RESCALE."""
    return lower_mean(rw, node, divide=False)


def lower_scalar_operand(rw: Rewriter, node: torch.fx.Node) -> torch.fx.Node:
    """x + c, x - c, x * c with a scalar c: a function of x alone, a table."""
    if any(isinstance(a, torch.fx.Node) for a in node.args[1:]):
        raise Reject("both operands are tensors")
    return lower_table(rw, node)


def compose_tables(gm: torch.fx.GraphModule) -> int:
    """table(table(x, t1), t2) -> table(x, t2[t1 + 128]) where the inner result
    has no other reader: the same integers, one TOSA TABLE fewer (layer norm's
    var + eps and rsqrt). Returns how many were composed."""
    count = 0
    for node in list(gm.graph.nodes):
        if node.op != "call_function" or node.target is not ptec.table.default:
            continue
        inner = node.args[0]
        if (not isinstance(inner, torch.fx.Node) or inner.target is not ptec.table.default
                or len(inner.users) != 1):
            continue
        t1 = getattr(gm, inner.args[1].target)
        t2 = getattr(gm, node.args[1].target)
        if t1.numel() != 256 or t2.numel() != 256:
            continue  # int16 tables (513 entries, interpolated) do not compose
        composed = t2[t1.to(torch.int64) + 128].clone()
        setattr(gm, inner.args[1].target, composed)
        node.args = (inner.args[0], inner.args[1])
        gm.graph.erase_node(inner)
        count += 1
    return count
