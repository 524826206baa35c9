"""Decompositions ptec adds to core ATen's (export.py uses them).

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
