"""ptec's TOSA executor (runtime/src/backends/tosa) against NumPy models of TOSA 1.0.

Every supported operator runs as a one-operator graph inside a .pte delegate
through the C runtime, on shapes and parameters drawn from the test's
printed seed (PTEC_SEED replays one). Integer results must match bit for
bit; float results within a tolerance.
"""
from __future__ import annotations

import numpy as np
import pytest

import tosa_ops_ref as ref
from ptec.quant import tosa_math as tm
from ptec.tosa import DType, GraphBuilder, NanPropagationMode, Op, RoundingMode
from tosa_ops_ref import C, In, S, rand_int, run_graph, run_op

I8, I16, I32, F32, BOOL = DType.INT8, DType.INT16, DType.INT32, DType.FP32, DType.BOOL
I48 = DType.INT48


def conv_case(rng, depthwise: bool):
    """Random conv shapes with TOSA's exact division (the trailing pad trimmed)."""
    n, ih, iw, c = 1, int(rng.integers(3, 9)), int(rng.integers(3, 9)), int(rng.integers(1, 6))
    kh, kw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    stride = [int(rng.integers(1, 3)), int(rng.integers(1, 3))]
    dil = [int(rng.integers(1, 3)), int(rng.integers(1, 3))]
    pad = [int(rng.integers(0, 2)), 0, int(rng.integers(0, 2)), 0]
    for axis, (size, k) in enumerate(((ih, kh), (iw, kw))):
        span = size - 1 + pad[2 * axis] - (k - 1) * dil[axis]
        while span < 0:
            pad[2 * axis] += 1
            span += 1
        pad[2 * axis + 1] = (-span) % stride[axis]
        if pad[2 * axis + 1] > pad[2 * axis]:  # keep the trim rule (pb <= pt) for the fp path
            pad[2 * axis] = pad[2 * axis + 1]
            span = size - 1 + pad[2 * axis] - (k - 1) * dil[axis]
            pad[2 * axis + 1] = (-span) % stride[axis]
        while (pad[2 * axis] - pad[2 * axis + 1] >= stride[axis] and
               size - 1 + pad[2 * axis] - stride[axis] - (k - 1) * dil[axis] >= 0):
            pad[2 * axis] -= stride[axis]  # so that PyTorch's floor rule agrees
    if depthwise:
        m = int(rng.integers(1, 3))
        wshape, oc = (kh, kw, c, m), c * m
    else:
        oc = int(rng.integers(1, 6))
        wshape = (oc, kh, kw, c)
    oh = (ih - 1 + pad[0] + pad[1] - (kh - 1) * dil[0]) // stride[0] + 1
    ow = (iw - 1 + pad[2] + pad[3] - (kw - 1) * dil[1]) // stride[1] + 1
    return dict(x=(n, ih, iw, c), w=wshape, oc=oc, out=[n, oh, ow, oc], pad=pad, stride=stride,
                dilation=dil)


@pytest.mark.parametrize("depthwise", [False, True])
@pytest.mark.parametrize("fused", [False, True])
def test_conv2d_int8(seed, depthwise, fused):
    rng = np.random.default_rng(seed)
    for _ in range(4):
        c = conv_case(rng, depthwise)
        x, w = rand_int(rng, c["x"], np.int8), rand_int(rng, c["w"], np.int8)
        bias = rng.integers(-5000, 5000, c["oc"]).astype(np.int32)
        xzp, wzp = int(rng.integers(-128, 128)), int(rng.integers(-20, 20))
        acc = ref.conv2d(x, w, bias, c["pad"], c["stride"], c["dilation"], xzp, wzp, depthwise)
        g = GraphBuilder()
        g.input("x", c["x"], I8)
        g.const("w", w), g.const("b", bias)
        g.const("xzp", np.array([xzp], np.int8)), g.const("wzp", np.array([wzp], np.int8))
        g.tensor("acc", c["out"], I32)
        g.op(Op.DEPTHWISE_CONV2D if depthwise else Op.CONV2D, ["x", "w", "b", "xzp", "wzp"],
             ["acc"], pad=c["pad"], stride=c["stride"], dilation=c["dilation"], acc_type=I32)
        if not fused:
            g.output("acc")
            (y,) = run_graph(g, [x])
            np.testing.assert_array_equal(y, acc)
            continue
        m, s = tm.compute_multipliers_and_shifts(rng.uniform(1e-4, 1e-2, c["oc"]))
        ozp = int(rng.integers(-128, 128))
        g.const("m", m.astype(np.int32)), g.const("s", s.astype(np.int8))
        g.const("izp", np.array([0], np.int32)), g.const("ozp", np.array([ozp], np.int8))
        g.tensor("y", c["out"], I8)
        g.op(Op.RESCALE, ["acc", "m", "s", "izp", "ozp"], ["y"], scale32=True,
             rounding_mode=RoundingMode.SINGLE_ROUND, per_channel=True)
        g.output("y")
        (y,) = run_graph(g, [x])
        np.testing.assert_array_equal(y, ref.rescale(acc, m, s, 0, ozp, np.int8, True))


@pytest.mark.parametrize("depthwise", [False, True])
def test_conv2d_fp32(seed, depthwise):
    rng = np.random.default_rng(seed)
    for _ in range(3):
        c = conv_case(rng, depthwise)
        while any(c["pad"][2 * a] - c["pad"][2 * a + 1] >= c["stride"][a] for a in (0, 1)):
            c = conv_case(rng, depthwise)  # ptec's fp32 path needs PyTorch-style padding
        x = rng.standard_normal(c["x"]).astype(np.float32)
        w = rng.standard_normal(c["w"]).astype(np.float32)
        b = rng.standard_normal(c["oc"]).astype(np.float32)
        zero = np.zeros(1, np.float32)
        y = run_op(Op.DEPTHWISE_CONV2D if depthwise else Op.CONV2D,
                   [In(x), C(w), C(b), C(zero), C(zero)], (c["out"], F32), pad=c["pad"],
                   stride=c["stride"], dilation=c["dilation"], acc_type=F32)
        want = ref.conv2d_f32(x, w, b, c["pad"], c["stride"], c["dilation"], depthwise)
        np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("fused", [False, True])
def test_matmul_int8(seed, fused):
    rng = np.random.default_rng(seed)
    n, h, cc, w = (int(v) for v in rng.integers(1, 7, 4))
    a, b = rand_int(rng, (n, h, cc), np.int8), rand_int(rng, (n, cc, w), np.int8)
    azp, bzp = int(rng.integers(-128, 128)), int(rng.integers(-128, 128))
    g = GraphBuilder()
    g.input("a", a.shape, I8), g.input("b", b.shape, I8)
    g.const("azp", np.array([azp], np.int8)), g.const("bzp", np.array([bzp], np.int8))
    g.tensor("acc", [n, h, w], I32)
    g.op(Op.MATMUL, ["a", "b", "azp", "bzp"], ["acc"])
    acc = ref.matmul(a, b, azp, bzp)
    if fused:
        m, s = tm.compute_multiplier_and_shift(float(rng.uniform(1e-5, 1e-3)))
        g.const("m", np.array([m], np.int32)), g.const("s", np.array([s], np.int8))
        g.const("izp", np.array([0], np.int32)), g.const("ozp", np.array([5], np.int8))
        g.tensor("y", [n, h, w], I8)
        g.op(Op.RESCALE, ["acc", "m", "s", "izp", "ozp"], ["y"], scale32=True,
             rounding_mode=RoundingMode.SINGLE_ROUND)
        g.output("y")
        acc = ref.rescale(acc, [m], [s], 0, 5, np.int8, False)
    else:
        g.output("acc")
    (y,) = run_graph(g, [a, b])
    np.testing.assert_array_equal(y, acc)


