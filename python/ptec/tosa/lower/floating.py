"""TOSA FP converters for the fp32 core-ATen operators of the example models.

Operators with a TOSA counterpart map one to one (CONV2D, MATMUL, ADD,
SIGMOID, ...); composite ones are written out the way PyTorch defines them
(softmax = exp(x - max) / sum, layer norm, GELU with ERF, batch norm as one
multiply-add with constants folded here). Results are checked against
PyTorch eager within the FP profile's tolerance.
"""
from __future__ import annotations

import math
import operator

import numpy as np
import torch

from ..schema import DType, Op
from .context import NHWC, Lowering, Unsupported, fx_val, tosa_dtype
from .windows import conv_weight, nhwc_windowed, pair, windowed

aten = torch.ops.aten
F32 = DType.FP32
FLOAT_MAX = float(np.finfo(np.float32).max)


#: The half types TOSA FP has: FP16 in PRO-FP, BF16 in its EXT-BF16 extension.
HALF = (DType.FP16, DType.BF16)


def _float(lw: Lowering, node, what: str = "the input", half: bool = False) -> DType:
    """Checks a float operand and returns its TOSA dtype, which the converter's
    results and constants take (_ft). `half`: the converter also lowers FP16 and BF16:
    those whose TOSA arithmetic rounds as PyTorch's CPU kernels do (a dot product
    accumulated in FP32 and rounded once, correctly rounded ADD/SUB/MUL, exact
    CLAMP/MAXIMUM/MINIMUM/pooling max, AVG_POOL2D with an FP32 accumulator). The
    others (softmax, norms, GELU, ...) would round their intermediates in the half
    type where PyTorch keeps float32, so they stay on the CPU for half inputs."""
    dtype = tosa_dtype(fx_val(node).dtype, what)
    if dtype != F32 and not (half and dtype in HALF):
        raise Unsupported(f"{what} is {dtype.name}; this converter handles "
                          f"{'FP32, FP16 and BF16' if half else 'FP32'}")
    lw.require_profile(dtype, what)
    lw.float_type = dtype
    return dtype


def _ft(lw: Lowering) -> DType:
    """The float dtype of the operator being converted (set by _float)."""
    return getattr(lw, "float_type", F32)


def _torch_half(lw: Lowering) -> torch.dtype:
    return torch.float16 if _ft(lw) == DType.FP16 else torch.bfloat16


def _numpy(t: torch.Tensor) -> np.ndarray:
    """A constant's values as numpy (which has no bfloat16: float32 then, exact)."""
    return (t.float() if t.dtype == torch.bfloat16 else t).numpy()


def _only_first_result_used(node) -> None:
    for user in node.users:
        if user.target is not operator.getitem or (user.args[1] != 0 and user.users):
            raise Unsupported("a result other than the first is used")


def _scalar(lw: Lowering, value: float, rank: int, base: str):
    return lw.const(base, np.full([1] * rank, value, np.float32), _ft(lw))


def _is_tensor(x) -> bool:
    return isinstance(x, (torch.fx.Node, tuple))


def _binary(lw: Lowering, op: Op, a, b, base: str):
    """op(a, b) with TOSA's equal-rank broadcasting. a or b may be a Python number
    or a converter's own stored key."""
    if not _is_tensor(a):
        a, b = b, a
        if op not in (Op.ADD, Op.MUL, Op.MAXIMUM, Op.MINIMUM):
            raise Unsupported("a number on the left of a non-commutative op")
    types = {_float(lw, x, "an operand", half=op != Op.RECIPROCAL)
             for x in (a, b) if isinstance(x, torch.fx.Node)}
    if len(types) > 1:  # PyTorch promotes inside the op; TOSA's operands share one type
        raise Unsupported(f"operands of different types ({', '.join(sorted(t.name for t in types))})")
    if _is_tensor(b):
        operands, perm = lw.same_layout([a, b], base)
    else:
        if _ft(lw) in HALF and float(torch.tensor(float(b)).to(_torch_half(lw))) != float(b):
            # PyTorch applies a Python scalar to a half tensor in float32; a TOSA constant
            # would round it to the half type first.
            raise Unsupported(f"the scalar {b} is not exact in {_ft(lw).name}")
        operands, perm = lw.same_layout([a], base)
        operands.append(_scalar(lw, float(b), len(perm), f"{base}_scalar"))
    shape = [max(p, q) for p, q in zip(operands[0].shape, operands[1].shape)]
    if op == Op.MUL:
        operands.append(lw.const(f"{base}_shift0", [0], DType.INT8))
    return lw.op(op, operands, shape, _ft(lw), base), perm


