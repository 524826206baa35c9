"""Lowering rules for elementwise ops: add and mul of two quantized tensors
(ptec::quantized_add / quantized_mul), and every unary function of an int8
tensor as a 256-entry lookup table (ptec::table).
"""
from __future__ import annotations

import torch

from .. import params as P
from .match import (
    QParams, Reject, Rewriter, quantized_input, quantized_output, requantization,
)

aten = torch.ops.aten
ptec = torch.ops.ptec


def _tensor_operands(node: torch.fx.Node):
    a, b = node.args[:2]
    if not isinstance(b, torch.fx.Node):
        raise Reject("one operand is a scalar; only tensor-tensor forms have integer kernels")
    if node.kwargs.get("alpha", 1) != 1:
        raise Reject("add with alpha other than 1")
    return a, b


def _same_dtype(*params: QParams) -> None:
    if len({p.dtype for p in params}) != 1:
        raise Reject("operands and result differ in dtype: " + ", ".join(str(p.dtype) for p in params))


def _quantized_operands(node: torch.fx.Node):
    """(aq, ap, bq, bp, out) of a binary op on two quantized tensors of the
    result's dtype."""
    a, b = _tensor_operands(node)
    aq, ap = quantized_input(a, "the first operand")
    bq, bp = quantized_input(b, "the second operand")
    out = quantized_output(node)
    _same_dtype(ap, bp, out.params)
    return aq, ap, bq, bp, out


def lower_add(rw: Rewriter, node: torch.fx.Node, kernel=None) -> torch.fx.Node:
    """a + b (or, with kernel=ptec.quantized_sub, a - b: the same parameters)."""
    aq, ap, bq, bp, out = _quantized_operands(node)
    (am, ash), (bm, bsh), (om, osh) = requantization(
        P.add_params, ap.scale, bp.scale, out.params.scale, _np_dtype(ap.dtype))
    fused = rw.call(kernel or ptec.quantized_add.default,
                    [aq, bq, ap.zero_point, am, ash, bp.zero_point, bm, bsh,
                     out.params.zero_point, om, osh, out.act_min, out.act_max], out.quantize)
    rw.replace_output(out, node, fused)
    return fused


def lower_mul(rw: Rewriter, node: torch.fx.Node) -> torch.fx.Node:
    aq, ap, bq, bp, out = _quantized_operands(node)
    m, s = requantization(P.mul_params, ap.scale, bp.scale, out.params.scale)
    fused = rw.call(ptec.quantized_mul.default,
                    [aq, bq, ap.zero_point, bp.zero_point, m, s, out.params.zero_point,
                     out.act_min, out.act_max], out.quantize)
    rw.replace_output(out, node, fused)
    return fused


def _np_dtype(dtype: torch.dtype):
    import numpy as np
    return np.int16 if dtype == torch.int16 else np.int8


#: Unary ops a table replaces: any function of one int8 value is 256 entries.
TABLE_OPS = frozenset({
    aten.sigmoid.default, aten.tanh.default, aten.hardswish.default, aten.hardsigmoid.default,
    aten.gelu.default, aten.silu.default, aten.relu.default, aten.hardtanh.default,
    aten.clamp.default, aten.leaky_relu.default, aten.elu.default, aten.exp.default,
    aten.neg.default, aten.abs.default, aten.sqrt.default, aten.rsqrt.default,
    aten.reciprocal.default, aten.log.default, aten.erf.default,
})


def lower_table(rw: Rewriter, node: torch.fx.Node) -> torch.fx.Node:
    """f(dq(x)) -> q as table[x + 128]: the table is the float op itself run on
    all 256 int8 values in float64, each result rounded half to even as the
    quantize rounds: the fake-quantized model's value for every input code."""
    (x, *rest), kwargs = node.args, node.kwargs
    xq, xp = quantized_input(x, "the input")
    out = quantized_output(node, allow_clamp=False)
    if any(isinstance(a, torch.fx.Node) for a in rest) or any(
            isinstance(v, torch.fx.Node) for v in kwargs.values()):
        raise Reject("the function has tensor arguments besides its input")
    if xp.dtype == torch.int16 and out.params.dtype == torch.int16:
        from .table16 import lower_table16
        return lower_table16(rw, node, xq, xp, out)
    if xp.dtype != torch.int8 or out.params.dtype != torch.int8:
        raise Reject("lookup tables map int8 to int8 or int16 to int16")
    codes = torch.arange(-128, 128, dtype=torch.float64)
    y = node.target((codes - xp.zero_point) * xp.scale, *rest, **kwargs)
    p = out.params
    table = torch.clamp(torch.round(y / p.scale) + p.zero_point, out.act_min, out.act_max)
    fused = rw.call(ptec.table.default,
                    [xq, rw.constant(table.to(torch.int8), "table", out.quantize)],
                    out.quantize)
    rw.replace_output(out, node, fused)
    return fused


def lower_scalar_mul(rw: Rewriter, node: torch.fx.Node) -> torch.fx.Node:
    """x * c, c > 0 (attention's 1/sqrt(d)): a rescale by c * s_in / s_out."""
    x, c = node.args[:2]
    if not isinstance(c, (int, float)) or c <= 0:
        raise Reject("multiplies by a constant that is not positive")
    xq, xp = quantized_input(x, "the input")
    out = quantized_output(node, allow_clamp=False)
    if (out.act_min, out.act_max) != (out.params.qmin, out.params.qmax):
        raise Reject("the output range is narrower than the dtype")
    m, s = requantization(P.rescale_params, xp.scale * float(c), out.params.scale)
    fused = rw.call(ptec.rescale.default,
                    [xq, xp.zero_point, rw.constant(torch.tensor([m], dtype=torch.int32),
                                                    "multiplier", out.quantize),
                     rw.constant(torch.tensor([s], dtype=torch.int32), "shift", out.quantize),
                     out.params.zero_point, 0], out.quantize, {"dtype": out.params.dtype})
    rw.replace_output(out, node, fused)
    return fused
