"""int16 -> int16 functions as TOSA's int16 TABLE and a RESCALE (A16W8).

TOSA's int16 TABLE has 513 int16 entries T[i] at the input codes
x_i = -32768 + 128 i and interpolates linearly between them, giving an int32
in 16.7 fixed point: (T[j] << 7) + (T[j+1] - T[j]) * (x & 127). ExecuTorch's
InsertTableOpsPass builds the same kind of table. Here T[i] = f(s_in * x_i)
/ s_T rounded, with s_T = max|f| / 32767 over the samples (the finest scale
whose entries fit int16), and a RESCALE by s_T / (128 * s_out) brings the
int32 to the output's int16 codes.

Unlike an int8 table this is not the fake-quantized function exactly: f is
interpolated between samples 128 codes apart (smooth functions lose a few
int16 steps at most).
"""
from __future__ import annotations

import torch

from .. import params as P
from .match import QParams, QuantizedOutput, Reject, Rewriter, requantization

ptec = torch.ops.ptec

#: The sample codes of TOSA's int16 table: 513 points, the last one past int16.
SAMPLES = torch.arange(513, dtype=torch.float64) * 128 - 32768


def table16(fn, xp: QParams, yp: QParams) -> tuple[torch.Tensor, float]:
    """(T int16 [513], s_T): T[i] = round(fn(s_in * (x_i - zp)) / s_T), fn's
    values first clamped to the output's range (the output's quantize clamps
    them anyway, and 1/x or rsqrt(x) near 0 would otherwise set a coarse s_T);
    NaN (rsqrt of a negative code no real input has) becomes 0."""
    y = fn((SAMPLES - xp.zero_point) * xp.scale)
    lo, hi = (yp.qmin - yp.zero_point) * yp.scale, (yp.qmax - yp.zero_point) * yp.scale
    y = torch.clamp(torch.nan_to_num(y, nan=0.0, posinf=hi, neginf=lo), lo, hi)
    peak = float(y.abs().max())
    if peak == 0.0:
        raise Reject("the function is zero over the input's range")
    s_t = peak / 32767
    return torch.clamp(torch.round(y / s_t), -32768, 32767).to(torch.int16), s_t


def lower_table16(rw: Rewriter, node: torch.fx.Node, xq: torch.fx.Node, xp: QParams,
                  out: QuantizedOutput) -> torch.fx.Node:
    rest, kwargs = node.args[1:], node.kwargs
    table, s_t = table16(lambda v: node.target(v, *rest, **kwargs), xp, out.params)
    if out.params.zero_point != 0:
        raise Reject("int16 output with a zero point (TOSA requires 0)")
    m, s = requantization(P.rescale_params, s_t / 128, out.params.scale)
    wide = rw.call(ptec.table.default, [xq, rw.constant(table, "table16", out.quantize)],
                   out.quantize)
    fused = rw.call(ptec.rescale.default,
                    [wide, 0, rw.constant(torch.tensor([m], dtype=torch.int32), "multiplier",
                                          out.quantize),
                     rw.constant(torch.tensor([s], dtype=torch.int32), "shift", out.quantize),
                     0, 0], out.quantize, {"dtype": out.params.dtype})
    rw.replace_output(out, node, fused)
    return fused