def convert_binary(op: Op, scaled: bool = False):
    def convert(lw: Lowering, node) -> None:
        a, b = node.args[:2]
        alpha = node.kwargs.get("alpha", node.args[2] if len(node.args) > 2 else 1)
        if scaled and alpha != 1:
            if isinstance(b, torch.fx.Node):
                scaled_b, perm = _binary(lw, Op.MUL, b, float(alpha), f"{node.name}_alpha")
                lw.set(("alpha", node), scaled_b, perm)
                b = ("alpha", node)
            else:
                b = float(b) * alpha
        lw.set(node, *_binary(lw, op, a, b, node.name))
    return convert


def convert_div(lw: Lowering, node) -> None:
    a, b = node.args[:2]
    if node.kwargs.get("rounding_mode") is not None:
        raise Unsupported("division with a rounding mode")
    if tosa_dtype(fx_val(node).dtype, "the result") in HALF:
        # x * round(1 / y) is not round(x / y) in a half type (PyTorch divides in float32).
        raise Unsupported("a half-type division (TOSA has RECIPROCAL and MUL, not DIV)")
    if not isinstance(b, torch.fx.Node):
        lw.set(node, *_binary(lw, Op.MUL, a, 1.0 / float(b), node.name))
        return
    _float(lw, b, "the divisor")
    bt = lw.value(b, lw.perm_of(b))
    lw.set(("recip", node), lw.op(Op.RECIPROCAL, [bt], bt.shape, F32, f"{node.name}_recip"),
           lw.perm_of(b))
    lw.set(node, *_binary(lw, Op.MUL, a, ("recip", node), node.name))


def convert_unary(op: Op):
    def convert(lw: Lowering, node) -> None:
        x = node.args[0]
        _float(lw, x)
        perm = lw.perm_of(x)
        xt = lw.value(x, perm)
        inputs = [xt]
        if op == Op.NEGATE:
            inputs += [lw.zero_point(0, F32), lw.zero_point(0, F32)]
        lw.set(node, lw.op(op, inputs, xt.shape, F32, node.name), perm)
    return convert


def _clamp(lw: Lowering, node, lo, hi) -> None:
    x = node.args[0]
    _float(lw, x, half=True)
    perm = lw.perm_of(x)
    xt = lw.value(x, perm)
    lo = -FLOAT_MAX if lo is None else float(lo)
    hi = FLOAT_MAX if hi is None else float(hi)
    if _ft(lw) in HALF:  # the bounds are in the input's type: the largest finite half value
        big = float(torch.finfo(_torch_half(lw)).max)
        lo, hi = max(lo, -big), min(hi, big)
    lw.set(node, lw.op(Op.CLAMP, [xt], xt.shape, _ft(lw), node.name, min_val=lo, max_val=hi,
                       nan_mode=1), perm)


def convert_relu(lw, node):
    _clamp(lw, node, 0.0, None)


def convert_hardtanh(lw, node):
    lo = node.args[1] if len(node.args) > 1 else -1.0
    hi = node.args[2] if len(node.args) > 2 else 1.0
    _clamp(lw, node, lo, hi)


def convert_clamp(lw, node):
    args = list(node.args) + [None, None]
    _clamp(lw, node, node.kwargs.get("min", args[1]), node.kwargs.get("max", args[2]))


def _chain(lw: Lowering, node, steps) -> None:
    """x through a list of (op, operand or None) steps, in x's layout."""
    x = node.args[0]
    _float(lw, x)
    perm = lw.perm_of(x)
    xt = lw.value(x, perm)
    rank = len(xt.shape)
    cur = xt
    for k, step in enumerate(steps):
        cur = step(lw, xt, cur, rank, f"{node.name}_{k}")
    lw.set(node, cur, perm)


