"""TOSA INT converters for the ptec:: integer kernels of the int8 lowering
(and EXT-INT16 for a16w8: int16 activations, int8 weights).

The integer kernels were written with TOSA 1.0's semantics (docs/quantization.md),
so each one is a short TOSA sequence with the same parameters: an accumulating
op (int32 out; int48 for int16 activations), a RESCALE with the kernel's multipliers and shifts, and a CLAMP
for a fused activation. The C executor runs that sequence on the same kernels
(fusing CONV2D/MATMUL with their RESCALE), and the results equal the host's
integer program bit for bit.
"""
from __future__ import annotations


import numpy as np
import torch

from ..schema import DType, Op, RoundingMode
from .context import NHWC, Lowering, Unsupported, fx_val, tosa_dtype
from .windows import conv_weight, nhwc_windowed, pair

I8, I16, I32, I48 = DType.INT8, DType.INT16, DType.INT32, DType.INT48

#: RESCALE by exactly 1: apply_scale_32(v, 2^30, 30) = v.
UNIT_MULTIPLIER, UNIT_SHIFT = 1 << 30, 30


def _rescale(lw: Lowering, x, multiplier, shift, input_zp: int, output_zp: int,
             out_dtype: DType, base: str):
    """RESCALE with given multipliers/shifts (one, or one per channel of the last dim).
    An INT48 input takes 16-bit multipliers (scale16), as TOSA requires."""
    scale32 = x.dtype != I48
    m = np.atleast_1d(np.asarray(multiplier, dtype=np.int64))
    s = np.atleast_1d(np.asarray(shift, dtype=np.int64))
    if np.any(s < 2) or np.any(s > 62) or np.any(m < 0) or np.any(m >= 1 << (31 if scale32 else 15)):
        raise Unsupported("a requantization multiplier or shift is outside TOSA's RESCALE range")
    in_zp = lw.const(f"{base}_input_zp", [input_zp], I48) if x.dtype == I48 else \
        lw.zero_point(input_zp, x.dtype)
    return lw.op(Op.RESCALE, [x, lw.const(f"{base}_multiplier", m, I32 if scale32 else I16),
                              lw.const(f"{base}_shift", s, I8),
                              in_zp, lw.zero_point(output_zp, out_dtype)],
                 x.shape, out_dtype, base, scale32=scale32,
                 rounding_mode=RoundingMode.SINGLE_ROUND, per_channel=len(m) > 1,
                 input_unsigned=False, output_unsigned=False)


def _to_int32(lw: Lowering, x, zp: int, base: str, multiplier=UNIT_MULTIPLIER,
              shift=UNIT_SHIFT):
    return _rescale(lw, x, multiplier, shift, zp, 0, I32, base)


def _activation(lw: Lowering, node, what: str, zero_point: int = 0,
                int16: bool = True) -> DType:
    """INT8, or INT16 (EXT-INT16) whose zero point TOSA requires to be 0."""
    dtype = tosa_dtype(fx_val(node).dtype, what)
    if dtype == I16 and int16:
        if zero_point != 0:
            raise Unsupported(f"{what} is int16 with zero point {zero_point}; TOSA requires 0")
        return dtype
    if dtype != I8:
        raise Unsupported(f"{what} is {dtype.name}, not INT8" + (" or INT16" if int16 else ""))
    return dtype


