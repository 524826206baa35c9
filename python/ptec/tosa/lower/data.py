"""TOSA converters for ops that only move values (both profiles): reshapes,
permutes, slices, cat, pad, expand and copies.

A permute or a copy usually emits nothing: the result is the input's tensor
under another perm (context.py). Ops that index dimensions (cat, slice, pad)
work in their input's layout with the dimensions mapped through its perm.
"""
from __future__ import annotations

import numpy as np
import torch

from ..schema import DType, Op
from .context import NHWC, Lowering, Unsupported, fx_val, identity, inverse, tosa_dtype

aten = torch.ops.aten


def _check(lw: Lowering, node, x) -> None:
    lw.require_profile(tosa_dtype(fx_val(x).dtype, "the input"), "the input")


def convert_reshape(lw: Lowering, node) -> None:
    x = node.args[0]
    _check(lw, node, x)
    shape = list(fx_val(node).shape)
    st = lw.stored_of(x)
    perm = _unit_reshape_perm(list(fx_val(x).shape), st.perm, shape)
    if perm is not None:  # only size-1 dims come or go: keep the stored order
        lw.set(node, lw.reshape(st.tensor, [shape[p] for p in perm], node.name), perm)
        return
    lw.set(node, lw.reshape(lw.value(x), shape, node.name))


def _unit_reshape_perm(in_shape: list[int], in_perm: tuple, out_shape: list[int]):
    """For a reshape that only inserts or removes size-1 dims (a 1-D convolution's
    unsqueeze before and squeeze after its 2-D form) of a tensor stored permuted
    (NHWC after a convolution), a layout of the output whose stored order is a
    RESHAPE of the input's stored tensor: no TRANSPOSE either side. NHWC for a
    4-D result where it fits, else the logical order where it fits, else the
    input's order of the non-unit dims. None when the input is stored in logical
    order (nothing to keep) or the reshape moves real dims."""
    if tuple(in_perm) == identity(len(in_shape)):
        return None
    real_in = [d for d in in_perm if in_shape[d] != 1]            # stored order
    real_out = [d for d in range(len(out_shape)) if out_shape[d] != 1]
    if [in_shape[d] for d in sorted(real_in)] != [out_shape[d] for d in real_out]:
        return None
    # out's real dims, in the order the input stores their counterparts
    rank_in_logical = {d: i for i, d in enumerate(sorted(real_in))}
    wanted = [real_out[rank_in_logical[d]] for d in real_in]
    for candidate in ((NHWC,) if len(out_shape) == 4 else ()) + (identity(len(out_shape)),):
        if [d for d in candidate if out_shape[d] != 1] == wanted:
            return tuple(candidate)
    perm, fill = list(identity(len(out_shape))), iter(wanted)
    return tuple(next(fill) if out_shape[d] != 1 else d for d in perm)


def convert_permute(lw: Lowering, node) -> None:
    x = node.args[0]
    _check(lw, node, x)
    rank = fx_val(x).dim()
    if node.target is aten.permute_copy.default:
        dims = [d % rank for d in node.args[1]]
    elif node.target is aten.t_copy.default:
        dims = [1, 0] if rank == 2 else [0]
    else:  # transpose_copy.int
        d0, d1 = node.args[1] % rank, node.args[2] % rank
        dims = list(range(rank))
        dims[d0], dims[d1] = dims[d1], dims[d0]
    # out = in.permute(dims): out dim j is in dim dims[j]. The input's tensor is
    # in.permute(p), so it is out.permute(inverse(dims)[p[i]] for each i).
    inv = inverse(dims)
    st = lw.stored_of(x)
    lw.set(node, st.tensor, [inv[p] for p in st.perm])


def convert_copy(lw: Lowering, node) -> None:
    """clone, alias, detach, _to_copy without a dtype change: the same values.
    A dtype change with a float side is CAST (convert_cast)."""
    x = node.args[0]
    _check(lw, node, x)
    st = lw.stored_of(x)
    if fx_val(node).dtype != fx_val(x).dtype:
        convert_cast(lw, node, st)
        return
    lw.set(node, st.tensor, st.perm)