def _mul(lw, a, b, base):
    return lw.op(Op.MUL, [a, b, lw.const(f"{base}_s", [0], DType.INT8)],
                 [max(p, q) for p, q in zip(a.shape, b.shape)], F32, base)


def convert_gelu(lw: Lowering, node) -> None:
    if node.kwargs.get("approximate", "none") != "none":
        raise Unsupported("the tanh approximation of GELU")
    # x * 0.5 * (1 + erf(x / sqrt(2)))
    _chain(lw, node, [
        lambda lw, x, c, r, b: _mul(lw, x, _scalar(lw, 1 / math.sqrt(2), r, f"{b}_c"), b),
        lambda lw, x, c, r, b: lw.op(Op.ERF, [c], c.shape, F32, b),
        lambda lw, x, c, r, b: lw.op(Op.ADD, [c, _scalar(lw, 1.0, r, f"{b}_c")], c.shape, F32, b),
        lambda lw, x, c, r, b: _mul(lw, c, _scalar(lw, 0.5, r, f"{b}_c"), b),
        lambda lw, x, c, r, b: _mul(lw, x, c, b),
    ])


def convert_hardswish(lw: Lowering, node) -> None:
    # x * clamp(x + 3, 0, 6) / 6
    _chain(lw, node, [
        lambda lw, x, c, r, b: lw.op(Op.ADD, [x, _scalar(lw, 3.0, r, f"{b}_c")], x.shape, F32, b),
        lambda lw, x, c, r, b: lw.op(Op.CLAMP, [c], c.shape, F32, b, min_val=0.0, max_val=6.0,
                                     nan_mode=1),
        lambda lw, x, c, r, b: _mul(lw, c, _scalar(lw, 1 / 6, r, f"{b}_c"), b),
        lambda lw, x, c, r, b: _mul(lw, x, c, b),
    ])


def convert_silu(lw: Lowering, node) -> None:
    _chain(lw, node, [
        lambda lw, x, c, r, b: lw.op(Op.SIGMOID, [x], x.shape, F32, b),
        lambda lw, x, c, r, b: _mul(lw, x, c, b),
    ])


def convert_convolution(lw: Lowering, node) -> None:
    x, w, b, stride, padding, dilation, transposed, output_padding, groups = node.args
    ft = _float(lw, x, half=True)
    if transposed:
        raise Unsupported("a transposed convolution")
    if fx_val(x).dim() != 4:
        raise Unsupported("a convolution that is not 2-D")
    weight = _numpy(lw.real(w, "the weight"))
    out_channels, in_per_group, kh, kw = weight.shape
    in_channels = fx_val(x).shape[1]
    stride, dilation = pair(stride), pair(dilation)
    xt, pad = nhwc_windowed(lw, x, (kh, kw), stride, padding, dilation, node.name)
    op, wt = conv_weight(weight, groups, in_channels)
    bias = (np.zeros(out_channels, np.float32) if b is None
            else _numpy(lw.real(b, "the bias")).astype(np.float32))
    out = fx_val(node).shape
    # acc_type FP32 for every input type: PyTorch accumulates half convolutions in float32.
    y = lw.op(op, [xt, lw.const(f"{node.name}_weight", np.ascontiguousarray(wt), ft),
                   lw.const(f"{node.name}_bias", bias, ft), lw.zero_point(0, ft),
                   lw.zero_point(0, ft)],
              [out[0], out[2], out[3], out[1]], ft, node.name, pad=pad, stride=stride,
              dilation=dilation, local_bound=False, acc_type=F32)
    lw.set(node, y, NHWC)


