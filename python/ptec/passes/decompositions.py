"""Decompositions ptec adds to core ATen's, and operators it keeps whole
(export.py uses both).

Python's shift operators trace as aten.__lshift__ / __rshift__, which have no
out variant; they are the same operation as bitwise_left_shift /
bitwise_right_shift, which ExecuTorch's portable library has.
"""
from __future__ import annotations

import torch

aten = torch.ops.aten


def _same_as(op):
    return lambda a, b: op(a, b)


def _upsample_bilinear2d_aa_vec(x, output_size, align_corners, scale_factors):
    """interpolate(antialias=True) traces as the .vec overload, which has no out
    variant; PyTorch's .vec computes the size and calls .default (UpSample.cpp)."""
    if output_size is None:
        output_size = [int(x.shape[2 + k] * scale_factors[k]) for k in range(2)]
    scale_h, scale_w = scale_factors if scale_factors else (None, None)
    return aten._upsample_bilinear2d_aa.default(x, list(output_size), align_corners,
                                                scale_h, scale_w)


EXTRA = {
    aten._upsample_bilinear2d_aa.vec: _upsample_bilinear2d_aa_vec,
    aten.__lshift__.Scalar: _same_as(aten.bitwise_left_shift.Tensor_Scalar),
    aten.__lshift__.Tensor: _same_as(aten.bitwise_left_shift.Tensor),
    aten.__rshift__.Scalar: _same_as(aten.bitwise_right_shift.Tensor_Scalar),
    aten.__rshift__.Tensor: _same_as(aten.bitwise_right_shift.Tensor),
}


#: Operators core ATen decomposes into index arithmetic (arange, abs, index,
#: where masks) that ptec's runtime (like ExecuTorch's portable library) has
#: one kernel for. Only these: ops whose decomposition the int8 and TOSA
#: paths lower (stack into cat, glu into slices, sigmoid and mul,
#: pixel_shuffle into reshapes and a transpose, unbind into slices) stay
#: decomposed, so quantized and NPU graphs keep them inside.
KEPT_WHOLE = tuple(getattr(aten, name).default for name in (
    "roll", "tril", "select_scatter",
    "reflection_pad1d", "reflection_pad2d", "reflection_pad3d",
    "replication_pad1d", "replication_pad2d", "replication_pad3d"))