def test_matmul_fp32(seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((2, 3, 5)).astype(np.float32)
    b = rng.standard_normal((2, 5, 4)).astype(np.float32)
    z = np.zeros(1, np.float32)
    y = run_op(Op.MATMUL, [In(a), In(b), C(z), C(z)], ([2, 3, 4], F32))
    np.testing.assert_allclose(y, a @ b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("src,dst", [(np.int8, np.int32), (np.int32, np.int8),
                                     (np.int32, np.int16), (np.int16, np.int8),
                                     (np.int8, np.int8), (np.int16, np.int32)])
@pytest.mark.parametrize("scale32", [True, False])
def test_rescale(seed, src, dst, scale32):
    rng = np.random.default_rng(seed)
    shape = [int(v) for v in rng.integers(1, 6, int(rng.integers(1, 5)))]
    x = rand_int(rng, shape, src) if src != np.int32 else rng.integers(
        -2**20, 2**20, shape).astype(np.int32)
    per_channel = bool(rng.integers(0, 2))
    nc = shape[-1] if per_channel else 1
    m, s = tm.compute_multipliers_and_shifts(rng.uniform(0.01, 3.0, nc),
                                             offset=31 if scale32 else 15)
    izp = int(rng.integers(-128, 128)) if src == np.int8 else 0
    ozp = int(rng.integers(-128, 128)) if dst == np.int8 else 0
    y = run_op(Op.RESCALE, [In(x), C(m.astype(np.int32 if scale32 else np.int16)),
                            C(s.astype(np.int8)), C(np.array([izp], src)),
                            C(np.array([ozp], dst))], (shape, ref.NP_TO_TOSA[np.dtype(dst)]),
               scale32=scale32, rounding_mode=RoundingMode.SINGLE_ROUND,
               per_channel=per_channel)
    np.testing.assert_array_equal(y, ref.rescale(x, m, s, izp, ozp, dst, per_channel))


def test_table(seed):
    rng = np.random.default_rng(seed)
    x8 = rand_int(rng, (3, 7), np.int8)
    t8 = rand_int(rng, 256, np.int8)
    np.testing.assert_array_equal(run_op(Op.TABLE, [In(x8), C(t8)], ([3, 7], I8)),
                                  t8[x8.astype(np.int64) + 128])
    x16 = rand_int(rng, (5, 9), np.int16)
    t16 = np.cumsum(rng.integers(-200, 200, 513)).clip(-32768, 32767).astype(np.int16)
    y = run_op(Op.TABLE, [In(x16), C(t16)], ([5, 9], I32))
    v = x16.astype(np.int64) + 32768
    base = t16.astype(np.int64)[v >> 7]
    want = base * 128 + (t16.astype(np.int64)[(v >> 7) + 1] - base) * (v & 0x7F)
    np.testing.assert_array_equal(y, want)


def pool_case(rng):
    ih, iw, c = (int(v) for v in rng.integers(2, 8, 3))
    kernel = [int(rng.integers(1, min(ih, 3) + 1)), int(rng.integers(1, min(iw, 3) + 1))]
    stride = [int(rng.integers(1, 3)), int(rng.integers(1, 3))]
    pad = [0, 0, 0, 0]
    for axis, size in enumerate((ih, iw)):
        pad[2 * axis] = int(rng.integers(0, (kernel[axis] + 1) // 2))
        span = size + pad[2 * axis] - kernel[axis]
        pad[2 * axis + 1] = min((-span) % stride[axis], pad[2 * axis])
        if (span + pad[2 * axis + 1]) % stride[axis] or \
                pad[2 * axis] - pad[2 * axis + 1] >= stride[axis]:
            stride[axis] = 1
            pad[2 * axis + 1] = pad[2 * axis]
    oh = (ih + pad[0] + pad[1] - kernel[0]) // stride[0] + 1
    ow = (iw + pad[2] + pad[3] - kernel[1]) // stride[1] + 1
    return (1, ih, iw, c), [1, oh, ow, c], kernel, stride, pad


@pytest.mark.parametrize("kind", ["avg", "max"])
def test_pool_int8(seed, kind):
    rng = np.random.default_rng(seed)
    for _ in range(4):
        xs, ys, kernel, stride, pad = pool_case(rng)
        x = rand_int(rng, xs, np.int8)
        if kind == "avg":
            izp, ozp = int(rng.integers(-128, 128)), int(rng.integers(-128, 128))
            y = run_op(Op.AVG_POOL2D, [In(x), C(np.array([izp], np.int8)),
                                       C(np.array([ozp], np.int8))], (ys, I8), kernel=kernel,
                       stride=stride, pad=pad, acc_type=I32)
            want = ref.avg_pool2d(x, kernel, stride, pad, izp, ozp)
        else:
            y = run_op(Op.MAX_POOL2D, [In(x)], (ys, I8), kernel=kernel, stride=stride, pad=pad,
                       nan_mode=NanPropagationMode.PROPAGATE)
            want = ref.max_pool2d(x, kernel, stride, pad)
        np.testing.assert_array_equal(y, want)


@pytest.mark.parametrize("kind", ["avg", "max"])
def test_pool_fp32(seed, kind):
    rng = np.random.default_rng(seed)
    for _ in range(3):
        xs, ys, kernel, stride, pad = pool_case(rng)
        x = rng.standard_normal(xs).astype(np.float32)
        z = np.zeros(1, np.float32)
        if kind == "avg":
            y = run_op(Op.AVG_POOL2D, [In(x), C(z), C(z)], (ys, F32), kernel=kernel,
                       stride=stride, pad=pad, acc_type=F32)
        else:
            y = run_op(Op.MAX_POOL2D, [In(x)], (ys, F32), kernel=kernel, stride=stride, pad=pad,
                       nan_mode=NanPropagationMode.PROPAGATE)
        np.testing.assert_allclose(y, ref.pool2d_f32(x, kernel, stride, pad, kind == "avg"),
                                   rtol=1e-5, atol=1e-6)


def broadcast_pair(rng, rank=None):
    rank = int(rng.integers(1, 5)) if rank is None else rank
    out = [int(v) for v in rng.integers(1, 5, rank)]
    a = [d if rng.random() < 0.7 else 1 for d in out]
    b = [d if rng.random() < 0.7 else 1 for d in out]
    out = [max(x, y) for x, y in zip(a, b)]
    return a, b, out


INT_BINARY = {
    Op.ADD: lambda a, b: a.astype(np.int64) + b, Op.SUB: lambda a, b: a.astype(np.int64) - b,
    Op.BITWISE_AND: np.bitwise_and, Op.BITWISE_OR: np.bitwise_or,
    Op.BITWISE_XOR: np.bitwise_xor, Op.MAXIMUM: np.maximum, Op.MINIMUM: np.minimum,
    Op.INTDIV: ref.intdiv,
}


@pytest.mark.parametrize("op", list(INT_BINARY), ids=lambda o: o.name)
def test_binary_int32(seed, op):
    rng = np.random.default_rng(seed)
    sa, sb, so = broadcast_pair(rng)
    a = rng.integers(-2**30, 2**30, sa).astype(np.int32)
    b = rng.integers(-2**30, 2**30, sb).astype(np.int32)
    if op == Op.INTDIV:
        b[b == 0] = 7
    attrs = {"nan_mode": NanPropagationMode.PROPAGATE} if op in (Op.MAXIMUM, Op.MINIMUM) else {}
    y = run_op(op, [In(a), In(b)], (so, I32), **attrs)
    np.testing.assert_array_equal(y, ref.wrap(INT_BINARY[op](a, b), np.int32))


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32])
def test_shifts_and_bitwise_small_types(seed, dtype):
    rng = np.random.default_rng(seed)
    sa, sb, so = broadcast_pair(rng)
    bits = np.dtype(dtype).itemsize * 8
    a = rand_int(rng, sa, dtype)
    b = rng.integers(0, bits, sb).astype(dtype)
    t = ref.NP_TO_TOSA[np.dtype(dtype)]
    for rnd in (False, True):
        y = run_op(Op.ARITHMETIC_RIGHT_SHIFT, [In(a), In(b)], (so, t), round=rnd)
        np.testing.assert_array_equal(y, ref.arithmetic_right_shift(a, b, rnd))
    for left in (False, True):
        y = run_op(Op.LOGICAL_LEFT_SHIFT if left else Op.LOGICAL_RIGHT_SHIFT, [In(a), In(b)],
                   (so, t))
        np.testing.assert_array_equal(y, ref.logical_shift(a, b, left, dtype))
    y = run_op(Op.BITWISE_XOR, [In(a), In(a.reshape(sa))], (sa, t))
    np.testing.assert_array_equal(y, np.zeros(sa))


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32])
def test_mul(seed, dtype):
    rng = np.random.default_rng(seed)
    sa, sb, so = broadcast_pair(rng)
    big = dtype == np.int32
    a = rng.integers(-2**15, 2**15, sa).astype(dtype) if big else rand_int(rng, sa, dtype)
    b = rng.integers(-2**15, 2**15, sb).astype(dtype) if big else rand_int(rng, sb, dtype)
    for shift in ([0, 1, 13] if big else [0]):
        y = run_op(Op.MUL, [In(a), In(b), C(np.array([shift], np.int8))], (so, I32))
        np.testing.assert_array_equal(y, ref.mul(a, b, shift, dtype))