def _fully_connected(lw: Lowering, node, x, weight_kn: np.ndarray, bias: np.ndarray | None):
    """x [M, K] @ W [K, N] (+ bias) as a 1x1 CONV2D: TOSA FP has no FULLY_CONNECTED."""
    ft = _float(lw, x, half=True)
    rows, k = fx_val(x).shape
    n = weight_kn.shape[1]
    x4 = lw.reshape(lw.value(x), [rows, 1, 1, k], f"{node.name}_rows")
    bias = np.zeros(n, np.float32) if bias is None else bias.astype(np.float32)
    y = lw.op(Op.CONV2D, [x4, lw.const(f"{node.name}_weight", weight_kn.T.reshape(n, 1, 1, k), ft),
                          lw.const(f"{node.name}_bias", bias, ft), lw.zero_point(0, ft),
                          lw.zero_point(0, ft)],
              [rows, 1, 1, n], ft, f"{node.name}_fc", pad=[0, 0, 0, 0], stride=[1, 1],
              dilation=[1, 1], local_bound=False, acc_type=F32)
    lw.set(node, lw.reshape(y, [rows, n], node.name))


def _matmul(lw: Lowering, node, a, b) -> None:
    ft = _float(lw, a, "the first operand", half=True)
    if _float(lw, b, "the second operand", half=True) != ft:
        raise Unsupported("the operands' dtypes differ")
    sa, sb = list(fx_val(a).shape), list(fx_val(b).shape)
    if sa[:-2] != sb[:-2]:
        raise Unsupported("the operands' batch dimensions differ")
    batch = int(np.prod(sa[:-2])) if len(sa) > 2 else 1
    a3 = lw.reshape(lw.value(a), [batch, sa[-2], sa[-1]], f"{node.name}_a")
    b3 = lw.reshape(lw.value(b), [batch, sb[-2], sb[-1]], f"{node.name}_b")
    y = lw.op(Op.MATMUL, [a3, b3, lw.zero_point(0, ft), lw.zero_point(0, ft)],
              [batch, sa[-2], sb[-1]], ft, f"{node.name}_mm")
    lw.set(node, lw.reshape(y, list(fx_val(node).shape), node.name))


def convert_addmm(lw: Lowering, node) -> None:
    bias, x, w = node.args[:3]
    if node.kwargs.get("beta", 1) != 1 or node.kwargs.get("alpha", 1) != 1:
        raise Unsupported("addmm with beta or alpha")
    if isinstance(w, torch.fx.Node) and w.op == "get_attr" and \
            isinstance(bias, torch.fx.Node) and bias.op == "get_attr" and fx_val(bias).dim() == 1:
        _fully_connected(lw, node, x, _numpy(lw.real(w, "the weight")),
                         _numpy(lw.real(bias, "the bias")))
        return
    raise Unsupported("addmm with a weight or bias computed at run time")


def convert_mm(lw: Lowering, node) -> None:
    x, w = node.args
    if isinstance(w, torch.fx.Node) and w.op == "get_attr":
        _fully_connected(lw, node, x, _numpy(lw.real(w, "the weight")), None)
    else:
        _matmul(lw, node, x, w)


def convert_bmm(lw: Lowering, node) -> None:
    _matmul(lw, node, *node.args[:2])


def convert_avg_pool2d(lw: Lowering, node) -> None:
    x, kernel, *rest = node.args
    rest += [None] * (5 - len(rest))
    stride, padding, ceil_mode, count_include_pad, divisor = rest[:5]
    ft = _float(lw, x, half=True)
    if ceil_mode or divisor is not None:
        raise Unsupported("ceil_mode or divisor_override")
    kernel = pair(kernel)
    stride = pair(stride or [], kernel)
    padding = pair(padding or [0])
    xt = lw.value(x, NHWC)
    pad = [padding[0], padding[0], padding[1], padding[1]]
    if count_include_pad is not False and any(pad):
        # TOSA's average excludes the padding; PyTorch's counts it: pad with zeros first.
        shape = [xt.shape[0], xt.shape[1] + 2 * pad[0], xt.shape[2] + 2 * pad[2], xt.shape[3]]
        xt = lw.op(Op.PAD, [xt, lw.shape(f"{node.name}_padding", [0, 0] + pad + [0, 0]),
                            lw.zero_point(0, ft)], shape, ft, f"{node.name}_pad")
        pad = [0, 0, 0, 0]
    xt, pad = windowed(lw, xt, kernel, stride, pad, [1, 1], node.name)
    out = fx_val(node).shape
    y = lw.op(Op.AVG_POOL2D, [xt, lw.zero_point(0, ft), lw.zero_point(0, ft)],
              [out[0], out[2], out[3], out[1]], ft, node.name, kernel=kernel, stride=stride,
              pad=pad, acc_type=F32)
    lw.set(node, y, NHWC)


