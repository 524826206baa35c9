"""Lowering rule for softmax over int8: ptec::quantized_softmax.

Softmax is shift-invariant, so the kernel subtracts each row's maximum
code first: d = x - max is an integer in [-255, 0] whatever the zero point,
and exp(s_in * d) comes from a 256-entry table, exp(s_in * d) * 2^bits
rounded, that the compiler computes here. The kernel sums the row's table
values S (int64) and writes

  out = clamp(((T[d] * M + S / 2) / S + 2^(shift-1)) >> shift) + zp_out)

with M * 2^-shift = 1 / s_out (TOSA's multiplier and shift), the division
rounding half up; tests/python/tosa_ref.py models it bit for bit.

The table's scale cancels in T / S; its bits only set the precision. The
lowering uses 30, the most the kernel's int64 arithmetic allows: with Q15
the table's rounding moves about 0.1% of a transformer's attention weights
one step from the exact softmax, and the layers after it spread those flips
until 10-30% of the example transformer's outputs (examples/int8_accuracy.py)
differ from the fake-quantized model's. With Q30 the kernel agrees with the
exact softmax except where a value lies within ~2^-30 (relative) of a
rounding midpoint.
"""
from __future__ import annotations

import torch

from ..tosa_math import compute_multiplier_and_shift
from .match import Reject, Rewriter, quantized_input, quantized_output

ptec = torch.ops.ptec

#: Fixed-point bits of the lowering's exp tables: exp(0) = 2^30, the
#: kernel's largest (it keeps T * M + S / 2 below 2^62).
EXP_TABLE_BITS = 30


def exp_table(input_scale: float, bits: int = 15) -> torch.Tensor:
    """T[i] = round(exp(s_in * (i - 255)) * 2^bits), i in [0, 255], int32.

    Any bits up to 30 give the same softmax up to the table's rounding: the
    default, Q15, is the form the kernel tests build; the lowering asks for
    EXP_TABLE_BITS."""
    if not 1 <= bits <= 30:
        raise ValueError(f"exp table bits must be in [1, 30], not {bits}")
    d = torch.arange(-255, 1, dtype=torch.float64)
    return torch.round(torch.exp(input_scale * d) * (1 << bits)).to(torch.int32)


def lower_softmax(rw: Rewriter, node: torch.fx.Node) -> torch.fx.Node:
    x, dim = node.args[:2]
    xq, xp = quantized_input(x, "the input")
    out = quantized_output(node, allow_clamp=False)
    if xp.dtype != torch.int8 or out.params.dtype != torch.int8:
        raise Reject("the integer softmax is int8 only")
    try:
        m, s = compute_multiplier_and_shift(1.0 / out.params.scale)
    except ValueError as e:
        raise Reject(f"output scale out of range: {e}") from None
    table = rw.constant(exp_table(xp.scale, EXP_TABLE_BITS), "exp_table", out.quantize)
    fused = rw.call(ptec.quantized_softmax.default,
                    [xq, int(dim), table, m, s, out.params.zero_point, out.act_min, out.act_max],
                    out.quantize)
    rw.replace_output(out, node, fused)
    return fused