def _accumulate(lw: Lowering, op: Op, xt, weight, bias, dtype: DType, input_zp: int,
                weight_zp: int, shape, base: str, **attrs):
    """CONV2D / DEPTHWISE_CONV2D with its bias, as int32.

    int8: one operator, int32 accumulator and bias. int16 (EXT-INT16): the
    accumulator is int48; as in ExecuTorch's lowering of a16w8 convolutions it
    comes back to int32 by exactly 1.0 (scale16 RESCALE) and the int32 bias is
    ADDed there, so the final RESCALE keeps its 32-bit multipliers: the same
    arithmetic as the host kernel."""
    channels = shape[-1]
    if dtype == I8:
        return lw.op(op, [xt, weight, lw.const(f"{base}_bias", bias, I32),
                          lw.zero_point(input_zp, I8), lw.zero_point(weight_zp, I8)],
                     shape, I32, f"{base}_acc", acc_type=I32, **attrs)
    acc48 = lw.op(op, [xt, weight, lw.const(f"{base}_bias48", np.zeros(channels), I48),
                       lw.zero_point(0, I16), lw.zero_point(weight_zp, I8)],
                  shape, I48, f"{base}_acc48", acc_type=I48, **attrs)
    acc = _rescale(lw, acc48, 1 << 14, 14, 0, 0, I32, f"{base}_acc")
    b = lw.const(f"{base}_bias", np.asarray(bias).reshape([1] * (len(shape) - 1) + [channels]),
                 I32)
    return lw.op(Op.ADD, [acc, b], shape, I32, f"{base}_biased")


def _constant_ints(lw: Lowering, node, what: str) -> np.ndarray:
    return lw.real(node, what).to(torch.int64).reshape(-1).numpy()


def _bias(lw: Lowering, node, channels: int) -> np.ndarray:
    values = (np.zeros(channels, np.int64) if node is None
              else _constant_ints(lw, node, "the bias"))
    if np.any(values < -(1 << 31)) or np.any(values >= 1 << 31):
        raise Unsupported("the bias does not fit int32")
    return values


def convert_conv2d(lw: Lowering, node) -> None:
    (x, w, b, stride, padding, dilation, groups, input_zp, weight_zp, mult, shift, output_zp,
     act_min, act_max) = node.args
    dtype = _activation(lw, x, "the input", input_zp)
    weight = lw.real(w, "the weight").numpy()
    out_channels, in_per_group, kh, kw = weight.shape
    in_channels = fx_val(x).shape[1]
    stride, dilation = pair(stride), pair(dilation)
    xt, pad = nhwc_windowed(lw, x, (kh, kw), stride, padding, dilation, node.name)
    op, wt = conv_weight(weight, groups, in_channels)
    n, oh, ow = xt.shape[0], *(
        (xt.shape[1 + a] + pad[2 * a] + pad[2 * a + 1] - (k - 1) * dilation[a] - 1) // stride[a] + 1
        for a, k in ((0, kh), (1, kw)))
    acc = _accumulate(lw, op, xt, lw.const(f"{node.name}_weight", wt, I8),
                      _bias(lw, b, out_channels), dtype, input_zp, weight_zp,
                      [n, oh, ow, out_channels], node.name, pad=pad, stride=stride,
                      dilation=dilation, local_bound=False)
    y = _rescale(lw, acc, _constant_ints(lw, mult, "the multiplier"),
                 _constant_ints(lw, shift, "the shift"), 0, output_zp, dtype, node.name)
    lw.set(node, lw.clamp(y, act_min, act_max, f"{node.name}_act"), NHWC)


def convert_linear(lw: Lowering, node) -> None:
    """x [..., K] @ W[N, K]^T as a 1x1 CONV2D over [M, 1, 1, K]: per-channel
    weights and the int32 bias, as the kernel has them."""
    (x, w, b, input_zp, weight_zp, mult, shift, output_zp, act_min, act_max) = node.args
    dtype = _activation(lw, x, "the input", input_zp)
    weight = lw.real(w, "the weight").numpy()
    n_out, k = weight.shape
    shape = list(fx_val(x).shape)
    rows = int(np.prod(shape[:-1]))
    x4 = lw.reshape(lw.value(x), [rows, 1, 1, k], f"{node.name}_rows")
    acc = _accumulate(lw, Op.CONV2D, x4,
                      lw.const(f"{node.name}_weight", weight.reshape(n_out, 1, 1, k), I8),
                      _bias(lw, b, n_out), dtype, input_zp, weight_zp, [rows, 1, 1, n_out],
                      node.name, pad=[0, 0, 0, 0], stride=[1, 1], dilation=[1, 1],
                      local_bound=False)
    y = _rescale(lw, acc, _constant_ints(lw, mult, "the multiplier"),
                 _constant_ints(lw, shift, "the shift"), 0, output_zp, dtype, node.name)
    y = lw.clamp(y, act_min, act_max, f"{node.name}_act")
    lw.set(node, lw.reshape(y, shape[:-1] + [n_out], f"{node.name}_out"))