def convert_cast(lw: Lowering, node, st) -> None:
    """x.to(dtype) as TOSA CAST, where TOSA's rounding is PyTorch's: between
    FP32 and FP16/BF16 (round to nearest even, overflow to infinity) and from
    int8/16/32 to a float type (PyTorch converts through float32, as the
    executor does). FP16 <-> BF16 is two CASTs through FP32 (TOSA has no
    direct one; widening to FP32 is exact, so one rounding, as PyTorch).
    Float to INT32: PyTorch truncates toward zero and TOSA's CAST rounds to
    nearest even, so the value is truncated first, exactly, in its own type:
    SELECT(x >= 0, FLOOR(x), CEIL(x)), then CAST (of an integral value: no
    rounding). Values outside int32 are undefined behaviour in PyTorch (x86
    gives INT_MIN); CAST saturates. Float to INT8/INT16 stays on the CPU:
    PyTorch wraps out-of-range values, CAST saturates."""
    src = tosa_dtype(fx_val(node.args[0]).dtype, "the input")
    dst = tosa_dtype(fx_val(node).dtype, "the result")
    if src not in FLOAT_TYPES and dst not in FLOAT_TYPES:
        raise Unsupported("an integer-to-integer conversion (the CAST lowering covers "
                          "conversions with a float side)")
    if src in FLOAT_TYPES and dst != DType.INT32 and dst not in FLOAT_TYPES:
        raise Unsupported(f"a {src.name} to {dst.name} conversion: PyTorch wraps values out of "
                          f"range, TOSA CAST saturates them")
    lw.require_profile(dst, "the result")
    if src == DType.BOOL:
        raise Unsupported("a bool to float conversion (TOSA has no such CAST)")
    shape = list(st.tensor.shape)
    t = st.tensor
    if src in FLOAT_TYPES and dst == DType.INT32:
        zero = lw.const(f"{node.name}_zero", np.zeros([1] * len(shape)), src)
        ge = lw.op(Op.GREATER_EQUAL, [t, zero], shape, DType.BOOL, f"{node.name}_ge")
        down = lw.op(Op.FLOOR, [t], shape, src, f"{node.name}_floor")
        up = lw.op(Op.CEIL, [t], shape, src, f"{node.name}_ceil")
        t = lw.op(Op.SELECT, [ge, down, up], shape, src, f"{node.name}_trunc")
    if src in FLOAT_TYPES and DType.FP32 not in (src, dst):
        t = lw.op(Op.CAST, [t], shape, DType.FP32, f"{node.name}_fp32")
    lw.set(node, lw.op(Op.CAST, [t], shape, dst, node.name), st.perm)


FLOAT_TYPES = (DType.FP32, DType.FP16, DType.BF16)


def convert_slice(lw: Lowering, node) -> None:
    x, dim, *rest = node.args
    _check(lw, node, x)
    shape = list(fx_val(x).shape)
    rank = len(shape)
    dim = dim % rank
    start, end, step = (list(rest) + [None, None, 1])[:3]
    step = 1 if step is None else step
    if step != 1:
        raise Unsupported(f"a slice with step {step} (TOSA SLICE is contiguous)")
    start = 0 if start is None else start
    end = shape[dim] if end is None else end
    start = max(0, min(shape[dim], start + shape[dim] if start < 0 else start))
    end = max(start, min(shape[dim], end + shape[dim] if end < 0 else end))
    if end == start:
        raise Unsupported("an empty slice")
    perm = lw.perm_of(x)
    xt = lw.value(x, perm)
    begin = [0] * rank
    size = list(xt.shape)
    axis = perm.index(dim)
    begin[axis], size[axis] = start, end - start
    y = lw.op(Op.SLICE, [xt, lw.shape(f"{node.name}_start", begin),
                         lw.shape(f"{node.name}_size", size)], size, xt.dtype, node.name)
    lw.set(node, y, perm)