def convert_max_pool2d(lw: Lowering, node) -> None:
    x, kernel, *rest = node.args
    rest += [None] * (4 - len(rest))
    stride, padding, dilation, ceil_mode = rest[:4]
    ft = _float(lw, x, half=True)
    _only_first_result_used(node)
    if ceil_mode or any(d != 1 for d in (dilation or [1])):
        raise Unsupported("ceil_mode or dilation")
    kernel = pair(kernel)
    stride = pair(stride or [], kernel)
    padding = pair(padding or [0])
    xt, pad = nhwc_windowed(lw, x, kernel, stride, padding, [1, 1], node.name)
    out = node.meta["val"][0].shape
    y = lw.op(Op.MAX_POOL2D, [xt], [out[0], out[2], out[3], out[1]], ft, node.name,
              kernel=kernel, stride=stride, pad=pad, nan_mode=1)
    lw.set(node, y, NHWC, index=0)


def _reduce(lw: Lowering, op: Op, xt, axes, base: str):
    for axis in sorted(axes):
        shape = list(xt.shape)
        shape[axis] = 1
        attrs = {"axis": axis}
        if op == Op.REDUCE_MAX:
            attrs["nan_mode"] = 1
        xt = lw.op(op, [xt], shape, F32, base, **attrs)
    return xt


def convert_mean(lw: Lowering, node) -> None:
    x, dims, *rest = node.args
    keepdim = rest[0] if rest else node.kwargs.get("keepdim", False)
    _float(lw, x)
    if node.kwargs.get("dtype") is not None:
        raise Unsupported("mean with a dtype")
    rank = fx_val(x).dim()
    dims = [d % rank for d in (dims if dims else range(rank))]
    perm = lw.perm_of(x)
    xt = lw.value(x, perm)
    axes = [perm.index(d) for d in dims]
    total = _reduce(lw, Op.REDUCE_SUM, xt, axes, f"{node.name}_sum")
    count = int(np.prod([xt.shape[a] for a in axes]))
    y = _mul(lw, total, _scalar(lw, 1.0 / count, rank, f"{node.name}_n"), node.name)
    lw.set_reduced(node, y, perm, keepdim)


def convert_softmax(lw: Lowering, node) -> None:
    x, dim = node.args[:2]
    _float(lw, x)
    rank = fx_val(x).dim()
    perm = lw.perm_of(x)
    xt = lw.value(x, perm)
    axis = perm.index(dim % rank)
    peak = _reduce(lw, Op.REDUCE_MAX, xt, [axis], f"{node.name}_max")
    shifted = lw.op(Op.SUB, [xt, peak], xt.shape, F32, f"{node.name}_sub")
    e = lw.op(Op.EXP, [shifted], xt.shape, F32, f"{node.name}_exp")
    total = _reduce(lw, Op.REDUCE_SUM, e, [axis], f"{node.name}_sum")
    recip = lw.op(Op.RECIPROCAL, [total], total.shape, F32, f"{node.name}_recip")
    lw.set(node, _mul(lw, e, recip, node.name), perm)