@pytest.mark.parametrize("op", [Op.EQUAL, Op.GREATER, Op.GREATER_EQUAL])
@pytest.mark.parametrize("dtype", [np.int32, np.float32])
def test_compare(seed, op, dtype):
    rng = np.random.default_rng(seed)
    sa, sb, so = broadcast_pair(rng)
    a = rng.integers(-3, 3, sa).astype(dtype)
    b = rng.integers(-3, 3, sb).astype(dtype)
    fn = {Op.EQUAL: np.equal, Op.GREATER: np.greater, Op.GREATER_EQUAL: np.greater_equal}[op]
    np.testing.assert_array_equal(run_op(op, [In(a), In(b)], (so, BOOL)), fn(a, b))


@pytest.mark.parametrize("op", [Op.LOGICAL_AND, Op.LOGICAL_OR, Op.LOGICAL_XOR])
def test_logical(seed, op):
    rng = np.random.default_rng(seed)
    sa, sb, so = broadcast_pair(rng)
    a, b = rng.random(sa) < 0.5, rng.random(sb) < 0.5
    fn = {Op.LOGICAL_AND: np.logical_and, Op.LOGICAL_OR: np.logical_or,
          Op.LOGICAL_XOR: np.logical_xor}[op]
    np.testing.assert_array_equal(run_op(op, [In(a), In(b)], (so, BOOL)), fn(a, b))
    np.testing.assert_array_equal(run_op(Op.LOGICAL_NOT, [In(a)], (sa, BOOL)), ~a)


FP_BINARY = {Op.ADD: np.add, Op.SUB: np.subtract, Op.MAXIMUM: np.maximum, Op.MINIMUM: np.minimum,
             Op.POW: np.power}


@pytest.mark.parametrize("op", list(FP_BINARY) + [Op.MUL], ids=lambda o: o.name)
def test_binary_fp32(seed, op):
    rng = np.random.default_rng(seed)
    sa, sb, so = broadcast_pair(rng)
    a = rng.uniform(0.1, 3, sa).astype(np.float32)
    b = rng.uniform(-2, 2, sb).astype(np.float32)
    if op == Op.MUL:
        y = run_op(op, [In(a), In(b), C(np.array([0], np.int8))], (so, F32))
        want = a * b
    else:
        attrs = {"nan_mode": NanPropagationMode.PROPAGATE} if op in (Op.MAXIMUM, Op.MINIMUM) \
            else {}
        y = run_op(op, [In(a), In(b)], (so, F32), **attrs)
        want = FP_BINARY[op](a, b)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-6)


FP_UNARY = {Op.ABS: np.abs, Op.NEGATE: np.negative, Op.CEIL: np.ceil, Op.FLOOR: np.floor,
            Op.COS: np.cos, Op.SIN: np.sin, Op.EXP: np.exp, Op.LOG: np.log,
            Op.RECIPROCAL: np.reciprocal, Op.RSQRT: lambda x: 1 / np.sqrt(x),
            Op.SIGMOID: lambda x: 1 / (1 + np.exp(-x)), Op.TANH: np.tanh,
            Op.IDENTITY: lambda x: x}


@pytest.mark.parametrize("op", list(FP_UNARY) + [Op.ERF], ids=lambda o: o.name)
def test_unary_fp32(seed, op):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.05, 4, (3, 5)).astype(np.float32)
    if op == Op.NEGATE:
        z = np.zeros(1, np.float32)
        y = run_op(op, [In(x), C(z), C(z)], ([3, 5], F32))
    else:
        y = run_op(op, [In(x)], ([3, 5], F32))
    if op == Op.ERF:
        import math
        want = np.vectorize(math.erf)(x.astype(np.float64))
    else:
        want = FP_UNARY[op](x.astype(np.float64))
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-6)


def test_unary_int(seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(-2**31 + 1, 2**31 - 1, (4, 6)).astype(np.int32)
    x[0, 0] = 0
    np.testing.assert_array_equal(run_op(Op.ABS, [In(x)], ([4, 6], I32)), np.abs(x))
    np.testing.assert_array_equal(run_op(Op.CLZ, [In(x)], ([4, 6], I32)), ref.clz(x))
    for dtype in (np.int8, np.int16, np.int32):
        v = rand_int(rng, (4, 6), dtype)
        t = ref.NP_TO_TOSA[np.dtype(dtype)]
        np.testing.assert_array_equal(run_op(Op.BITWISE_NOT, [In(v)], ([4, 6], t)), ~v)
        np.testing.assert_array_equal(run_op(Op.IDENTITY, [In(v)], ([4, 6], t)), v)
        izp, ozp = (int(rng.integers(-128, 128)), int(rng.integers(-128, 128))) \
            if dtype == np.int8 else (0, 0)
        y = run_op(Op.NEGATE, [In(v), C(np.array([izp], dtype)), C(np.array([ozp], dtype))],
                   ([4, 6], t))
        np.testing.assert_array_equal(y, ref.negate(v, izp, ozp, dtype))


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.float32])
def test_clamp(seed, dtype):
    rng = np.random.default_rng(seed)
    if dtype == np.float32:
        x = rng.standard_normal((3, 4, 5)).astype(np.float32)
        lo, hi = -0.5, 0.75
    else:
        x = rand_int(rng, (3, 4, 5), dtype)
        lo, hi = sorted(int(v) for v in rand_int(rng, 2, dtype))
    y = run_op(Op.CLAMP, [In(x)], ([3, 4, 5], ref.NP_TO_TOSA[np.dtype(dtype)]), min_val=lo,
               max_val=hi, nan_mode=NanPropagationMode.PROPAGATE)
    np.testing.assert_array_equal(y, np.clip(x, dtype(lo), dtype(hi)))


CASTS = [(np.int8, np.int32), (np.int32, np.int8), (np.int16, np.int8), (np.int32, np.int16),
         (np.bool_, np.int8), (np.int32, np.bool_), (np.int8, np.float32),
         (np.int32, np.float32), (np.float32, np.int8), (np.float32, np.int16),
         (np.float32, np.int32)]


@pytest.mark.parametrize("src,dst", CASTS, ids=lambda t: np.dtype(t).name)
def test_cast(seed, src, dst):
    rng = np.random.default_rng(seed)
    if src == np.float32:
        x = (rng.standard_normal((4, 5)) * 300).astype(np.float32)
        x[0, :3] = [2.5, -3.5, 0.5]  # ties round to even
        x[1, 0] = 1e10  # saturates
    elif src == np.bool_:
        x = rng.random((4, 5)) < 0.5
    else:
        x = rand_int(rng, (4, 5), src)
    y = run_op(Op.CAST, [In(x)], ([4, 5], ref.NP_TO_TOSA[np.dtype(dst)]))
    np.testing.assert_array_equal(y, ref.cast(x, dst))


def test_select(seed):
    rng = np.random.default_rng(seed)
    sc, sa, so = broadcast_pair(rng, rank=3)
    sb = [d if rng.random() < 0.5 else 1 for d in so]
    cond = rng.random(sc) < 0.5
    a, b = rand_int(rng, sa, np.int16), rand_int(rng, sb, np.int16)
    y = run_op(Op.SELECT, [In(cond), In(a), In(b)], (so, I16))
    np.testing.assert_array_equal(y, np.where(cond, a, b))