def convert_matmul(lw: Lowering, node) -> None:
    """quantized_matmul (int8 -> int32 accumulator) and quantized_matmul16
    (EXT-INT16: int16 with zero points 0 -> int48 accumulator, then a scale16
    RESCALE). The RESCALE is always per tensor, one multiplier: activations
    are quantized per tensor, and Vela 5.2.0 applies column 0's scale to every
    column of a per-channel RESCALE after a U85 MATMUL
    (docs/ethos-u-simulator.md)."""
    a, b, a_zp, b_zp, mult, shift, output_zp = node.args
    int16 = node.target is ptec.quantized_matmul16.default
    dtype = _activation(lw, a, "the first operand", a_zp, int16=int16)
    if _activation(lw, b, "the second operand", b_zp, int16=int16) != dtype:
        raise Unsupported("the operands of a matmul differ in dtype")
    sa, sb = list(fx_val(a).shape), list(fx_val(b).shape)
    out_shape = list(fx_val(node).shape)
    if sa[:-2] != sb[:-2]:
        raise Unsupported("the operands' batch dimensions differ (TOSA MATMUL does not broadcast)")
    batch = int(np.prod(sa[:-2])) if len(sa) > 2 else 1
    a3 = lw.reshape(lw.value(a), [batch, sa[-2], sa[-1]], f"{node.name}_a")
    b3 = lw.reshape(lw.value(b), [batch, sb[-2], sb[-1]], f"{node.name}_b")
    acc = lw.op(Op.MATMUL, [a3, b3, lw.zero_point(a_zp, dtype), lw.zero_point(b_zp, dtype)],
                [batch, sa[-2], sb[-1]], I48 if int16 else I32, f"{node.name}_acc")
    if int16 and output_zp != 0:
        raise Unsupported(f"the output is int16 with zero point {output_zp}; TOSA requires 0")
    y = _rescale(lw, acc, mult, shift, 0, output_zp, dtype, node.name)
    lw.set(node, lw.reshape(y, out_shape, f"{node.name}_out"))


def _broadcast_shape(x, y) -> list[int]:
    return [max(p, q) for p, q in zip(x.shape, y.shape)]


def convert_add(lw: Lowering, node, op: Op = Op.ADD) -> None:
    """quantized_add (op ADD) and quantized_sub (op SUB)."""
    (a, b, a_zp, a_mult, a_shift, b_zp, b_mult, b_shift, output_zp, out_mult, out_shift,
     act_min, act_max) = node.args
    dtype = _activation(lw, a, "the first operand", a_zp)
    _activation(lw, b, "the second operand", b_zp)
    (ta, tb), perm = lw.same_layout([a, b], node.name)
    va = _to_int32(lw, ta, a_zp, f"{node.name}_a", a_mult, a_shift)
    vb = _to_int32(lw, tb, b_zp, f"{node.name}_b", b_mult, b_shift)
    total = lw.op(op, [va, vb], _broadcast_shape(va, vb), I32, f"{node.name}_sum")
    y = _rescale(lw, total, out_mult, out_shift, 0, output_zp, dtype, node.name)
    lw.set(node, lw.clamp(y, act_min, act_max, f"{node.name}_act"), perm)


def convert_mul(lw: Lowering, node) -> None:
    a, b, a_zp, b_zp, mult, shift, output_zp, act_min, act_max = node.args
    dtype = _activation(lw, a, "the first operand", a_zp)
    _activation(lw, b, "the second operand", b_zp)
    (ta, tb), perm = lw.same_layout([a, b], node.name)
    va = _to_int32(lw, ta, a_zp, f"{node.name}_a")
    vb = _to_int32(lw, tb, b_zp, f"{node.name}_b")
    prod = lw.op(Op.MUL, [va, vb, lw.const(f"{node.name}_shift0", [0], I8)],
                 _broadcast_shape(va, vb), I32, f"{node.name}_prod")
    y = _rescale(lw, prod, mult, shift, 0, output_zp, dtype, node.name)
    lw.set(node, lw.clamp(y, act_min, act_max, f"{node.name}_act"), perm)