def convert_select(lw: Lowering, node) -> None:
    x, dim, index = node.args
    _check(lw, node, x)
    shape = list(fx_val(x).shape)
    dim = dim % len(shape)
    index = index % shape[dim]
    begin = [0] * len(shape)
    size = list(shape)
    begin[dim], size[dim] = index, 1
    xt = lw.value(x)
    y = lw.op(Op.SLICE, [xt, lw.shape(f"{node.name}_start", begin),
                         lw.shape(f"{node.name}_size", size)], size, xt.dtype, node.name)
    lw.set(node, lw.reshape(y, list(fx_val(node).shape), f"{node.name}_out"))


def convert_cat(lw: Lowering, node) -> None:
    tensors, *rest = node.args
    dim = rest[0] if rest else node.kwargs.get("dim", 0)
    for t in tensors:
        _check(lw, node, t)
    rank = fx_val(node).dim()
    if any(fx_val(t).dim() != rank for t in tensors):
        raise Unsupported("cat of tensors of different ranks (empty tensors)")
    perm = lw.perm_of(tensors[0])
    parts = [lw.value(t, perm) for t in tensors]
    axis = perm.index(dim % rank)
    shape = list(parts[0].shape)
    shape[axis] = sum(p.shape[axis] for p in parts)
    lw.set(node, lw.op(Op.CONCAT, parts, shape, parts[0].dtype, node.name, axis=axis), perm)


def convert_pad(lw: Lowering, node) -> None:
    x, pad, *rest = node.args
    value = rest[0] if rest else node.kwargs.get("value", 0.0)
    _check(lw, node, x)
    shape = list(fx_val(x).shape)
    rank = len(shape)
    if any(p < 0 for p in pad):
        raise Unsupported("negative padding (a crop)")
    lo_hi = [[0, 0] for _ in range(rank)]
    for i in range(len(pad) // 2):  # PyTorch lists the last dimension first
        lo_hi[rank - 1 - i] = [int(pad[2 * i]), int(pad[2 * i + 1])]
    perm = lw.perm_of(x)
    xt = lw.value(x, perm)
    padding = [v for axis in range(rank) for v in lo_hi[perm[axis]]]
    out = [xt.shape[a] + sum(lo_hi[perm[a]]) for a in range(rank)]
    pad_const = lw.const(f"{node.name}_value", [value], xt.dtype)
    y = lw.op(Op.PAD, [xt, lw.shape(f"{node.name}_padding", padding), pad_const], out, xt.dtype,
              node.name)
    lw.set(node, y, perm)


def convert_expand(lw: Lowering, node) -> None:
    x = node.args[0]
    _check(lw, node, x)
    out = list(fx_val(node).shape)
    src = [1] * (len(out) - fx_val(x).dim()) + list(fx_val(x).shape)
    xt = lw.reshape(lw.value(x), src, f"{node.name}_rank")
    if any(s not in (1, o) for s, o in zip(src, out)):
        raise Unsupported("an expand that is not a broadcast of size-1 dimensions")
    multiples = [o if s == 1 else 1 for s, o in zip(src, out)]
    if all(m == 1 for m in multiples):
        lw.set(node, xt)
        return
    y = lw.op(Op.TILE, [xt, lw.shape(f"{node.name}_multiples", multiples)], out, xt.dtype,
              node.name)
    lw.set(node, y, identity(len(out)))


CONVERTERS = {
    aten.view_copy.default: convert_reshape,
    aten._unsafe_view.default: convert_reshape,
    aten.unsqueeze_copy.default: convert_reshape,
    aten.squeeze_copy.dims: convert_reshape,
    aten.squeeze_copy.dim: convert_reshape,
    aten.squeeze_copy.default: convert_reshape,
    aten.permute_copy.default: convert_permute,
    aten.t_copy.default: convert_permute,
    aten.transpose_copy.int: convert_permute,
    aten.clone.default: convert_copy,
    aten.alias_copy.default: convert_copy,
    aten.detach_copy.default: convert_copy,
    aten._to_copy.default: convert_copy,
    aten.slice_copy.Tensor: convert_slice,
    aten.select_copy.int: convert_select,
    aten.cat.default: convert_cat,
    aten.constant_pad_nd.default: convert_pad,
    aten.expand_copy.default: convert_expand,
}