REDUCTIONS = [(Op.REDUCE_SUM, np.int32, "sum"), (Op.REDUCE_MAX, np.int8, "max"),
              (Op.REDUCE_MIN, np.int16, "min"), (Op.REDUCE_ALL, np.bool_, "all"),
              (Op.REDUCE_ANY, np.bool_, "any"), (Op.REDUCE_SUM, np.float32, "sum"),
              (Op.REDUCE_MAX, np.float32, "max"), (Op.REDUCE_PRODUCT, np.float32, "product")]


@pytest.mark.parametrize("op,dtype,kind", REDUCTIONS, ids=lambda v: getattr(v, "name", str(v)))
def test_reduce(seed, op, dtype, kind):
    rng = np.random.default_rng(seed)
    shape = [int(v) for v in rng.integers(1, 5, int(rng.integers(1, 5)))]
    axis = int(rng.integers(0, len(shape)))
    if dtype == np.bool_:
        x = rng.random(shape) < 0.7
    elif dtype == np.float32:
        x = rng.uniform(0.5, 1.5, shape).astype(np.float32)
    elif dtype == np.int32:
        x = rng.integers(-2**20, 2**20, shape).astype(np.int32)
    else:
        x = rand_int(rng, shape, dtype)
    want = ref.reduce(x, axis, kind)
    attrs = {"axis": axis}
    if op in (Op.REDUCE_MAX, Op.REDUCE_MIN):
        attrs["nan_mode"] = NanPropagationMode.PROPAGATE
    y = run_op(op, [In(x)], (list(want.shape), ref.NP_TO_TOSA[np.dtype(dtype)]), **attrs)
    np.testing.assert_allclose(y, want, rtol=1e-5)


@pytest.mark.parametrize("dtype", [np.int8, np.float32])
def test_argmax(seed, dtype):
    rng = np.random.default_rng(seed)
    shape = [int(v) for v in rng.integers(1, 6, 3)]
    axis = int(rng.integers(0, 3))
    x = rng.integers(-3, 3, shape).astype(dtype)  # ties: the first maximum wins
    want = np.argmax(x, axis=axis)
    y = run_op(Op.ARGMAX, [In(x)], (list(want.shape), I32), axis=axis,
               nan_mode=NanPropagationMode.PROPAGATE)
    np.testing.assert_array_equal(y, want)


@pytest.mark.parametrize("dtype", [np.int8, np.int16])
def test_layout_ops(seed, dtype):
    """TRANSPOSE, RESHAPE (rank 1 and 2), REVERSE, SLICE, TILE, PAD and CONCAT move
    int8 and int16 elements as numpy does."""
    t = I8 if dtype == np.int8 else I16
    info = np.iinfo(dtype)
    rng = np.random.default_rng(seed)
    shape = [int(v) for v in rng.integers(1, 5, 4)]
    x = rand_int(rng, shape, dtype)
    perm = [int(v) for v in rng.permutation(4)]
    y = run_op(Op.TRANSPOSE, [In(x)], ([shape[p] for p in perm], t), perms=perm)
    np.testing.assert_array_equal(y, np.transpose(x, perm))
    for flat in ([x.size], [1, x.size]):
        y = run_op(Op.RESHAPE, [In(x), S(flat)], (flat, t))
        np.testing.assert_array_equal(y, x.reshape(flat))
    axis = int(rng.integers(0, 4))
    y = run_op(Op.REVERSE, [In(x)], (shape, t), axis=axis)
    np.testing.assert_array_equal(y, np.flip(x, axis))
    start = [int(rng.integers(0, d)) for d in shape]
    size = [int(rng.integers(1, d - s + 1)) for d, s in zip(shape, start)]
    y = run_op(Op.SLICE, [In(x), S(start), S(size)], (size, t))
    np.testing.assert_array_equal(y, x[tuple(slice(s, s + n) for s, n in zip(start, size))])
    mult = [int(v) for v in rng.integers(1, 3, 4)]
    y = run_op(Op.TILE, [In(x), S(mult)], ([d * m for d, m in zip(shape, mult)], t))
    np.testing.assert_array_equal(y, np.tile(x, mult))
    padding = [int(v) for v in rng.integers(0, 3, 8)]
    value = int(rng.integers(info.min, info.max + 1))
    want = ref.pad(x, padding, value)
    y = run_op(Op.PAD, [In(x), S(padding), C(np.array([value], dtype))], (list(want.shape), t))
    np.testing.assert_array_equal(y, want)
    parts = [x, rand_int(rng, shape[:axis] + [2] + shape[axis + 1:], dtype)]
    want = np.concatenate(parts, axis)
    y = run_op(Op.CONCAT, [In(p) for p in parts], (list(want.shape), t), axis=axis)
    np.testing.assert_array_equal(y, want)


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.float32])
def test_concat(seed, dtype):
    rng = np.random.default_rng(seed)
    shape = [int(v) for v in rng.integers(1, 5, 3)]
    axis = int(rng.integers(0, 3))
    parts = []
    for _ in range(int(rng.integers(1, 5))):
        s = list(shape)
        s[axis] = int(rng.integers(1, 4))
        parts.append(rng.integers(-100, 100, s).astype(dtype))
    want = np.concatenate(parts, axis)
    y = run_op(Op.CONCAT, [In(p) for p in parts],
               (list(want.shape), ref.NP_TO_TOSA[np.dtype(dtype)]), axis=axis)
    np.testing.assert_array_equal(y, want)


def test_gather_scatter(seed):
    rng = np.random.default_rng(seed)
    n, k, c, w = 2, 6, 3, 4
    values = rand_int(rng, (n, k, c), np.int8)
    idx = np.stack([rng.choice(k, w, replace=False) for _ in range(n)]).astype(np.int32)
    y = run_op(Op.GATHER, [In(values), In(idx)], ([n, w, c], I8))
    np.testing.assert_array_equal(y, ref.gather(values, idx))
    inp = rand_int(rng, (n, w, c), np.int8)
    y = run_op(Op.SCATTER, [In(values), In(idx), In(inp)], ([n, k, c], I8))
    np.testing.assert_array_equal(y, ref.scatter(values, idx, inp))


def test_runtime_require_failure_is_reported(seed):
    """INTDIV by zero is a TOSA REQUIRE: the run fails with a named status."""
    import ptec
    a = np.array([[4, 5]], np.int32)
    b = np.array([[2, 0]], np.int32)
    with pytest.raises(ptec.runtime.PtecError, match="OUT_OF_RANGE.*INTDIV"):
        run_op(Op.INTDIV, [In(a), In(b)], ([1, 2], I32))


