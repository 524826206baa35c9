"""Torch types as the program format numbers them.

ScalarType, MemoryFormat and Layout are serialised as plain integers (Int
values, Tensor.scalar_type); these tables give the numbers, which are
c10's, as ExecuTorch uses them.
"""
from __future__ import annotations

from typing import Sequence

import torch

from .pte.schema import ScalarType

SCALAR_TYPES: dict[torch.dtype, ScalarType] = {
    torch.uint8: ScalarType.BYTE,
    torch.int8: ScalarType.CHAR,
    torch.int16: ScalarType.SHORT,
    torch.int32: ScalarType.INT,
    torch.int64: ScalarType.LONG,
    torch.float16: ScalarType.HALF,
    torch.float32: ScalarType.FLOAT,
    torch.float64: ScalarType.DOUBLE,
    torch.complex32: ScalarType.COMPLEX_HALF,
    torch.complex64: ScalarType.COMPLEX_FLOAT,
    torch.complex128: ScalarType.COMPLEX_DOUBLE,
    torch.bool: ScalarType.BOOL,
    torch.qint8: ScalarType.QINT8,
    torch.quint8: ScalarType.QUINT8,
    torch.qint32: ScalarType.QINT32,
    torch.bfloat16: ScalarType.BFLOAT16,
    torch.quint4x2: ScalarType.QUINT4X2,
    torch.quint2x4: ScalarType.QUINT2X4,
    torch.bits16: ScalarType.BITS16,
    torch.float8_e5m2: ScalarType.FLOAT8E5M2,
    torch.float8_e4m3fn: ScalarType.FLOAT8E4M3FN,
    torch.float8_e5m2fnuz: ScalarType.FLOAT8E5M2FNUZ,
    torch.float8_e4m3fnuz: ScalarType.FLOAT8E4M3FNUZ,
    torch.uint16: ScalarType.UINT16,
    torch.uint32: ScalarType.UINT32,
    torch.uint64: ScalarType.UINT64,
}

#: c10::MemoryFormat numbering.
MEMORY_FORMATS: dict[torch.memory_format, int] = {
    torch.contiguous_format: 0,
    torch.preserve_format: 1,
    torch.channels_last: 2,
    torch.channels_last_3d: 3,
}

#: c10::Layout numbering.
LAYOUTS: dict[torch.layout, int] = {torch.strided: 0, torch.sparse_coo: 1}


def scalar_type(dtype: torch.dtype) -> ScalarType:
    """The program's number for a torch dtype."""
    try:
        return SCALAR_TYPES[dtype]
    except KeyError:
        raise ValueError(f"dtype {dtype} has no ExecuTorch ScalarType") from None


def element_size(dtype: torch.dtype) -> int:
    return torch.empty((), dtype=dtype).element_size()


def dim_order_from_strides(strides: Sequence[int]) -> list[int]:
    """Dimensions from outermost to innermost, by decreasing stride.

    Equal strides keep their logical order (a stable sort), which is what
    ExecuTorch's dim_order_from_stride does: size-1 dimensions of a
    contiguous tensor stay in place, and a (1, C, 1, 1) channels-last tensor
    with strides (C, 1, C, C) gets 0, 2, 3, 1.
    """
    return [d for d, _ in sorted(enumerate(strides), key=lambda item: -item[1])]


def strides_from_dim_order(sizes: Sequence[int], dim_order: Sequence[int]) -> list[int]:
    """Element strides of a dense tensor laid out in `dim_order` (outermost first)."""
    strides = [0] * len(sizes)
    step = 1
    for d in reversed(dim_order):
        strides[d] = step
        step *= max(sizes[d], 1)
    return strides