def _pool_input(lw: Lowering, node, x, zero_point: int = 0) -> DType:
    if fx_val(x).dim() != 4:
        raise Unsupported("pooling a rank-3 tensor (TOSA pools are NHWC)")
    return _activation(lw, x, "the input", zero_point)


def convert_avg_pool2d(lw: Lowering, node) -> None:
    x, kernel, stride, padding, input_zp, output_zp, act_min, act_max = node.args
    dtype = _pool_input(lw, node, x, input_zp)
    if dtype == I16 and output_zp != 0:
        raise Unsupported(f"the output is int16 with zero point {output_zp}; TOSA requires 0")
    kernel = pair(kernel)
    stride = pair(stride, kernel)
    xt, pad = nhwc_windowed(lw, x, kernel, stride, padding, [1, 1], node.name)
    out = fx_val(node).shape
    y = lw.op(Op.AVG_POOL2D, [xt, lw.zero_point(input_zp, dtype),
                              lw.zero_point(output_zp, dtype)],
              [out[0], out[2], out[3], out[1]], dtype, node.name, kernel=kernel, stride=stride,
              pad=pad, acc_type=I32)
    lw.set(node, lw.clamp(y, act_min, act_max, f"{node.name}_act"), NHWC)


def convert_max_pool2d(lw: Lowering, node) -> None:
    x, kernel, stride, padding, dilation, act_min, act_max = node.args
    dtype = _pool_input(lw, node, x)
    if any(d != 1 for d in dilation):
        raise Unsupported("a dilated max pool has no TOSA operator")
    kernel = pair(kernel)
    stride = pair(stride, kernel)
    xt, pad = nhwc_windowed(lw, x, kernel, stride, padding, [1, 1], node.name)
    out = fx_val(node).shape
    y = lw.op(Op.MAX_POOL2D, [xt], [out[0], out[2], out[3], out[1]], dtype, node.name,
              kernel=kernel, stride=stride, pad=pad, nan_mode=1)
    lw.set(node, lw.clamp(y, act_min, act_max, f"{node.name}_act"), NHWC)


#: int32 bytes of a spatial reduction above which it is a depthwise sum (below,
#: Vela's own REDUCE_SUM path is cheaper: DS-CNN's 25x5x64 mean costs 3.6 K cycles
#: that way on a U55-128 and 11.2 K as a depthwise sum).
SPATIAL_SUM_AS_DEPTHWISE_BYTES = 64 * 1024


def _spatial_sum(lw: Lowering, xt, input_zp: int, base: str):
    """sum over H and W of an NHWC int8 tensor, minus the zero point, as int32:
    a depthwise convolution with a kernel of ones the size of the image. The same
    integers as RESCALE to int32 then REDUCE_SUM over H and W, but one NPU
    operation: Vela reduces natively over channels only and transposes the int32
    tensor for H and W, which for a large tensor costs far more (MobileNetV2's
    7x7x1280 mean: 1.9 M of its 5.6 M cycles on an Ethos-U85-256)."""
    n, h, w, c = xt.shape
    ones = lw.const(f"{base}_ones", np.ones((h, w, c, 1), np.int8), I8)
    return lw.op(Op.DEPTHWISE_CONV2D, [xt, ones, lw.const(f"{base}_bias", np.zeros(c), I32),
                                       lw.zero_point(input_zp, I8), lw.zero_point(0, I8)],
                 [n, 1, 1, c], I32, f"{base}_sum", pad=[0, 0, 0, 0], stride=[1, 1],
                 dilation=[1, 1], acc_type=I32, local_bound=False)