def convert_layer_norm(lw: Lowering, node) -> None:
    x, shape, w, b, eps = node.args
    _float(lw, x)
    _only_first_result_used(node)
    rank = fx_val(x).dim()
    xt = lw.value(x)
    axes = list(range(rank - len(shape), rank))
    count = float(np.prod(shape))
    inv_n = _scalar(lw, 1.0 / count, rank, f"{node.name}_n")
    mean = _mul(lw, _reduce(lw, Op.REDUCE_SUM, xt, axes, f"{node.name}_sum"), inv_n,
                f"{node.name}_mean")
    d = lw.op(Op.SUB, [xt, mean], xt.shape, F32, f"{node.name}_d")
    var = _mul(lw, _reduce(lw, Op.REDUCE_SUM, _mul(lw, d, d, f"{node.name}_sq"), axes,
                           f"{node.name}_sqsum"), inv_n, f"{node.name}_var")
    var = lw.op(Op.ADD, [var, _scalar(lw, float(eps), rank, f"{node.name}_eps")], var.shape, F32,
                f"{node.name}_vareps")
    y = _mul(lw, d, lw.op(Op.RSQRT, [var], var.shape, F32, f"{node.name}_rstd"),
             f"{node.name}_norm")
    affine_shape = [1] * (rank - len(shape)) + list(shape)
    if w is not None:
        weight = lw.real(w, "the weight").numpy().reshape(affine_shape)
        y = _mul(lw, y, lw.const(f"{node.name}_weight", weight, F32), f"{node.name}_scaled")
    if b is not None:
        bias = lw.real(b, "the bias").numpy().reshape(affine_shape)
        y = lw.op(Op.ADD, [y, lw.const(f"{node.name}_bias", bias, F32)], y.shape, F32,
                  f"{node.name}_out")
    lw.set(node, y, index=0)


def convert_batch_norm(lw: Lowering, node) -> None:
    """Inference batch norm = x * scale + shift per channel, both folded here."""
    x, w, b, mean, var, momentum, eps = node.args
    _float(lw, x)
    _only_first_result_used(node)
    c = fx_val(x).shape[1]
    rank = fx_val(x).dim()
    mean_v = lw.real(mean, "the running mean").double().numpy()
    var_v = lw.real(var, "the running variance").double().numpy()
    w_v = np.ones(c) if w is None else lw.real(w, "the weight").double().numpy()
    b_v = np.zeros(c) if b is None else lw.real(b, "the bias").double().numpy()
    scale = w_v / np.sqrt(var_v + eps)
    shift = b_v - mean_v * scale
    perm = lw.perm_of(x)
    xt = lw.value(x, perm)
    shape = [1] * rank
    shape[perm.index(1)] = c
    y = _mul(lw, xt, lw.const(f"{node.name}_scale", scale.reshape(shape), F32),
             f"{node.name}_mul")
    y = lw.op(Op.ADD, [y, lw.const(f"{node.name}_shift", shift.reshape(shape), F32)], y.shape,
              F32, node.name)
    lw.set(node, y, perm, index=0)


def _bool(lw: Lowering, node, what: str = "the input") -> None:
    if tosa_dtype(fx_val(node).dtype, what) != DType.BOOL:
        raise Unsupported(f"{what} is not bool")


def convert_eq(lw: Lowering, node) -> None:
    """x == c (a number or a tensor) -> EQUAL, bool out."""
    a, b = node.args[:2]
    _float(lw, a)
    perm = lw.perm_of(a)
    at = lw.value(a, perm)
    if isinstance(b, torch.fx.Node):
        _float(lw, b, "the other operand")
        if fx_val(b).dim() != fx_val(a).dim():
            raise Unsupported("operands of different ranks")
        bt = lw.value(b, perm)
    else:
        bt = _scalar(lw, float(b), len(at.shape), f"{node.name}_c")
    shape = [max(p, q) for p, q in zip(at.shape, bt.shape)]
    lw.set(node, lw.op(Op.EQUAL, [at, bt], shape, DType.BOOL, node.name), perm)


def convert_logical_not(lw: Lowering, node) -> None:
    x = node.args[0]
    _bool(lw, x)
    perm = lw.perm_of(x)
    xt = lw.value(x, perm)
    lw.set(node, lw.op(Op.LOGICAL_NOT, [xt], xt.shape, DType.BOOL, node.name), perm)


