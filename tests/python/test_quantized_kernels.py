"""ptec's fused integer kernels (ops_fused.def) against the NumPy TOSA model.

Every op runs as a one-instruction program through ptec's C runtime (built
by program_builder, run by ptec.load) on random shapes, values, scales,
zero points and activation ranges drawn from the printed `seed`, in NCHW
(contiguous) and NHWC (channels-last) layouts, and must equal
tests/python/tosa_ref.py bit for bit. Scale regimes cover typical float
scales, saturation (outputs pushed to the dtype's ends) and the shift
extremes 2, 40 and 62.

The model itself is checked against float math (within 1 LSB of the real
result divided by the output scale, rounded as TOSA rounds, plus the zero
point; equal to it for 99% of the elements), bad static parameters must
fail at method init with their status, and a few programs run through the
command-line runner built with ASan and UBSan.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import ptec
import tosa_ref as R
from program_builder import CHANNELS_LAST, Const, Input, Out, build, run, run_op
from ptec.quant import tosa_math as tm
from ptec.runtime import PtecError

REPO = Path(__file__).resolve().parents[2]
RUNNER = Path(os.environ.get("PTEC_RUN_ASAN", REPO / "build" / "asan" / "ptec-run"))

LAYOUTS = ["nchw", "nhwc"]
#: Scale regimes: float-derived, saturating, fixed shifts with random multipliers.
REGIMES = ["typical", "saturate", "shift2", "shift40", "shift62", "typical-2"]

OUT_OF_RANGE = "PTEC_STATUS_OUT_OF_RANGE"
TYPE_MISMATCH = "PTEC_STATUS_TYPE_MISMATCH"
SHAPE_MISMATCH = "PTEC_STATUS_SHAPE_MISMATCH"


# ------------------------------------------------------------ helpers

def order4(layout: str):
    return CHANNELS_LAST if layout == "nhwc" else None


def dtype_of(bits: int):
    return np.int16 if bits == 16 else np.int8


def rand_int(rng, dtype, shape) -> np.ndarray:
    lo, hi = R.dtype_range(dtype)
    return rng.integers(lo, hi + 1, size=shape).astype(dtype)


def near(rng, dtype, shape, zp: int, spread: int = 2) -> np.ndarray:
    """Values within `spread` of the zero point: small accumulators, so that
    with a matching output scale every accumulator step shows in the output."""
    lo, hi = R.dtype_range(dtype)
    return np.clip(zp + rng.integers(-spread, spread + 1, size=shape), lo, hi).astype(dtype)


def zero_point(rng, dtype, case: int) -> int:
    """Extremes in some cases, random in others."""
    lo, hi = R.dtype_range(dtype)
    return int([lo, hi, rng.integers(lo, hi + 1), 0][case % 4])


def act_range(rng, dtype, out_zp: int, case: int) -> tuple[int, int]:
    """The dtype's full range (half the time), a fused relu (from the zero
    point; case % 4 == 1 always takes it) or a relu6-like / random window."""
    lo, hi = R.dtype_range(dtype)
    kind = 1 if case % 4 == 1 else int(rng.choice([0, 0, 0, 1, 2, 3]))
    if kind == 0:
        return lo, hi
    if kind == 1:
        return out_zp, hi
    if kind == 2:
        return out_zp, int(min(hi, out_zp + rng.integers(6, 120)))
    a = int(rng.integers(lo, hi - 60))
    return a, int(rng.integers(a + 50, hi + 1))


def output_qparams(rng, real: np.ndarray, dtype, case: int) -> tuple[float, int]:
    """Output scale and zero point for real results `real` (in real units):
    as a PT2E min/max observer calibrates them (the range, widened to hold 0,
    spans the dtype) unless case % 4 == 3, where the scale puts `real` at
    about 50 steps RMS and the zero point is extreme or random (saturation
    on one side)."""
    lo, hi = R.dtype_range(dtype)
    real = np.asarray(real, dtype=np.float64)
    if case % 4 != 3:
        r_lo, r_hi = min(float(real.min(initial=0.0)), 0.0), max(float(real.max(initial=0.0)), 0.0)
        scale = max(r_hi - r_lo, 1e-6) / (hi - lo)
        return scale, int(np.clip(lo - round(r_lo / scale), lo, hi))
    return output_scale(real), zero_point(rng, dtype, case // 4)


def scales_for(rng, regime: str, real_scales) -> tuple[np.ndarray, np.ndarray]:
    """int32 multipliers and shifts for the real scales under a regime."""
    real = np.minimum(np.asarray(real_scales, dtype=np.float64).reshape(-1), 2.0**20)
    if regime.startswith("typical"):
        return tm.compute_multipliers_and_shifts(real)
    if regime == "saturate":
        return tm.compute_multipliers_and_shifts(real * rng.uniform(30, 300))
    shift = {"shift2": 2, "shift40": 40, "shift62": 62}[regime]
    m = rng.integers(1 << 30, 1 << 31, size=real.size).astype(np.int32)
    return m, np.full(real.size, shift, dtype=np.int32)


def scale_for(rng, regime: str, real: float) -> tuple[int, int]:
    m, s = scales_for(rng, regime, [real])
    return int(m[0]), int(s[0])


def output_scale(acc_real: np.ndarray) -> float:
    """An output scale that puts `acc_real` at about 50 steps RMS."""
    rms = float(np.sqrt(np.mean(np.square(acc_real, dtype=np.float64)))) if acc_real.size else 1.0
    return max(rms, 1e-6) / 50.0


def check(op: str, args, expected) -> None:
    got = run_op(op, args)
    expected = np.asarray(expected)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    np.testing.assert_array_equal(got.astype(np.int64), expected)


# --------------------------------------------------------------- conv2d

def conv_case(rng, case: int, *, depthwise=False, bits=8, regime="typical"):
    """Random conv2d arguments (NumPy) and the model's output."""
    dt = dtype_of(bits)
    n = int(rng.integers(1, 3))
    if depthwise:
        c = int(rng.integers(1, 9))
        groups, o = c, c * int(rng.integers(1, 3))
    else:
        groups = int(rng.choice([1, 1, 2, 3]))
        c, o = groups * int(rng.integers(1, 6)), groups * int(rng.integers(1, 5))
    kh, kw = (int(v) for v in rng.integers(1, 4, size=2))
    stride = [int(v) for v in rng.integers(1, 3, size=2)]
    dilation = [int(v) for v in rng.integers(1, 3, size=2)]
    pads = [int(v) for v in rng.integers(0, 3, size=4)]
    padding = [pads[0]] if case % 3 == 0 else pads[:2] if case % 3 == 1 else pads
    pt, pb, pl, pr = R.padding4(padding)
    h = max(int(rng.integers(1, 10)), dilation[0] * (kh - 1) + 1 - pt - pb)
    w = max(int(rng.integers(1, 10)), dilation[1] * (kw - 1) + 1 - pl - pr)
    in_zp = zero_point(rng, dt, case) if bits == 8 else int(rng.integers(-4, 5))
    w_zp = int(rng.choice([0, 0, 0, 0, -128, 127, int(rng.integers(-128, 128))]))
    if case % 4 == 2:  # small accumulators: every accumulator step shows
        x = near(rng, dt, (n, c, h, w), in_zp)
        wt = near(rng, np.int8, (o, c // groups, kh, kw), w_zp)
    else:
        x, wt = rand_int(rng, dt, (n, c, h, w)), rand_int(rng, np.int8, (o, c // groups, kh, kw))
    bias_dtype = np.int32 if bits == 8 or case % 2 else np.int64
    reach = 20 if case % 4 == 2 else 5000  # a bias on the accumulators' scale
    bias = None if case % 5 == 4 else rng.integers(-reach, reach, size=o).astype(bias_dtype)
    s_in = float(rng.uniform(0.005, 0.1))
    s_w = rng.uniform(0.001, 0.05, size=o if case % 2 == 0 else 1)
    acc = R.conv2d_acc(x, wt, stride, padding, dilation, groups, in_zp, w_zp)
    s_out, out_zp = output_qparams(rng, acc * s_in * s_w.reshape(1, -1, 1, 1), dt, case)
    mult, shift = scales_for(rng, regime, s_in * s_w / s_out)
    lo, hi = act_range(rng, dt, out_zp, case)
    params = [stride, padding, dilation, groups, in_zp, w_zp]
    expected = R.quantized_conv2d(x, wt, bias, *params, mult, shift, out_zp, lo, hi)
    return dict(x=x, w=wt, bias=bias, params=params, mult=mult, shift=shift, out_zp=out_zp,
                lo=lo, hi=hi, expected=expected)


def conv_args(k, x_order=None, w_order=None, out_order=None):
    bias = None if k["bias"] is None else Const(k["bias"])
    return [Input(k["x"], x_order), Const(k["w"], w_order), bias, *k["params"],
            Const(k["mult"]), Const(k["shift"]), k["out_zp"], k["lo"], k["hi"],
            Out(k["expected"].shape, k["x"].dtype, out_order)]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("case", range(len(REGIMES)), ids=REGIMES)
def test_conv2d(seed, layout, case):
    rng = np.random.default_rng(seed)
    for sub in range(8):
        k = conv_case(rng, case + sub, regime=REGIMES[case])
        o = order4(layout)
        check("ptec::quantized_conv2d.out", conv_args(k, o, o, o), k["expected"])


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("case", range(len(REGIMES)), ids=REGIMES)
def test_conv2d_depthwise(seed, layout, case):
    rng = np.random.default_rng(seed)
    for sub in range(8):
        k = conv_case(rng, case + sub, depthwise=True, regime=REGIMES[case])
        o = order4(layout)
        # Weights as TOSA's HWCM ([KH, KW, O] in memory) or OHWI / OIHW.
        w_order = [(1, 2, 3, 0), o, None, (1, 2, 3, 0)][sub % 4]
        check("ptec::quantized_conv2d.out", conv_args(k, o, w_order, o), k["expected"])


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("case", range(4))
def test_conv2d_a16w8(seed, layout, case):
    rng = np.random.default_rng(seed)
    k = conv_case(rng, case, bits=16, depthwise=case == 3, regime=REGIMES[case])
    o = order4(layout)
    check("ptec::quantized_conv2d.out", conv_args(k, o, o, o), k["expected"])


def test_conv2d_mixed_layouts(seed):
    """Input, weight and out each in its own dim order."""
    rng = np.random.default_rng(seed)
    for case in range(4):
        k = conv_case(rng, case, depthwise=case == 3)
        orders = [None, CHANNELS_LAST, (0, 3, 2, 1), (1, 0, 3, 2)]
        x_o, w_o, y_o = (orders[(case + j) % 4] for j in range(3))
        check("ptec::quantized_conv2d.out", conv_args(k, x_o, w_o, y_o), k["expected"])


@pytest.mark.parametrize("kind", ["conv", "grouped", "depthwise", "depthwise_x3"])
def test_conv2d_fine_scale_all_layouts(seed, kind):
    """Small accumulators at a scale of 1/4 per step, so accumulator errors
    shows, through the reference loop (NCHW), the NHWC fast paths and mixed
    layouts."""
    rng = np.random.default_rng(seed)
    c, o, groups = {"conv": (5, 6, 1), "grouped": (6, 4, 2), "depthwise": (37, 37, 37),
                    "depthwise_x3": (7, 21, 7)}[kind]
    x = near(rng, np.int8, (2, c, 6, 7), -5, 3)
    w = near(rng, np.int8, (o, c // groups, 3, 2), 0, 3)
    bias = rng.integers(-10, 10, size=o).astype(np.int32)
    mult, shift = np.full(o, 1 << 30, np.int32), np.full(o, 32, np.int32)
    params = [[1, 2], [1, 0, 1, 1], [2, 1], groups, -5, 0]
    expected = R.quantized_conv2d(x, w, bias, *params, mult, shift, 3, -128, 127)
    assert np.abs(expected).max() < 127, "the test's data should not saturate"
    k = dict(x=x, w=w, bias=bias, params=params, mult=mult, shift=shift, out_zp=3, lo=-128,
             hi=127, expected=expected)
    nhwc = CHANNELS_LAST
    for x_o, w_o, y_o in [(None, None, None), (nhwc, nhwc, nhwc), (nhwc, (1, 2, 3, 0), None),
                          (nhwc, None, nhwc)]:
        check("ptec::quantized_conv2d.out", conv_args(k, x_o, w_o, y_o), expected)


def test_conv2d_accumulator_saturates(seed):
    """Accumulators beyond int32 (TOSA: unpredictable) saturate, in C and model alike:
    a16w8 with extreme values, and an int8 conv too large for the int32 fast path."""
    rng = np.random.default_rng(seed)
    x = np.full((1, 40, 3, 3), 32767, np.int16)
    w = np.full((2, 40, 3, 3), 127, np.int8)
    w[1] = -128
    bias = np.array([-2_000_000_000, -5], np.int64)
    mult, shift = np.array([1 << 30], np.int32), np.array([50], np.int32)
    params = [[1], [0], [1], 1, 0, -128]
    expected = R.quantized_conv2d(x, w, bias, *params, mult, shift, 0, -32768, 32767)
    # (sat32(acc) + bias) * 2^-20: 141; the exact acc + bias would give 955.
    assert expected[0, 0, 0, 0] == 141
    check("ptec::quantized_conv2d.out",
          [Input(x), Const(w), Const(bias), *params, Const(mult), Const(shift), 0, -32768, 32767,
           Out(expected.shape, np.int16)], expected)
    # int8, 40000 terms of 255 * 255: past the int32 fast path's bound.
    x8 = rand_int(rng, np.int8, (1, 40000, 1, 1))
    x8[:, :35000] = 127
    w8 = np.full((1, 40000, 1, 1), -128, np.int8)
    params8 = [[1], [0], [1], 1, -128, 127]
    shift8 = np.array([58], np.int32)
    exp8 = R.quantized_conv2d(x8, w8, None, *params8, mult, shift8, 3, -128, 127)
    for order in (None, CHANNELS_LAST):
        check("ptec::quantized_conv2d.out",
              [Input(x8, order), Const(w8, order), None, *params8, Const(mult), Const(shift8), 3,
               -128, 127, Out(exp8.shape, np.int8, order)], exp8)


# --------------------------------------------------------------- linear

def linear_case(rng, case, bits=8, regime="typical"):
    dt = dtype_of(bits)
    lead = [int(v) for v in rng.integers(1, 4, size=int(rng.integers(0, 3)))]
    kdim, n = int(rng.integers(1, 40)), int(rng.integers(1, 12))
    in_zp = zero_point(rng, dt, case) if bits == 8 else 0
    w_zp = int(rng.choice([0, 0, 0, 0, -128, 127, int(rng.integers(-128, 128))]))
    if case % 4 == 2:
        x, w = near(rng, dt, (*lead, kdim), in_zp), near(rng, np.int8, (n, kdim), w_zp)
    else:
        x, w = rand_int(rng, dt, (*lead, kdim)), rand_int(rng, np.int8, (n, kdim))
    reach = 20 if case % 4 == 2 else 20000
    bias = None if case % 3 == 1 else rng.integers(-reach, reach, size=n).astype(
        np.int32 if bits == 8 else np.int64)
    s_in, s_w = float(rng.uniform(0.01, 0.1)), rng.uniform(0.001, 0.05, size=n if case % 2 else 1)
    acc = np.matmul(x.astype(np.int64) - in_zp, (w.astype(np.int64) - w_zp).T)
    s_out, out_zp = output_qparams(rng, acc * s_in * s_w, dt, case)
    mult, shift = scales_for(rng, regime, s_in * s_w / s_out)
    lo, hi = act_range(rng, dt, out_zp, case)
    expected = R.quantized_linear(x, w, bias, in_zp, w_zp, mult, shift, out_zp, lo, hi)
    args = [Input(x), Const(w), None if bias is None else Const(bias), in_zp, w_zp,
            Const(mult), Const(shift), out_zp, lo, hi, Out(expected.shape, dt)]
    return args, expected


@pytest.mark.parametrize("bits", [8, 16])
@pytest.mark.parametrize("case", range(len(REGIMES)), ids=REGIMES)
def test_linear(seed, bits, case):
    rng = np.random.default_rng(seed)
    for sub in range(8):
        args, expected = linear_case(rng, case + sub, bits, REGIMES[case])
        check("ptec::quantized_linear.out", args, expected)


def test_linear_strided_layouts(seed):
    """Input with K not innermost and a transposed weight: the strided path."""
    rng = np.random.default_rng(seed)
    x = rand_int(rng, np.int8, (3, 5, 17))
    w = rand_int(rng, np.int8, (6, 17))
    mult, shift = scales_for(rng, "shift40", np.ones(6))
    expected = R.quantized_linear(x, w, None, 7, -3, mult, shift, -1, -128, 127)
    check("ptec::quantized_linear.out",
          [Input(x, (2, 0, 1)), Const(w, (1, 0)), None, 7, -3, Const(mult), Const(shift), -1,
           -128, 127, Out(expected.shape, np.int8, (1, 2, 0))], expected)


# --------------------------------------------------------------- matmul

@pytest.mark.parametrize("case", range(len(REGIMES)), ids=REGIMES)
def test_matmul(seed, case):
    rng = np.random.default_rng(seed)
    for sub in range(8):
        m, kdim, n = (int(v) for v in rng.integers(1, 12, size=3))
        batch_a = [[], [2], [3, 1], [1, 2], [2, 2]][(sub + case) % 5]
        batch_b = [[2], [], [1, 4], [3, 1, 2], [2, 2]][(sub + case) % 5]
        a_zp, b_zp = zero_point(rng, np.int8, case), zero_point(rng, np.int8, case + sub + 1)
        shape_a, shape_b = (*batch_a, m, kdim), (*batch_b, kdim, n)
        if (sub + case) % 4 == 2:
            a, b = near(rng, np.int8, shape_a, a_zp), near(rng, np.int8, shape_b, b_zp)
        else:
            a, b = rand_int(rng, np.int8, shape_a), rand_int(rng, np.int8, shape_b)
        acc = np.matmul(a.astype(np.int64) - a_zp, b.astype(np.int64) - b_zp)
        s_out, out_zp = output_qparams(rng, acc, np.int8, sub + case)
        mult, shift = scale_for(rng, REGIMES[case], 1.0 / s_out)
        expected = R.quantized_matmul(a, b, a_zp, b_zp, mult, shift, out_zp)
        # b transposed in memory (K innermost) takes the dot-product path.
        b_order = list(range(b.ndim))
        if sub != 1:
            b_order[-2:] = b_order[-1], b_order[-2]
        check("ptec::quantized_matmul.out",
              [Input(a), Const(b, b_order), a_zp, b_zp, mult, shift, out_zp,
               Out(expected.shape, np.int8)], expected)


# ------------------------------------------------------------ add / mul

BROADCASTS = [((2, 3, 4, 5), (2, 3, 4, 5)), ((2, 3, 4, 5), (1, 3, 1, 1)),
              ((1, 4, 3, 3), (2, 4, 1, 3)), ((2, 5, 3, 4), (4,))]


def binary_inputs(rng, case, bits):
    dt = dtype_of(bits)
    sa, sb = BROADCASTS[case % len(BROADCASTS)]
    return rand_int(rng, dt, sa), rand_int(rng, dt, sb), dt


def b_order(b, layout):
    return CHANNELS_LAST if layout == "nhwc" and b.ndim == 4 else None


@pytest.mark.parametrize("bits", [8, 16])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("case", range(len(REGIMES)), ids=REGIMES)
def test_add(seed, bits, layout, case):
    rng = np.random.default_rng(seed)
    for sub in range(4):
        a, b, dt = binary_inputs(rng, case + sub, bits)
        s_a, s_b = (float(v) for v in rng.uniform(0.005, 0.1, size=2))
        a_zp, b_zp = zero_point(rng, dt, case + sub), zero_point(rng, dt, case + 1)
        real = (a.astype(np.float64) - a_zp) * s_a + (b.astype(np.float64) - b_zp) * s_b
        s_out, out_zp = output_qparams(rng, real, dt, case + sub)
        (am, ash), (bm, bsh), (om, osh) = R.add_params(s_a, s_b, s_out, dt)
        if REGIMES[case] != "typical":
            om, osh = scale_for(rng, REGIMES[case], om / 2.0**osh)
        lo, hi = act_range(rng, dt, out_zp, case + sub)
        params = [a_zp, am, ash, b_zp, bm, bsh, out_zp, om, osh, lo, hi]
        expected = R.quantized_add(a, b, *params)
        o = order4(layout)
        check("ptec::quantized_add.out",
              [Input(a, o), Input(b, b_order(b, layout)), *params,
               Out(expected.shape, dt, o)], expected)


@pytest.mark.parametrize("bits", [8, 16])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("case", range(len(REGIMES)), ids=REGIMES)
def test_mul(seed, bits, layout, case):
    rng = np.random.default_rng(seed)
    for sub in range(4):
        a, b, dt = binary_inputs(rng, case + sub, bits)
        a_zp, b_zp = zero_point(rng, dt, case + sub), zero_point(rng, dt, case + 3)
        if bits == 16:  # keep the int16 product mostly inside int32
            a_zp, b_zp = a_zp // 64, b_zp // 64
        prod = (a.astype(np.int64) - a_zp) * (b.astype(np.int64) - b_zp)
        s_out, out_zp = output_qparams(rng, prod, dt, case + sub)
        mult, shift = scale_for(rng, REGIMES[case], 1.0 / s_out)
        lo, hi = act_range(rng, dt, out_zp, case)
        params = [a_zp, b_zp, mult, shift, out_zp, lo, hi]
        expected = R.quantized_mul(a, b, *params)
        o = order4(layout)
        check("ptec::quantized_mul.out",
              [Input(a, o), Const(b, b_order(b, layout)), *params,
               Out(expected.shape, dt, o)], expected)


# ---------------------------------------------------------------- pools

def pool_window(rng, case):
    kernel = [int(v) for v in rng.integers(1, 4, size=2)]
    stride = [] if case % 4 == 0 else [int(v) for v in rng.integers(1, 3, size=2)]
    pads = [int(rng.integers(0, kernel[0])), int(rng.integers(0, kernel[0])),
            int(rng.integers(0, kernel[1])), int(rng.integers(0, kernel[1]))]
    padding = pads if case % 2 else [min(pads[0], pads[1]), min(pads[2], pads[3])]
    return kernel, stride, padding


@pytest.mark.parametrize("bits", [8, 16])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("case", range(4))
def test_avg_pool2d(seed, bits, layout, case):
    rng = np.random.default_rng(seed)
    dt = dtype_of(bits)
    for sub in range(4):
        kernel, stride, padding = pool_window(rng, case + sub)
        rank = 3 if (case + sub) % 5 == 4 else 4
        shape = [int(rng.integers(1, 3)), int(rng.integers(1, 40)), *rng.integers(3, 9, size=2)]
        x = rand_int(rng, dt, shape[4 - rank:])
        in_zp, out_zp = zero_point(rng, dt, case + sub), zero_point(rng, dt, case + 1)
        lo, hi = act_range(rng, dt, out_zp, case + sub)
        expected = R.quantized_avg_pool2d(x, kernel, stride, padding, in_zp, out_zp, lo, hi)
        o = order4(layout) if rank == 4 else ((1, 2, 0) if layout == "nhwc" else None)
        check("ptec::quantized_avg_pool2d.out",
              [Input(x, o), kernel, stride, padding, in_zp, out_zp, lo, hi,
               Out(expected.shape, dt, o)], expected)


@pytest.mark.parametrize("bits", [8, 16])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("case", range(4))
def test_max_pool2d(seed, bits, layout, case):
    rng = np.random.default_rng(seed)
    dt = dtype_of(bits)
    for sub in range(4):
        kernel, stride, padding = pool_window(rng, case + sub)
        dilation = [int(v) for v in rng.integers(1, 3, size=2)]
        x = rand_int(rng, dt, (int(rng.integers(1, 3)), int(rng.integers(1, 9)),
                               *rng.integers(5, 10, size=2)))
        if case == 3:
            x[:] = R.dtype_range(dt)[0]  # all minimum: padding must still not win
        lo, hi = act_range(rng, dt, zero_point(rng, dt, case), case + sub)
        expected = R.quantized_max_pool2d(x, kernel, stride, padding, dilation, lo, hi, dt)
        o = order4(layout)
        check("ptec::quantized_max_pool2d.out",
              [Input(x, o), kernel, stride, padding, dilation, lo, hi,
               Out(expected.shape, dt, o)], expected)


# ----------------------------------------------------------------- mean

MEAN_DIMS = [[2, 3], [-1, -2], [1], [0, 2], [], [3]]


@pytest.mark.parametrize("bits", [8, 16])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("case", range(len(REGIMES)), ids=REGIMES)
def test_mean(seed, bits, layout, case):
    rng = np.random.default_rng(seed)
    dt = dtype_of(bits)
    for sub in range(4):
        x = rand_int(rng, dt, tuple(int(v) for v in rng.integers(1, 7, size=4)))
        dims, keepdim = MEAN_DIMS[(case + sub) % len(MEAN_DIMS)], bool(sub % 2)
        count = int(np.prod([x.shape[d] for d in dims])) if dims else x.size
        s_in = float(rng.uniform(0.01, 0.1))
        s_out = s_in * float(rng.uniform(0.3, 1.5))
        mult, shift = scale_for(rng, REGIMES[case], s_in / (count * s_out))
        in_zp, out_zp = zero_point(rng, dt, case + sub), zero_point(rng, dt, case + 1)
        lo, hi = act_range(rng, dt, out_zp, case)
        params = [dims, keepdim, in_zp, mult, shift, out_zp, lo, hi]
        expected = R.quantized_mean(x, *params)
        y_order = CHANNELS_LAST if layout == "nhwc" and expected.ndim == 4 else None
        check("ptec::quantized_mean.out",
              [Input(x, order4(layout)), *params, Out(expected.shape, dt, y_order)], expected)


# ---------------------------------------------------------------- table

@pytest.mark.parametrize("layout", LAYOUTS)
def test_table_int8(seed, layout):
    rng = np.random.default_rng(seed)
    x = rand_int(rng, np.int8, (2, 3, 4, 5))
    x.flat[:2] = [-128, 127]
    tbl = rand_int(rng, np.int8, (256,))
    o = order4(layout)
    check("ptec::table.out", [Input(x, o), Const(tbl), Out(x.shape, np.int8, o)],
          R.table(x, tbl))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_table_int16(seed, layout):
    rng = np.random.default_rng(seed)
    x = rand_int(rng, np.int16, (2, 3, 4, 5))
    x.flat[:4] = [-32768, 32767, -1, 0]
    # Slopes must fit int16 (TOSA): a random walk with bounded steps.
    tbl = np.clip(np.cumsum(rng.integers(-300, 300, size=513)), -32768, 32767).astype(np.int16)
    o = order4(layout)
    check("ptec::table.out", [Input(x, o), Const(tbl), Out(x.shape, np.int32, o)],
          R.table(x, tbl))


# -------------------------------------------------------------- rescale

RESCALE_DTYPES = [(np.int8, np.int8), (np.int8, np.int32), (np.int32, np.int8),
                  (np.int16, np.int16), (np.int32, np.int16), (np.int16, np.int8)]


@pytest.mark.parametrize("dtypes", RESCALE_DTYPES, ids=lambda d: f"{d[0].__name__}-{d[1].__name__}")
@pytest.mark.parametrize("case", range(len(REGIMES)), ids=REGIMES)
def test_rescale(seed, dtypes, case):
    rng = np.random.default_rng(seed)
    din, dout = dtypes
    for sub in range(4):
        x = rand_int(rng, din, (2, 3, 4, 5))
        if din == np.int32:
            x = (x // rng.integers(1, 1 << 20, size=x.shape)).astype(np.int32)  # varied magnitudes
        axis = [1, -1, 0, 2][(case + sub) % 4]
        per_channel = (case + sub) % 2 == 0
        channels = x.shape[axis] if per_channel else 1
        in_zp = zero_point(rng, din, case + sub) if din != np.int32 else 0
        out_zp = zero_point(rng, dout, case) if dout != np.int32 else int(rng.integers(-9, 9))
        real = rng.uniform(0.001, 2.0, size=channels)
        mult, shift = scales_for(rng, REGIMES[case], real)
        expected = R.rescale(x, in_zp, mult, shift, out_zp, axis, dout)
        o = order4("nhwc" if sub % 2 else "nchw")
        check("ptec::rescale.out",
              [Input(x, o), in_zp, Const(mult), Const(shift), out_zp, axis, Out(x.shape, dout, o)],
              expected)


def test_planned_scale_tensors_checked_at_execute(seed):
    """Multiplier/shift that are not constants are checked when the kernel runs."""
    rng = np.random.default_rng(seed)
    x = rand_int(rng, np.int8, (2, 3))
    good_m, good_s = np.array([1 << 30] * 3, np.int32), np.array([31] * 3, np.int32)
    args = lambda m, s: [Input(x), 0, Input(m), Input(s), 0, 1, Out(x.shape, np.int8)]  # noqa: E731
    check("ptec::rescale.out", args(good_m, good_s), R.rescale(x, 0, good_m, good_s, 0, 1, np.int8))
    with pytest.raises(PtecError) as info:
        run(build("ptec::rescale.out", args(good_m, np.array([31, 63, 31], np.int32))))
    assert info.value.status == OUT_OF_RANGE and "shift[1]" in info.value.message


# ---------------------------------- the NumPy model against float math

def assert_within_one(model: np.ndarray, real: np.ndarray, zp: int, lo: int, hi: int,
                      half_away: bool = False):
    """Within 1 LSB of the real result rounded half up (TOSA's SINGLE_ROUND)
    and mostly equal to it: what is left are the few values near a rounding
    boundary that the multiplier's 31 bits (or the add's 2^20 grid) move.
    AVG_POOL2D's reciprocal_scale is a hair above 1/count, which rounds
    ties away from zero (`half_away`)."""
    rounded = np.sign(real) * np.floor(np.abs(real) + 0.5) if half_away else np.floor(real + 0.5)
    ideal = np.clip(rounded + zp, lo, hi)
    diff = np.abs(model.astype(np.int64) - ideal)
    assert diff.max() <= 1, f"model differs from float by {diff.max()} LSB"
    assert (diff == 0).mean() > 0.99, "model rounds away from the float result too often"


def test_model_conv2d_matches_float(seed):
    rng = np.random.default_rng(seed)
    for case in range(6):
        k = conv_case(rng, case, depthwise=case % 3 == 2)
        stride, padding, dilation, groups, in_zp, w_zp = k["params"]
        m, s = k["mult"].astype(np.float64), k["shift"].astype(np.float64)
        real_scale = m * 2.0**-s  # s_in * s_w / s_out, as the model sees it
        pt, pb, pl, pr = R.padding4(padding)
        xf = torch.from_numpy(k["x"].astype(np.float64) - in_zp)
        xf = F.pad(xf, (pl, pr, pt, pb))
        wf = torch.from_numpy(k["w"].astype(np.float64) - w_zp)
        bias = torch.zeros(wf.shape[0], dtype=torch.float64) if k["bias"] is None else \
            torch.from_numpy(k["bias"].astype(np.float64))
        acc = F.conv2d(xf, wf, bias, stride, 0, dilation, groups).numpy()
        real = acc * real_scale.reshape(1, -1, 1, 1)
        assert_within_one(k["expected"], real, k["out_zp"], k["lo"], k["hi"])


def test_model_linear_and_matmul_match_float(seed):
    rng = np.random.default_rng(seed)
    for case in range(4):
        args, expected = linear_case(rng, case)
        x, w, bias = args[0].array, args[1].array, args[2]
        in_zp, w_zp, m, s, out_zp, lo, hi = (args[3], args[4], args[5].array, args[6].array,
                                             args[7], args[8], args[9])
        acc = (x.astype(np.float64) - in_zp) @ (w.astype(np.float64) - w_zp).T
        if bias is not None:
            acc = acc + bias.array
        assert_within_one(expected, acc * (m * 2.0**-s.astype(np.float64)), out_zp, lo, hi)
    a = rand_int(rng, np.int8, (3, 7, 9))
    b = rand_int(rng, np.int8, (9, 5))
    m, s = tm.compute_multiplier_and_shift(0.002)
    model = R.quantized_matmul(a, b, 5, -2, m, s, 4)
    real = ((a.astype(np.float64) - 5) @ (b.astype(np.float64) + 2)) * 0.002
    assert_within_one(model, real, 4, -128, 127)


def test_model_add_and_mul_match_float(seed):
    rng = np.random.default_rng(seed)
    for bits in (8, 16):
        dt = dtype_of(bits)
        a, b = rand_int(rng, dt, (4, 50)), rand_int(rng, dt, (50,))
        # Random scales: decimal ones make exact ties (x.5) that either rounding may take.
        s_a, s_b, s_out = (float(v) for v in rng.uniform(0.005, 0.05, size=3))
        (am, ash), (bm, bsh), (om, osh) = R.add_params(s_a, s_b, s_out, dt)
        lo, hi = R.dtype_range(dt)
        model = R.quantized_add(a, b, 3, am, ash, -7, bm, bsh, 2, om, osh, lo, hi)
        real = ((a.astype(np.float64) - 3) * s_a + (b.astype(np.float64) + 7) * s_b) / s_out
        assert_within_one(model, real, 2, lo, hi)
        m, s = R.mul_params(s_a, s_b, 0.5 if bits == 8 else 2000.0)
        model = R.quantized_mul(a, b, 3, -7, m, s, 1, lo, hi)
        real = (a.astype(np.float64) - 3) * (b.astype(np.float64) + 7) * s_a * s_b / (
            0.5 if bits == 8 else 2000.0)
        assert_within_one(model, real, 1, lo, hi)


def test_model_avg_pool_and_mean_match_float(seed):
    rng = np.random.default_rng(seed)
    x = rand_int(rng, np.int8, (2, 6, 9, 7))
    model = R.quantized_avg_pool2d(x, [3, 2], [2, 1], [1, 1, 0, 1], -5, 9, -128, 127)
    xf = torch.from_numpy(x.astype(np.float64) + 5)
    # The average over the elements inside the input only: NaN padding, nanmean.
    windows = F.pad(xf, (0, 1, 1, 1), value=float("nan")).unfold(2, 3, 2).unfold(3, 2, 1)
    real = np.nanmean(windows.numpy(), axis=(-1, -2))
    assert_within_one(model, real, 9, -128, 127, half_away=True)
    m, s = R.mean_params(0.04, 9 * 7, 0.03)
    model = R.quantized_mean(x, [2, 3], True, -5, m, s, 1, -128, 127)
    real = (x.astype(np.float64) + 5).mean(axis=(2, 3), keepdims=True) * 0.04 / 0.03
    assert_within_one(model, real, 1, -128, 127)


def test_model_rescale_and_table_match_float(seed):
    rng = np.random.default_rng(seed)
    x = rand_int(rng, np.int16, (5, 40))
    scales = rng.uniform(0.0005, 0.01, size=40)
    m, s = tm.compute_multipliers_and_shifts(scales)
    model = R.rescale(x, 0, m, s, -3, 1, np.int8)
    assert_within_one(model, x.astype(np.float64) * scales, -3, -128, 127)
    # A linear int16 table interpolates exactly: table[i] = a*i + b gives a*v + 128*b.
    tbl = (np.arange(513) * 60 - 15000).astype(np.int16)
    v = rand_int(rng, np.int16, (100,))
    np.testing.assert_array_equal(R.table(v, tbl), 60 * (v.astype(np.int64) + 32768) - 128 * 15000)


# ------------------------------------------ bad parameters fail at init

def _conv_base():
    x = np.zeros((1, 4, 5, 5), np.int8)
    return [Input(x), Const(np.ones((3, 4, 3, 3), np.int8)), Const(np.zeros(3, np.int32)),
            [1], [1], [1], 1, 0, 0, Const(np.full(3, 1 << 30, np.int32)),
            Const(np.full(3, 36, np.int32)), 0, -128, 127, Out((1, 3, 5, 5), np.int8)]


def _linear_base():
    return [Input(np.zeros((2, 8), np.int8)), Const(np.ones((3, 8), np.int8)), None, 0, 0,
            Const(np.full(3, 1 << 30, np.int32)), Const(np.full(3, 36, np.int32)), 0, -128, 127,
            Out((2, 3), np.int8)]


def _matmul_base():
    return [Input(np.zeros((2, 3, 4), np.int8)), Const(np.ones((4, 5), np.int8)), 0, 0,
            1 << 30, 36, 0, Out((2, 3, 5), np.int8)]


def _add_base():
    a = np.zeros((2, 3), np.int8)
    return [Input(a), Input(a), 0, 1 << 30, 20, 0, 1 << 30, 20, 0, 1 << 30, 31, -128, 127,
            Out((2, 3), np.int8)]


def _mul_base():
    a = np.zeros((2, 3), np.int8)
    return [Input(a), Input(a), 0, 0, 1 << 30, 36, 0, -128, 127, Out((2, 3), np.int8)]


def _avg_base():
    return [Input(np.zeros((1, 2, 4, 4), np.int8)), [2, 2], [2, 2], [0], 0, 0, -128, 127,
            Out((1, 2, 2, 2), np.int8)]


def _max_base():
    return [Input(np.zeros((1, 2, 4, 4), np.int8)), [2, 2], [2, 2], [0], [1], -128, 127,
            Out((1, 2, 2, 2), np.int8)]


def _mean_base():
    return [Input(np.zeros((1, 2, 4, 4), np.int8)), [2, 3], True, 0, 1 << 30, 34, 0, -128, 127,
            Out((1, 2, 1, 1), np.int8)]


def _table_base():
    return [Input(np.zeros((2, 3), np.int8)), Const(np.zeros(256, np.int8)), Out((2, 3), np.int8)]


def _rescale_base():
    return [Input(np.zeros((2, 3), np.int8)), 0, Const(np.full(3, 1 << 30, np.int32)),
            Const(np.full(3, 31, np.int32)), 0, 1, Out((2, 3), np.int8)]


def _set(i, v):
    def edit(args):
        args[i] = v
    return edit


def _tensor(v, dtype=np.int32):
    return Const(np.asarray(v, dtype=dtype))


def _scalar_scale_cases(m_i, s_i):
    return [("multiplier 0", _set(m_i, 0), OUT_OF_RANGE),
            ("multiplier -1", _set(m_i, -1), OUT_OF_RANGE),
            ("multiplier 2^31", _set(m_i, 1 << 31), OUT_OF_RANGE),
            ("shift 1", _set(s_i, 1), OUT_OF_RANGE),
            ("shift 63", _set(s_i, 63), OUT_OF_RANGE)]


def _tensor_scale_cases(m_i, s_i, n):
    return [("multiplier 0", _set(m_i, _tensor([1 << 30] * (n - 1) + [0])), OUT_OF_RANGE),
            ("multiplier -5", _set(m_i, _tensor([-5] * n)), OUT_OF_RANGE),
            ("shift 1", _set(s_i, _tensor([1] * n)), OUT_OF_RANGE),
            ("shift 63", _set(s_i, _tensor([36] * (n - 1) + [63])), OUT_OF_RANGE),
            ("multiplier length", _set(m_i, _tensor([1 << 30] * (n + 1))), SHAPE_MISMATCH),
            ("shift length", _set(s_i, _tensor([36] * (n + 1))), SHAPE_MISMATCH),
            ("multiplier int64", _set(m_i, _tensor([1 << 30] * n, np.int64)), TYPE_MISMATCH)]


def _act_cases(i):
    return [("act_min > act_max", lambda a: (a.__setitem__(i, 10), a.__setitem__(i + 1, 5)),
             OUT_OF_RANGE),
            ("act_min -129", _set(i, -129), OUT_OF_RANGE),
            ("act_max 128", _set(i + 1, 128), OUT_OF_RANGE)]


def _out(shape, dtype=np.int8):
    return Out(shape, dtype)


BAD = {
    "quantized_conv2d": (_conv_base, [
        *_tensor_scale_cases(9, 10, 3), *_act_cases(12),
        ("input_zp 200", _set(7, 200), OUT_OF_RANGE),
        ("weight_zp -129", _set(8, -129), OUT_OF_RANGE),
        ("output_zp 200", _set(11, 200), OUT_OF_RANGE),
        ("weight int16", _set(1, _tensor(np.ones((3, 4, 3, 3)), np.int16)), TYPE_MISMATCH),
        ("input float", _set(0, Input(np.zeros((1, 4, 5, 5), np.float32))), TYPE_MISMATCH),
        ("bias int64 with int8", _set(2, _tensor(np.zeros(3), np.int64)), TYPE_MISMATCH),
        ("bias length", _set(2, _tensor(np.zeros(4))), SHAPE_MISMATCH),
        ("out shape", _set(14, _out((1, 3, 4, 5))), SHAPE_MISMATCH),
        ("out dtype", _set(14, _out((1, 3, 5, 5), np.int16)), TYPE_MISMATCH),
        ("groups", _set(6, 3), SHAPE_MISMATCH),
        ("input rank", _set(0, Input(np.zeros((4, 5, 5), np.int8))), SHAPE_MISMATCH)]),
    "quantized_linear": (_linear_base, [
        *_tensor_scale_cases(5, 6, 3), *_act_cases(8),
        ("input_zp 200", _set(3, 200), OUT_OF_RANGE),
        ("output_zp -200", _set(7, -200), OUT_OF_RANGE),
        ("weight K", _set(1, _tensor(np.ones((3, 7)), np.int8)), SHAPE_MISMATCH),
        ("out shape", _set(10, _out((2, 4))), SHAPE_MISMATCH)]),
    "quantized_matmul": (_matmul_base, [
        *_scalar_scale_cases(4, 5),
        ("a_zp 200", _set(2, 200), OUT_OF_RANGE),
        ("output_zp 128", _set(6, 128), OUT_OF_RANGE),
        ("b rows", _set(1, _tensor(np.ones((3, 5)), np.int8)), SHAPE_MISMATCH),
        ("out shape", _set(7, _out((3, 5))), SHAPE_MISMATCH),
        ("out int16", _set(7, _out((2, 3, 5), np.int16)), TYPE_MISMATCH)]),
    "quantized_add": (_add_base, [
        *_scalar_scale_cases(3, 4), *_act_cases(11),
        ("output multiplier 0", _set(9, 0), OUT_OF_RANGE),
        ("output shift 1", _set(10, 1), OUT_OF_RANGE),
        ("b shift 63", _set(7, 63), OUT_OF_RANGE),
        ("a_zp 200", _set(2, 200), OUT_OF_RANGE),
        ("b int16", _set(1, Input(np.zeros((2, 3), np.int16))), TYPE_MISMATCH),
        ("no broadcast", _set(1, Input(np.zeros((2, 4), np.int8))), SHAPE_MISMATCH),
        ("out shape", _set(13, _out((3, 2))), SHAPE_MISMATCH)]),
    "quantized_mul": (_mul_base, [
        *_scalar_scale_cases(4, 5), *_act_cases(7),
        ("b_zp 200", _set(3, 200), OUT_OF_RANGE),
        ("out shape", _set(9, _out((2, 2))), SHAPE_MISMATCH)]),
    "quantized_avg_pool2d": (_avg_base, [
        *_act_cases(6),
        ("input_zp 200", _set(4, 200), OUT_OF_RANGE),
        ("output_zp -129", _set(5, -129), OUT_OF_RANGE),
        ("out shape", _set(8, _out((1, 2, 3, 3))), SHAPE_MISMATCH),
        ("input int32", _set(0, Input(np.zeros((1, 2, 4, 4), np.int32))), TYPE_MISMATCH)]),
    "quantized_max_pool2d": (_max_base, [
        *_act_cases(5),
        ("out shape", _set(7, _out((1, 2, 3, 3))), SHAPE_MISMATCH),
        ("out dtype", _set(7, _out((1, 2, 2, 2), np.int16)), TYPE_MISMATCH)]),
    "quantized_mean": (_mean_base, [
        *_scalar_scale_cases(4, 5), *_act_cases(7),
        ("input_zp 200", _set(3, 200), OUT_OF_RANGE),
        ("output_zp 200", _set(6, 200), OUT_OF_RANGE),
        ("out shape", _set(9, _out((1, 2))), SHAPE_MISMATCH)]),
    "table": (_table_base, [
        ("table length", _set(1, _tensor(np.zeros(255), np.int8)), SHAPE_MISMATCH),
        ("table dtype", _set(1, _tensor(np.zeros(256), np.int16)), TYPE_MISMATCH),
        ("out dtype", _set(2, _out((2, 3), np.int32)), TYPE_MISMATCH),
        ("out shape", _set(2, _out((3, 2))), SHAPE_MISMATCH)]),
    "rescale": (_rescale_base, [
        *_tensor_scale_cases(2, 3, 3),
        ("input_zp 200", _set(1, 200), OUT_OF_RANGE),
        ("output_zp 200", _set(4, 200), OUT_OF_RANGE),
        ("axis", _set(5, 2), OUT_OF_RANGE),
        ("out float", _set(6, _out((2, 3), np.float32)), TYPE_MISMATCH)]),
}


@pytest.mark.parametrize("op", sorted(BAD))
def test_bad_parameters_fail_at_init(op):
    base, cases = BAD[op]
    name = f"ptec::{op}.out"
    ptec.load(build(name, base()).data).method()  # the base program is valid
    failures = []
    for label, edit, status in cases:
        args = base()
        edit(args)
        program = ptec.load(build(name, args).data)
        try:
            program.method()  # method init runs the kernel's prepare; nothing executes
        except PtecError as e:
            if e.status != status or not e.message:
                failures.append(f"{label}: {e.status} ({e.message}), expected {status}")
        else:
            failures.append(f"{label}: accepted at init, expected {status}")
    assert not failures, "\n".join(failures)


# ----------------------------------------------- sanitized command-line runs

def _sanitized_cases(rng):
    """(name, program args, expected) for a spread of ops and variants."""
    k = conv_case(rng, 0)
    yield "conv_nhwc", conv_args(k, CHANNELS_LAST, CHANNELS_LAST, CHANNELS_LAST), k["expected"]
    k = conv_case(rng, 1, depthwise=True)
    yield "depthwise_nhwc", conv_args(k, CHANNELS_LAST, (1, 2, 3, 0), CHANNELS_LAST), k["expected"]
    k = conv_case(rng, 2, bits=16)
    yield "conv_a16w8", conv_args(k), k["expected"]
    args, expected = linear_case(rng, 1)
    yield "linear", args, expected
    a, b = rand_int(rng, np.int8, (2, 1, 4, 6)), rand_int(rng, np.int8, (3, 6, 5))
    yield "matmul", [Input(a), Input(b), 1, -2, 1 << 30, 38, 3, Out((2, 3, 4, 5), np.int8)], \
        R.quantized_matmul(a, b, 1, -2, 1 << 30, 38, 3)
    a, b = rand_int(rng, np.int8, (2, 3, 4, 5)), rand_int(rng, np.int8, (1, 3, 1, 1))
    (am, ash), (bm, bsh), (om, osh) = R.add_params(0.02, 0.05, 0.06)
    p = [-3, am, ash, 4, bm, bsh, 1, om, osh, -128, 127]
    yield "add", [Input(a, CHANNELS_LAST), Input(b), *p, Out(a.shape, np.int8, CHANNELS_LAST)], \
        R.quantized_add(a, b, *p)
    p = [2, -1, 1 << 30, 37, 0, 0, 127]
    yield "mul", [Input(a), Input(b), *p, Out(a.shape, np.int8)], R.quantized_mul(a, b, *p)
    x = rand_int(rng, np.int8, (1, 40, 7, 6))
    p = [[3, 3], [2, 2], [1, 1, 1, 0], 5, -4, -128, 127]
    exp = R.quantized_avg_pool2d(x, *p)
    yield "avg_pool_nhwc", \
        [Input(x, CHANNELS_LAST), *p, Out(exp.shape, np.int8, CHANNELS_LAST)], exp
    p = [[2, 3], [1, 2], [1], [2, 1], -100, 100]
    exp = R.quantized_max_pool2d(x, *p)
    yield "max_pool", [Input(x), *p, Out(exp.shape, np.int8)], exp
    m, s = R.mean_params(0.05, 42, 0.05)
    p = [[-1, -2], False, 3, m, s, -2, -128, 127]
    exp = R.quantized_mean(x, *p)
    yield "mean", [Input(x, CHANNELS_LAST), *p, Out(exp.shape, np.int8)], exp
    t8 = rand_int(rng, np.int8, (256,))
    yield "table8", [Input(x), Const(t8), Out(x.shape, np.int8)], R.table(x, t8)
    x16 = rand_int(rng, np.int16, (3, 70))
    t16 = np.clip(np.cumsum(rng.integers(-200, 200, size=513)), -32768, 32767).astype(np.int16)
    yield "table16", [Input(x16), Const(t16), Out(x16.shape, np.int32)], R.table(x16, t16)
    m, s = tm.compute_multipliers_and_shifts(rng.uniform(0.001, 0.1, size=70))
    yield "rescale", [Input(x16), 0, Const(m), Const(s), 5, 1, Out(x16.shape, np.int8)], \
        R.rescale(x16, 0, m, s, 5, 1, np.int8)


def _run_sanitized(program, tmp_path: Path, name: str) -> subprocess.CompletedProcess:
    path = program.save(tmp_path / f"{name}.pte")
    args = [str(RUNNER), str(path), "--output-dir", str(tmp_path / name)]
    (tmp_path / name).mkdir()
    for i, a in enumerate(program.inputs):
        np.save(tmp_path / f"{name}_in{i}.npy", a)
        args += ["--input", str(tmp_path / f"{name}_in{i}.npy")]
    env = dict(os.environ, ASAN_OPTIONS="abort_on_error=0",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
    return subprocess.run(args, capture_output=True, text=True, errors="replace", timeout=120,
                          env=env)


def test_sanitized_runs(seed, tmp_path):
    if not RUNNER.is_file():
        pytest.fail(f"{RUNNER} is missing: build it with `make build-asan`")
    rng = np.random.default_rng(seed)
    for name, args, expected in _sanitized_cases(rng):
        result = _run_sanitized(build(f"ptec::{_OP_OF[name]}.out", args), tmp_path, name)
        assert "Sanitizer" not in result.stderr and "runtime error" not in result.stderr, \
            f"{name}: {result.stderr}"
        assert result.returncode == 0, f"{name}: {result.stderr}"
        got = np.load(tmp_path / name / "output0.npy")
        np.testing.assert_array_equal(got.astype(np.int64), expected, err_msg=name)
    # A bad parameter is refused at init, with its status, and nothing else.
    args = _conv_base()
    args[10] = _tensor([36, 63, 36])
    result = _run_sanitized(build("ptec::quantized_conv2d.out", args), tmp_path, "bad")
    assert "Sanitizer" not in result.stderr and "runtime error" not in result.stderr
    assert result.returncode == 2 and OUT_OF_RANGE in result.stderr, result.stderr


_OP_OF = {"conv_nhwc": "quantized_conv2d", "depthwise_nhwc": "quantized_conv2d",
          "conv_a16w8": "quantized_conv2d", "linear": "quantized_linear",
          "matmul": "quantized_matmul", "add": "quantized_add", "mul": "quantized_mul",
          "avg_pool_nhwc": "quantized_avg_pool2d", "max_pool": "quantized_max_pool2d",
          "mean": "quantized_mean", "table8": "table", "table16": "table", "rescale": "rescale"}