def convert_mean(lw: Lowering, node) -> None:
    x, dims, keepdim, input_zp, mult, shift, output_zp, act_min, act_max = node.args
    dtype = _activation(lw, x, "the input", input_zp)
    rank = fx_val(x).dim()
    perm = lw.perm_of(x)
    axes = sorted(perm.index(d % rank) for d in (dims if len(dims) else range(rank)))
    if (dtype == I8 and tuple(perm) == NHWC and axes == [1, 2]
            and 4 * fx_val(x).numel() > SPATIAL_SUM_AS_DEPTHWISE_BYTES):
        acc = _spatial_sum(lw, lw.value(x, perm), input_zp, node.name)
    else:
        acc = _to_int32(lw, lw.value(x, perm), input_zp, f"{node.name}_wide")
        for axis in axes:
            shape = list(acc.shape)
            shape[axis] = 1
            acc = lw.op(Op.REDUCE_SUM, [acc], shape, I32, f"{node.name}_sum", axis=axis)
    y = _rescale(lw, acc, mult, shift, 0, output_zp, dtype, node.name)
    y = lw.clamp(y, act_min, act_max, f"{node.name}_act")
    lw.set_reduced(node, y, perm, keepdim)


def convert_table(lw: Lowering, node) -> None:
    x, table = node.args
    dtype = tosa_dtype(fx_val(x).dtype, "the input")
    values = _constant_ints(lw, table, "the table")
    if dtype == I8 and values.size == 256:
        out = I8
    elif dtype == DType.INT16 and values.size == 513:
        out = I32
    else:
        raise Unsupported(f"a {values.size}-entry table on {dtype.name}")
    xt = lw.value(x, lw.perm_of(x))
    t = lw.const(f"{node.name}_table", values, DType.INT8 if dtype == I8 else DType.INT16)
    lw.set(node, lw.op(Op.TABLE, [xt, t], xt.shape, out, node.name), lw.perm_of(x))


def convert_rescale(lw: Lowering, node) -> None:
    x, input_zp, mult, shift, output_zp, axis = node.args
    in_type = tosa_dtype(fx_val(x).dtype, "the input")
    out_type = tosa_dtype(fx_val(node).dtype, "the output")
    m = _constant_ints(lw, mult, "the multiplier")
    perm = lw.perm_of(x)
    rank = len(perm)
    if m.size > 1:  # per channel: TOSA scales along the last dim of the tensor
        want = tuple(d for d in range(rank) if d != axis % rank) + (axis % rank,)
        perm = perm if perm[-1] == axis % rank else want
    for t in (in_type, out_type):
        if t not in (I8, DType.INT16, I32):
            raise Unsupported(f"RESCALE of {t.name}")
    y = _rescale(lw, lw.value(x, perm), m, _constant_ints(lw, shift, "the shift"), input_zp,
                 output_zp, out_type, node.name)
    lw.set(node, y, perm)


def reject(reason: str):
    def convert(lw: Lowering, node) -> None:
        raise Unsupported(reason)
    return convert


ptec = torch.ops.ptec

CONVERTERS = {
    ptec.quantized_conv2d.default: convert_conv2d,
    ptec.quantized_linear.default: convert_linear,
    ptec.quantized_matmul.default: convert_matmul,
    ptec.quantized_matmul16.default: convert_matmul,
    ptec.quantized_add.default: convert_add,
    ptec.quantized_mul.default: convert_mul,
    ptec.quantized_avg_pool2d.default: convert_avg_pool2d,
    ptec.quantized_max_pool2d.default: convert_max_pool2d,
    ptec.quantized_mean.default: convert_mean,
    ptec.table.default: convert_table,
    ptec.rescale.default: convert_rescale,
    ptec.quantized_softmax.default: reject(
        "ptec's integer softmax divides 61-bit products, beyond TOSA INT's 32-bit arithmetic"),
    ptec.quantized_layer_norm.default: reject(
        "the integer layer norm takes a reciprocal square root, which TOSA INT has no "
        "operator for"),
}