def small_cnn(rng):
    """conv -> rescale -> table -> max_pool -> reshape -> matmul -> rescale, int8."""
    g = GraphBuilder()
    x = rand_int(rng, (1, 8, 8, 3), np.int8)
    g.input("x", [1, 8, 8, 3], I8)
    g.const("w", rand_int(rng, (4, 3, 3, 3), np.int8))
    g.const("b", rng.integers(-500, 500, 4).astype(np.int32))
    g.const("xzp", np.array([-5], np.int8)), g.const("wzp", np.array([0], np.int8))
    g.tensor("acc", [1, 8, 8, 4], I32)
    g.op(Op.CONV2D, ["x", "w", "b", "xzp", "wzp"], ["acc"], pad=[1, 1, 1, 1], stride=[1, 1],
         dilation=[1, 1], acc_type=I32)
    m, s = tm.compute_multipliers_and_shifts(rng.uniform(1e-3, 5e-3, 4))
    g.const("m", m.astype(np.int32)), g.const("s", s.astype(np.int8))
    g.const("z32", np.array([0], np.int32)), g.const("ozp", np.array([-10], np.int8))
    g.tensor("q", [1, 8, 8, 4], I8)
    g.op(Op.RESCALE, ["acc", "m", "s", "z32", "ozp"], ["q"], scale32=True,
         rounding_mode=RoundingMode.SINGLE_ROUND, per_channel=True)
    g.const("tbl", np.clip(np.arange(-128, 128) // 2 + 20, -128, 127).astype(np.int8))
    g.tensor("t", [1, 8, 8, 4], I8)
    g.op(Op.TABLE, ["q", "tbl"], ["t"])
    g.tensor("p", [1, 4, 4, 4], I8)
    g.op(Op.MAX_POOL2D, ["t"], ["p"], kernel=[2, 2], stride=[2, 2], pad=[0, 0, 0, 0],
         nan_mode=NanPropagationMode.PROPAGATE)
    g.const_shape("shape", [1, 1, 64])
    g.tensor("flat", [1, 1, 64], I8)
    g.op(Op.RESHAPE, ["p", "shape"], ["flat"])
    g.const("fc", rand_int(rng, (1, 64, 5), np.int8))
    g.const("z8", np.array([0], np.int8))
    g.tensor("mm", [1, 1, 5], I32)
    g.op(Op.MATMUL, ["flat", "fc", "z8", "z8"], ["mm"])
    m2, s2 = tm.compute_multiplier_and_shift(3e-4)
    g.const("m2", np.array([m2], np.int32)), g.const("s2", np.array([s2], np.int8))
    g.tensor("y", [1, 1, 5], I8)
    g.op(Op.RESCALE, ["mm", "m2", "s2", "z32", "z8"], ["y"], scale32=True,
         rounding_mode=RoundingMode.SINGLE_ROUND, per_channel=False)
    g.output("y")
    return g, x


def small_cnn_reference(g, x):
    t = {n: v.data for n, v in g.tensors.items()}
    acc = ref.conv2d(x, t["w"], t["b"], [1, 1, 1, 1], [1, 1], [1, 1], -5, 0)
    q = ref.rescale(acc, t["m"], t["s"], 0, -10, np.int8, True)
    tb = t["tbl"].astype(np.int64)[q + 128]
    p = ref.max_pool2d(tb.astype(np.int8), [2, 2], [2, 2], [0, 0, 0, 0])
    mm = ref.matmul(p.reshape(1, 1, 64), t["fc"], 0, 0)
    return ref.rescale(mm, t["m2"], t["s2"], 0, 0, np.int8, False)


def test_small_cnn_graph(seed):
    rng = np.random.default_rng(seed)
    g, x = small_cnn(rng)
    (y,) = run_graph(g, [x])
    np.testing.assert_array_equal(y, small_cnn_reference(g, x))


@pytest.mark.parametrize("dtype", [np.int8, np.float32])
def test_transpose_conv2d(seed, dtype):
    rng = np.random.default_rng(seed)
    for _ in range(3):
        n, ih, iw, ic, oc = 1, *(int(v) for v in rng.integers(1, 5, 4))
        kh, kw = (int(v) for v in rng.integers(1, 4, 2))
        stride = [int(v) for v in rng.integers(1, 3, 2)]
        out_pad = [int(rng.integers(-kh + 1, 2)), int(rng.integers(-kh + 1, 2)),
                   int(rng.integers(-kw + 1, 2)), int(rng.integers(-kw + 1, 2))]
        oh = (ih - 1) * stride[0] + out_pad[0] + out_pad[1] + kh
        ow = (iw - 1) * stride[1] + out_pad[2] + out_pad[3] + kw
        if dtype == np.int8:
            x, w = rand_int(rng, (n, ih, iw, ic), np.int8), rand_int(rng, (oc, kh, kw, ic), np.int8)
            b = rng.integers(-999, 999, oc).astype(np.int32)
            xzp, wzp = int(rng.integers(-128, 128)), int(rng.integers(-10, 10))
            zps = [C(np.array([xzp], np.int8)), C(np.array([wzp], np.int8))]
            acc, out_t = I32, I32
        else:
            x = rng.standard_normal((n, ih, iw, ic)).astype(np.float32)
            w = rng.standard_normal((oc, kh, kw, ic)).astype(np.float32)
            b = rng.standard_normal(oc).astype(np.float32)
            xzp = wzp = 0
            zps = [C(np.zeros(1, np.float32)), C(np.zeros(1, np.float32))]
            acc, out_t = F32, F32
        y = run_op(Op.TRANSPOSE_CONV2D, [In(x), C(w), C(b), *zps], ([n, oh, ow, oc], out_t),
                   out_pad=out_pad, stride=stride, acc_type=acc)
        want = ref.transpose_conv2d(x, w, b, out_pad, stride, xzp, wzp)
        if dtype == np.int8:
            np.testing.assert_array_equal(y, want)
        else:
            np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("dtype", [np.int8, np.float32])
def test_conv3d(seed, dtype):
    rng = np.random.default_rng(seed)
    shape = (1, *(int(v) for v in rng.integers(2, 5, 3)), int(rng.integers(1, 4)))
    oc = int(rng.integers(1, 4))
    k = [int(v) for v in rng.integers(1, 3, 3)]
    pad = [int(v) for v in rng.integers(0, 2, 6)]
    stride, dil = [1, 1, 1], [int(v) for v in rng.integers(1, 3, 3)]
    for a in range(3):
        while shape[1 + a] - 1 + pad[2 * a] + pad[2 * a + 1] - (k[a] - 1) * dil[a] < 0:
            pad[2 * a] += 1
    out = [1] + [shape[1 + a] + pad[2 * a] + pad[2 * a + 1] - (k[a] - 1) * dil[a]
                 for a in range(3)] + [oc]
    if dtype == np.int8:
        x, w = rand_int(rng, shape, np.int8), rand_int(rng, (oc, *k, shape[4]), np.int8)
        b = rng.integers(-999, 999, oc).astype(np.int32)
        zps, acc = [C(np.array([4], np.int8)), C(np.array([-2], np.int8))], I32
        want = ref.conv3d(x, w, b, pad, stride, dil, 4, -2)
    else:
        x = rng.standard_normal(shape).astype(np.float32)
        w = rng.standard_normal((oc, *k, shape[4])).astype(np.float32)
        b = rng.standard_normal(oc).astype(np.float32)
        zps, acc = [C(np.zeros(1, np.float32)), C(np.zeros(1, np.float32))], F32
        want = ref.conv3d(x, w, b, pad, stride, dil)
    y = run_op(Op.CONV3D, [In(x), C(w), C(b), *zps], (out, acc), pad=pad, stride=stride,
               dilation=dil, acc_type=acc)
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("bilinear", [False, True])
@pytest.mark.parametrize("dtype", [np.int8, np.float32])
def test_resize(seed, bilinear, dtype):
    from ptec.tosa import ResizeMode
    rng = np.random.default_rng(seed)
    ran = 0
    while ran < 3:
        ih, iw, c = (int(v) for v in rng.integers(1, 6, 3))
        yn, xn = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        yd, xd = int(rng.integers(1, 3)), int(rng.integers(1, 3))
        offset = [int(rng.integers(-yn, yn)), int(rng.integers(-xn, xn))]
        border = []
        for size, num, den, off in ((ih, yn, yd, offset[0]), (iw, xn, xd, offset[1])):
            span = (size - 1) * num - off
            b = (-span) % den  # smallest border making the division exact
            while b >= num:
                b -= den
            border.append(b)
        oh = ((ih - 1) * yn - offset[0] + border[0]) // yd + 1
        ow = ((iw - 1) * xn - offset[1] + border[1]) // xd + 1
        if min(oh, ow) < 1 or ((ih - 1) * yn - offset[0] + border[0]) % yd or \
                ((iw - 1) * xn - offset[1] + border[1]) % xd or \
                (ih - 1) * yn - offset[0] + border[0] < 0 or \
                (iw - 1) * xn - offset[1] + border[1] < 0:
            continue
        x = rand_int(rng, (1, ih, iw, c), np.int8) if dtype == np.int8 else \
            rng.standard_normal((1, ih, iw, c)).astype(np.float32)
        out_t = F32 if dtype == np.float32 else (I32 if bilinear else I8)
        y = run_op(Op.RESIZE, [In(x), S([yn, yd, xn, xd]), S(offset), S(border)],
                   ([1, oh, ow, c], out_t),
                   mode=ResizeMode.BILINEAR if bilinear else ResizeMode.NEAREST)
        want = ref.resize(x, [yn, yd, xn, xd], offset, border, bilinear)
        np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)
        ran += 1


@pytest.mark.parametrize("direction", ["in", "out"])
def test_rescale_unsigned_8bit(seed, direction):
    """input_unsigned / output_unsigned: INT8 tensors holding uint8 values."""
    rng = np.random.default_rng(seed)
    m, s = tm.compute_multiplier_and_shift(float(rng.uniform(0.2, 2.0)))
    uzp = int(rng.integers(0, 256))
    if direction == "in":
        u = rng.integers(0, 256, (3, 8)).astype(np.uint8)
        x, other, out_t = u.view(np.int8), np.int16, I16
        zps = [C(np.array([uzp], np.uint8).view(np.int8)), C(np.array([0], np.int16))]
        want = np.clip(tm.apply_scale_32(u.astype(np.int64) - uzp, m, s), -32768, 32767)
    else:
        x = rand_int(rng, (3, 8), np.int16)
        out_t = I8
        zps = [C(np.array([0], np.int16)), C(np.array([uzp], np.uint8).view(np.int8))]
        want = np.clip(tm.apply_scale_32(x.astype(np.int64), m, s) + uzp, 0, 255)
    y = run_op(Op.RESCALE, [In(x), C(np.array([m], np.int32)), C(np.array([s], np.int8)), *zps],
               ([3, 8], out_t), scale32=True, rounding_mode=RoundingMode.SINGLE_ROUND,
               per_channel=False, input_unsigned=direction == "in",
               output_unsigned=direction == "out")
    if direction == "out":
        y = y.view(np.uint8)
    np.testing.assert_array_equal(y, want)


def test_activation_memory_is_reused_by_lifetime(seed):
    """A chain of 12 ops on 16 KiB tensors: at most two intermediates are ever live,
    so the delegate needs far less than one place per tensor (12 * 16 KiB)."""
    import ptec
    import torch
    from ptec.tosa import delegate_program
    rng = np.random.default_rng(seed)
    x = rng.integers(-2**30, 2**30, (64, 64)).astype(np.int32)
    g = GraphBuilder()
    g.input("x", [64, 64], I32)
    prev, want = "x", x.astype(np.int64)
    for k in range(12):
        op = (Op.BITWISE_NOT, Op.ABS, Op.CLZ)[k % 3]
        g.tensor(f"t{k}", [64, 64], I32)
        g.op(op, [prev], [f"t{k}"])
        want = {Op.BITWISE_NOT: lambda v: ~v, Op.ABS: np.abs, Op.CLZ: ref.clz}[op](want)
        prev = f"t{k}"
    # A diamond: t0 is read again at the end, so it stays live across the chain.
    g.tensor("y", [64, 64], I32)
    g.op(Op.ADD, [prev, "t0"], ["y"])
    want = want + ~x.astype(np.int64)
    g.output("y")
    runner = ptec.load(delegate_program(g.serialize(), g))
    (y,) = runner(torch.from_numpy(x))
    np.testing.assert_array_equal(y.numpy(), want)
    memory = runner.method("forward").requirements.method_memory_bytes
    assert 3 * 16384 <= memory < 5 * 16384, memory


def test_fused_pair_does_not_overlap_its_input(seed):
    """CONV2D -> RESCALE fused: the int8 result is written into the int32
    intermediate's place, never over the conv's input, even when the planner
    reuses memory (input freed by the conv, output placed at the RESCALE)."""
    rng = np.random.default_rng(seed)
    g = GraphBuilder()
    x = rand_int(rng, (1, 6, 6, 8), np.int8)
    g.input("x", [1, 6, 6, 8], I8)
    g.const("zp", np.array([0], np.int8)), g.const("z32", np.array([0], np.int32))
    prev, want = "x", x
    for k in range(3):
        w = rand_int(rng, (8, 1, 1, 8), np.int8)
        b = rng.integers(-100, 100, 8).astype(np.int32)
        g.const(f"w{k}", w), g.const(f"b{k}", b)
        g.tensor(f"acc{k}", [1, 6, 6, 8], I32)
        g.op(Op.CONV2D, [prev, f"w{k}", f"b{k}", "zp", "zp"], [f"acc{k}"], pad=[0, 0, 0, 0],
             stride=[1, 1], dilation=[1, 1], acc_type=I32)
        g.const(f"m{k}", np.array([1 << 30], np.int32))
        g.const(f"s{k}", np.array([38], np.int8))
        g.tensor(f"q{k}", [1, 6, 6, 8], I8)
        g.op(Op.RESCALE, [f"acc{k}", f"m{k}", f"s{k}", "z32", "zp"], [f"q{k}"], scale32=True,
             rounding_mode=RoundingMode.SINGLE_ROUND, per_channel=False)
        acc = ref.conv2d(want, w, b, [0, 0, 0, 0], [1, 1], [1, 1], 0, 0)
        want = ref.rescale(acc, [1 << 30], [38], 0, 0, np.int8, False).astype(np.int8)
        prev = f"q{k}"
    g.output(prev)
    (y,) = run_graph(g, [x])
    np.testing.assert_array_equal(y, want)


def test_outputs_that_are_inputs_or_constants_are_copied(seed):
    rng = np.random.default_rng(seed)
    x = rand_int(rng, (2, 3), np.int8)
    c = rand_int(rng, (4,), np.int16)
    g = GraphBuilder()
    g.input("x", [2, 3], I8)
    g.const("c", c)
    g.output("x")
    g.output("c")
    y, z = run_graph(g, [x])
    np.testing.assert_array_equal(y, x)
    np.testing.assert_array_equal(z, c)


def test_uint8_graph_io(seed):
    """A uint8 program input feeds an INT8 graph input read with input_unsigned, and a
    uint8 program output takes an output_unsigned RESCALE's result."""
    import ptec
    import torch
    from ptec.tosa import delegate_program
    rng = np.random.default_rng(seed)
    u = rng.integers(0, 256, (4, 5)).astype(np.uint8)
    g = GraphBuilder()
    g.input("x", [4, 5], I8)
    g.const("m", np.array([1 << 30], np.int32)), g.const("s", np.array([31], np.int8))
    g.const("uzp", np.array([128], np.uint8).view(np.int8))
    g.const("zp16", np.array([0], np.int16))
    g.tensor("h", [4, 5], I16)
    g.op(Op.RESCALE, ["x", "m", "s", "uzp", "zp16"], ["h"], scale32=True,
         rounding_mode=RoundingMode.SINGLE_ROUND, per_channel=False, input_unsigned=True)
    g.tensor("y", [4, 5], I8)
    g.op(Op.RESCALE, ["h", "m", "s", "zp16", "uzp"], ["y"], scale32=True,
         rounding_mode=RoundingMode.SINGLE_ROUND, per_channel=False, output_unsigned=True)
    g.output("y")
    runner = ptec.load(delegate_program(g.serialize(), g, unsigned=frozenset({"x", "y"})))
    (y,) = runner(torch.from_numpy(u))
    assert y.dtype == torch.uint8
    h = tm.apply_scale_32(u.astype(np.int64) - 128, 1 << 30, 31)
    np.testing.assert_array_equal(y.numpy(), np.clip(tm.apply_scale_32(h, 1 << 30, 31) + 128,
                                                     0, 255))


def test_more_live_tensors_than_the_planner_tracks(seed):
    """40 tensors live at once (the planner tracks 32; the rest go above everything)."""
    rng = np.random.default_rng(seed)
    x = rand_int(rng, (1, 3, 5), np.int8)
    g = GraphBuilder()
    g.input("x", [1, 3, 5], I8)
    parts = []
    for k in range(40):
        g.tensor(f"r{k}", [1, 3, 5], I8)
        g.op(Op.REVERSE, ["x" if k == 0 else f"r{k - 1}"], [f"r{k}"], axis=k % 3)
        parts.append(f"r{k}")
    g.tensor("y", [40, 3, 5], I8)
    g.op(Op.CONCAT, parts, ["y"], axis=0)
    g.output("y")
    want, v = [], x
    for k in range(40):
        v = np.flip(v, k % 3)
        want.append(v)
    (y,) = run_graph(g, [x])
    np.testing.assert_array_equal(y, np.concatenate(want, 0))


# ---------------------------------------------------------------- EXT-INT16
# a16w8: int16 activations, int8 weights, int48 accumulators (int64 in memory),
# RESCALE from INT48 with 16-bit multipliers (scale16).


def scale16(rng, n, lo, hi):
    """scale16 multipliers (INT16) and shifts (INT8) for n scales log-uniform in [lo, hi]."""
    scales = np.exp(rng.uniform(np.log(lo), np.log(hi), n))
    m, s = tm.compute_multipliers_and_shifts(scales, offset=15)
    return m.astype(np.int16), s.astype(np.int8)


def add_rescale(g, src, dst, shape, out_t, m, s, *, in_t=I48, out_zp=0, name=None):
    """RESCALE src -> dst (a new tensor); scale16 for an INT48 input (or INT16 multipliers),
    per channel when there is more than one multiplier."""
    name = name or dst
    scale32 = np.asarray(m).dtype == np.int32
    g.const(f"{name}_m", np.asarray(m)), g.const(f"{name}_s", np.asarray(s, np.int8))
    izp = np.array([0], np.int64 if in_t == I48 else ref.TOSA_TO_NP[in_t])
    g.const(f"{name}_izp", izp, in_t)
    g.const(f"{name}_ozp", np.array([out_zp], ref.TOSA_TO_NP[out_t]))
    g.tensor(dst, shape, out_t)
    g.op(Op.RESCALE, [src, f"{name}_m", f"{name}_s", f"{name}_izp", f"{name}_ozp"], [dst],
         scale32=scale32, rounding_mode=RoundingMode.SINGLE_ROUND,
         per_channel=np.asarray(m).size > 1)


def conv_int16(rng, g, x_name, c, depthwise, bias_kind=None, prefix="c"):
    """Adds an EXT-INT16 CONV2D / DEPTHWISE_CONV2D reading `x_name` (INT16, shape c["x"])
    to g, output f"{prefix}_acc" (INT48); returns (w, bias, w_zp)."""
    w = rand_int(rng, c["w"], np.int8)
    kind = int(rng.integers(0, 3)) if bias_kind is None else bias_kind
    bias = [np.zeros(c["oc"], np.int64), rng.integers(-2**20, 2**20, c["oc"]),
            rng.integers(-2**46, 2**46, c["oc"])][kind]
    wzp = int(rng.integers(-128, 128))
    g.const(f"{prefix}_w", w), g.const(f"{prefix}_b", bias, I48)
    g.const(f"{prefix}_xzp", np.array([0], np.int16))
    g.const(f"{prefix}_wzp", np.array([wzp], np.int8))
    g.tensor(f"{prefix}_acc", c["out"], I48)
    g.op(Op.DEPTHWISE_CONV2D if depthwise else Op.CONV2D,
         [x_name, f"{prefix}_w", f"{prefix}_b", f"{prefix}_xzp", f"{prefix}_wzp"],
         [f"{prefix}_acc"], pad=c["pad"], stride=c["stride"], dilation=c["dilation"],
         acc_type=I48)
    return w, bias, wzp


@pytest.mark.parametrize("depthwise", [False, True])
def test_conv2d_int16(seed, depthwise):
    """int16 x int8 + int48 bias -> int48 (zero, small and 2^46-sized biases, weight zero
    points), then two RESCALEs of the accumulator: per channel to INT16 with scales that
    saturate some outputs, and per tensor to INT32 by 2^-k (the accumulator itself when
    k = 0)."""
    rng = np.random.default_rng(seed)
    saturated = 0
    for _ in range(6):
        c = conv_case(rng, depthwise)
        x = rand_int(rng, c["x"], np.int16)
        g = GraphBuilder()
        g.input("x", c["x"], I16)
        w, bias, wzp = conv_int16(rng, g, "x", c, depthwise)
        acc = ref.conv2d_int16(x, w, bias, c["pad"], c["stride"], c["dilation"], wzp, depthwise)
        m16, s16 = scale16(rng, c["oc"], 2.0**-12, 2.0**-3)
        add_rescale(g, "c_acc", "y16", c["out"], I16, m16, s16)
        k = max(0, int(np.abs(acc).max()).bit_length() - 30)
        add_rescale(g, "c_acc", "y32", c["out"], I32, np.array([1 << 14], np.int16),
                    np.array([14 + k], np.int8))
        g.output("y16"), g.output("y32")
        y16, y32 = run_graph(g, [x])
        want16 = ref.rescale(acc, m16, s16, 0, 0, np.int16, True)
        np.testing.assert_array_equal(y16, want16)
        np.testing.assert_array_equal(y32, ref.rescale(acc, [1 << 14], [14 + k], 0, 0,
                                                       np.int32, False))
        if k == 0:
            np.testing.assert_array_equal(y32, acc)
        saturated += int(np.sum(np.abs(want16) == 32768) + np.sum(want16 == 32767))
    assert saturated > 0  # the final RESCALE's clip to INT16 was exercised


def test_matmul_int16(seed):
    """int16 x int16 -> int48, RESCALEd per channel (along W) to INT16, per tensor to INT8
    with an output zero point, and exactly (scale 2^-k) to INT32."""
    rng = np.random.default_rng(seed)
    for _ in range(3):
        n, h, cc, w = (int(v) for v in rng.integers(1, 7, 4))
        a, b = rand_int(rng, (n, h, cc), np.int16), rand_int(rng, (n, cc, w), np.int16)
        g = GraphBuilder()
        g.input("a", a.shape, I16), g.input("b", b.shape, I16)
        g.const("zp", np.array([0], np.int16))
        g.tensor("acc", [n, h, w], I48)
        g.op(Op.MATMUL, ["a", "b", "zp", "zp"], ["acc"])
        acc = ref.matmul_int16(a, b)
        m16, s16 = scale16(rng, w, 2.0**-20, 2.0**-12)
        add_rescale(g, "acc", "y16", [n, h, w], I16, m16, s16)
        m8, s8 = scale16(rng, 1, 2.0**-30, 2.0**-22)
        ozp = int(rng.integers(-128, 128))
        add_rescale(g, "acc", "y8", [n, h, w], I8, m8, s8, out_zp=ozp)
        k = max(0, int(np.abs(acc).max()).bit_length() - 30)
        add_rescale(g, "acc", "y32", [n, h, w], I32, np.array([1 << 14], np.int16),
                    np.array([14 + k], np.int8))
        g.output("y16"), g.output("y8"), g.output("y32")
        y16, y8, y32 = run_graph(g, [a, b])
        np.testing.assert_array_equal(y16, ref.rescale(acc, m16, s16, 0, 0, np.int16, True))
        np.testing.assert_array_equal(y8, ref.rescale(acc, m8, s8, 0, ozp, np.int8, False))
        np.testing.assert_array_equal(y32, ref.rescale(acc, [1 << 14], [14 + k], 0, 0,
                                                       np.int32, False))


@pytest.mark.parametrize("dst", [np.int8, np.int16, np.int32])
def test_rescale_int48_constant(seed, dst):
    """An INT48 constant (6 bytes per value in the file, int64 in the arena) RESCALEd with
    random scale16 parameters over the whole int48 range: negative values, the range's
    ends, results that saturate int32 and the output dtype."""
    import ptec
    from ptec.tosa import delegate_program
    rng = np.random.default_rng(seed)
    shape = [int(v) for v in rng.integers(1, 6, int(rng.integers(1, 4)))] + [8]
    x = rng.integers(ref.INT48_MIN, ref.INT48_MAX, shape, endpoint=True)
    x.reshape(-1)[:6] = [ref.INT48_MIN, ref.INT48_MAX, -1, 0, 1, -(2**40) - 12345]
    per_channel = bool(rng.integers(0, 2))
    nc = shape[-1] if per_channel else 1
    m = rng.integers(0, 2**15, nc).astype(np.int16)
    s = rng.integers(2, 63, nc).astype(np.int8)
    ozp = int(rng.integers(-128, 128)) if dst == np.int8 else 0
    g = GraphBuilder()
    g.input("dummy", [1], I8)  # a .pte method needs an input; the graph ignores it
    g.const("x", x, I48)
    add_rescale(g, "x", "y", shape, ref.NP_TO_TOSA[np.dtype(dst)], m, s, out_zp=ozp)
    g.output("y")
    runner = ptec.load(delegate_program(g.serialize(), g))
    (y,) = runner(__import__("torch").zeros(1, dtype=__import__("torch").int8))
    np.testing.assert_array_equal(y.numpy(), ref.rescale(x, m, s, 0, ozp, dst, per_channel))
    # the widened constant is part of the delegate's memory, counted before init
    assert runner.method("forward").requirements.method_memory_bytes >= 8 * x.size


@pytest.mark.parametrize("kind", ["avg", "max"])
def test_pool_int16(seed, kind):
    rng = np.random.default_rng(seed)
    for _ in range(4):
        xs, ys, kernel, stride, pad = pool_case(rng)
        x = rand_int(rng, xs, np.int16)
        if kind == "avg":
            zp = C(np.array([0], np.int16))
            y = run_op(Op.AVG_POOL2D, [In(x), zp, zp], (ys, I16), kernel=kernel,
                       stride=stride, pad=pad, acc_type=I32)
            want = ref.avg_pool2d(x, kernel, stride, pad, 0, 0)
        else:
            y = run_op(Op.MAX_POOL2D, [In(x)], (ys, I16), kernel=kernel, stride=stride, pad=pad,
                       nan_mode=NanPropagationMode.PROPAGATE)
            want = ref.max_pool2d(x, kernel, stride, pad)
        np.testing.assert_array_equal(y, want)


def a16w8_block(rng):
    """What an a16w8 model lowers to: conv (INT48) -> RESCALE scale16 per channel -> CLAMP
    (ReLU) -> depthwise (INT48) -> RESCALE -> avg and max pools -> RESCALE both to INT32,
    ADD, RESCALE to INT16 (a quantized add) -> RESHAPE -> MATMUL with an INT16 constant
    (INT48) -> RESCALE to INT16. Scales keep every apply_scale_16 result in int32 (the
    TOSA reference model runs it too)."""
    g = GraphBuilder()
    x = rand_int(rng, (1, 8, 8, 3), np.int16)
    g.input("x", [1, 8, 8, 3], I16)
    c1 = dict(x=(1, 8, 8, 3), w=(6, 3, 3, 3), oc=6, out=[1, 8, 8, 6], pad=[1, 1, 1, 1],
              stride=[1, 1], dilation=[1, 1])
    p = {}
    p["w1"], p["b1"], p["wzp1"] = conv_int16(rng, g, "x", c1, False, bias_kind=1, prefix="c1")
    p["m1"], p["s1"] = scale16(rng, 6, 2.0**-11, 2.0**-7)
    add_rescale(g, "c1_acc", "q1", [1, 8, 8, 6], I16, p["m1"], p["s1"])
    g.tensor("r1", [1, 8, 8, 6], I16)
    g.op(Op.CLAMP, ["q1"], ["r1"], min_val=0, max_val=32767,
         nan_mode=NanPropagationMode.PROPAGATE)
    c2 = dict(x=(1, 8, 8, 6), w=(3, 3, 6, 1), oc=6, out=[1, 8, 8, 6], pad=[1, 1, 1, 1],
              stride=[1, 1], dilation=[1, 1])
    p["w2"], p["b2"], p["wzp2"] = conv_int16(rng, g, "r1", c2, True, bias_kind=0, prefix="c2")
    p["m2"], p["s2"] = scale16(rng, 6, 2.0**-12, 2.0**-9)
    add_rescale(g, "c2_acc", "q2", [1, 8, 8, 6], I16, p["m2"], p["s2"])
    z16 = np.array([0], np.int16)
    g.const("z16", z16)
    g.tensor("avg", [1, 4, 4, 6], I16)
    g.op(Op.AVG_POOL2D, ["q2", "z16", "z16"], ["avg"], kernel=[2, 2], stride=[2, 2],
         pad=[0, 0, 0, 0], acc_type=I32)
    g.tensor("max", [1, 4, 4, 6], I16)
    g.op(Op.MAX_POOL2D, ["q2"], ["max"], kernel=[2, 2], stride=[2, 2], pad=[0, 0, 0, 0],
         nan_mode=NanPropagationMode.PROPAGATE)
    for name, scale in (("avg", 0.75), ("max", 0.5)):  # int16 -> int32 with 2^12 headroom
        mm, ss = tm.compute_multiplier_and_shift(scale * 2**12)
        p[f"{name}_ms"] = (mm, ss)
        add_rescale(g, name, f"{name}32", [1, 4, 4, 6], I32, np.array([mm], np.int32),
                    np.array([ss], np.int8), in_t=I16)
    g.tensor("sum", [1, 4, 4, 6], I32)
    g.op(Op.ADD, ["avg32", "max32"], ["sum"])
    mm, ss = tm.compute_multiplier_and_shift(2.0**-12 * 0.9)
    p["sum_ms"] = (mm, ss)
    add_rescale(g, "sum", "s16", [1, 4, 4, 6], I16, np.array([mm], np.int32),
                np.array([ss], np.int8), in_t=I32)
    g.const_shape("shape", [1, 1, 96])
    g.tensor("flat", [1, 1, 96], I16)
    g.op(Op.RESHAPE, ["s16", "shape"], ["flat"])
    p["fc"] = rand_int(rng, (1, 96, 5), np.int16)
    g.const("fc", p["fc"])
    g.tensor("mm", [1, 1, 5], I48)
    g.op(Op.MATMUL, ["flat", "fc", "z16", "z16"], ["mm"])
    p["m3"], p["s3"] = scale16(rng, 1, 2.0**-24, 2.0**-18)
    add_rescale(g, "mm", "y", [1, 1, 5], I16, p["m3"], p["s3"])
    g.output("y")
    return g, x, p


def a16w8_block_reference(x, p):
    one = [1, 1]
    acc = ref.conv2d_int16(x, p["w1"], p["b1"], [1, 1, 1, 1], one, one, p["wzp1"])
    q1 = ref.rescale(acc, p["m1"], p["s1"], 0, 0, np.int16, True)
    r1 = np.clip(q1, 0, 32767).astype(np.int16)
    acc = ref.conv2d_int16(r1, p["w2"], p["b2"], [1, 1, 1, 1], one, one, p["wzp2"], True)
    q2 = ref.rescale(acc, p["m2"], p["s2"], 0, 0, np.int16, True).astype(np.int16)
    avg = ref.avg_pool2d(q2, [2, 2], [2, 2], [0, 0, 0, 0], 0, 0)
    mx = ref.max_pool2d(q2, [2, 2], [2, 2], [0, 0, 0, 0])
    a32 = ref.rescale(avg, [p["avg_ms"][0]], [p["avg_ms"][1]], 0, 0, np.int32, False)
    m32 = ref.rescale(mx, [p["max_ms"][0]], [p["max_ms"][1]], 0, 0, np.int32, False)
    s16 = ref.rescale(a32 + m32, [p["sum_ms"][0]], [p["sum_ms"][1]], 0, 0, np.int16, False)
    mm = ref.matmul_int16(s16.reshape(1, 1, 96), p["fc"])
    return ref.rescale(mm, p["m3"], p["s3"], 0, 0, np.int16, False)


def test_a16w8_block(seed):
    rng = np.random.default_rng(seed)
    g, x, p = a16w8_block(rng)
    (y,) = run_graph(g, [x])
    np.testing.assert_array_equal(y, a16w8_block_reference(x, p))
