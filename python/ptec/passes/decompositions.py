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


EXTRA = {
    aten.__lshift__.Scalar: _same_as(aten.bitwise_left_shift.Tensor_Scalar),
    aten.__lshift__.Tensor: _same_as(aten.bitwise_left_shift.Tensor),
    aten.__rshift__.Scalar: _same_as(aten.bitwise_right_shift.Tensor_Scalar),
    aten.__rshift__.Tensor: _same_as(aten.bitwise_right_shift.Tensor),
}


#: Operators core ATen decomposes that ExecuTorch's portable library (and
#: ptec's runtime) has a kernel for: one kernel instead of index arithmetic
#: (reflection padding decomposes into arange, abs, sub and index calls).
#: Integer and TOSA targets run them as float kernels with the reason given.
KEPT_WHOLE = tuple(getattr(aten, name).default for name in (
    "roll", "tril", "pixel_shuffle", "pixel_unshuffle", "select_scatter", "glu", "logit", "stack",
    "reflection_pad1d", "reflection_pad2d", "reflection_pad3d",
    "replication_pad1d", "replication_pad2d", "replication_pad3d")) + (aten.unbind.int,)