def convert_any(lw: Lowering, node) -> None:
    x, dim = node.args[:2]
    keepdim = node.args[2] if len(node.args) > 2 else node.kwargs.get("keepdim", False)
    _bool(lw, x)
    rank = fx_val(x).dim()
    dims = [dim] if isinstance(dim, int) else list(dim)
    perm = lw.perm_of(x)
    y = lw.value(x, perm)
    for axis in sorted(perm.index(d % rank) for d in dims):
        shape = list(y.shape)
        shape[axis] = 1
        y = lw.op(Op.REDUCE_ANY, [y], shape, DType.BOOL, f"{node.name}_any", axis=axis)
    lw.set_reduced(node, y, perm, keepdim)


def convert_full_like(lw: Lowering, node) -> None:
    """A constant of the input's shape: nothing of the input is read."""
    val = fx_val(node)
    if node.kwargs.get("dtype") not in (None, val.dtype):
        raise Unsupported("full_like with another dtype")
    dtype = tosa_dtype(val.dtype, "the result")
    lw.require_profile(dtype, "the result")
    lw.set(node, lw.const(f"{node.name}_value", np.full(list(val.shape), node.args[1]), dtype))


def convert_where(lw: Lowering, node) -> None:
    cond, a, b = node.args
    _bool(lw, cond, "the condition")
    ft = _float(lw, a, "the first choice", half=True)  # SELECT copies: exact in any type
    if _float(lw, b, "the second choice", half=True) != ft:
        raise Unsupported("choices of different float types")
    rank = fx_val(node).dim()
    if any(fx_val(t).dim() != rank for t in (cond, a, b)):
        raise Unsupported("operands of different ranks")
    perm = lw.perm_of(a)
    ts = [lw.value(t, perm) for t in (cond, a, b)]
    shape = [max(d) for d in zip(*(t.shape for t in ts))]
    lw.set(node, lw.op(Op.SELECT, ts, shape, ft, node.name), perm)


CONVERTERS = {
    aten.convolution.default: convert_convolution,
    aten.addmm.default: convert_addmm,
    aten.mm.default: convert_mm,
    aten.bmm.default: convert_bmm,
    aten.add.Tensor: convert_binary(Op.ADD, scaled=True),
    aten.add.Scalar: convert_binary(Op.ADD, scaled=True),
    aten.sub.Tensor: convert_binary(Op.SUB, scaled=True),
    aten.sub.Scalar: convert_binary(Op.SUB, scaled=True),
    aten.mul.Tensor: convert_binary(Op.MUL),
    aten.mul.Scalar: convert_binary(Op.MUL),
    aten.maximum.default: convert_binary(Op.MAXIMUM),
    aten.minimum.default: convert_binary(Op.MINIMUM),
    aten.div.Tensor: convert_div,
    aten.div.Scalar: convert_div,
    aten.relu.default: convert_relu,
    aten.hardtanh.default: convert_hardtanh,
    aten.clamp.default: convert_clamp,
    aten.sigmoid.default: convert_unary(Op.SIGMOID),
    aten.tanh.default: convert_unary(Op.TANH),
    aten.exp.default: convert_unary(Op.EXP),
    aten.log.default: convert_unary(Op.LOG),
    aten.erf.default: convert_unary(Op.ERF),
    aten.neg.default: convert_unary(Op.NEGATE),
    aten.abs.default: convert_unary(Op.ABS),
    aten.rsqrt.default: convert_unary(Op.RSQRT),
    aten.reciprocal.default: convert_unary(Op.RECIPROCAL),
    aten.gelu.default: convert_gelu,
    aten.hardswish.default: convert_hardswish,
    aten.silu.default: convert_silu,
    aten.avg_pool2d.default: convert_avg_pool2d,
    aten.max_pool2d_with_indices.default: convert_max_pool2d,
    aten.mean.dim: convert_mean,
    aten._softmax.default: convert_softmax,
    aten.native_layer_norm.default: convert_layer_norm,
    aten._native_batch_norm_legit_no_training.default: convert_batch_norm,
    aten.eq.Scalar: convert_eq,
    aten.eq.Tensor: convert_eq,
    aten.logical_not.default: convert_logical_not,
    aten.any.dim: convert_any,
    aten.any.dims: convert_any,
    aten.full_like.default: convert_full_like,
    aten.where.self: convert_where,
}
