"""The x86-64 AVX-512 int8 kernels' faster paths equal the TOSA model bit for bit.

One-instruction programs (program_builder) run through ptec-run (PTEC_RUN, default
build/host) and, for a few, the ASan build (PTEC_RUN_ASAN, default build/asan), on random
shapes from the printed seed, against tests/python/tosa_ref.py:

- the short requantization (requantize_avx512.h, ptec_avx512_requantize16s: every shift
  >= 32) against the 64-bit one it replaces, through the depthwise and packed kernels: shifts
  at 32 and 62, multipliers 1 and 2^31 - 1, extreme zero points, activation windows, data
  all at the int8 ends; and channels whose shift is below 32, which keep the long form;
- the 3x3 depthwise path (vertical tap pairs, groups of four pixels; horizontal stride 1
  or 2, any vertical stride): widths that are not multiples of four, padding on any side, channel counts that are not multiples
  of 32, batches, biases that fold and biases that cannot;
- the packed convolution (`ptec::quantized_conv2d_packed`, weights packed by
  ptec.cpu.pack_weights.pack) with 1x1, 1x3, 3x3 and 10x4 windows on 1, 3 or up to 79
  channels (windows gathered row by row, padding on any side), strides 1 and 2, tiles
  that cross rows and images, outputs NHWC and NCHW;
- every convolution case on 1 and 3 threads (kernels/parallel.h's ptec_parallel_chunks:
  several shares per thread, the packed convolution's small tiles on each thread's stack).

On a CPU without AVX-512 VNNI these run the AVX2 or reference kernels and still must equal
the model.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tosa_ref as R
from program_builder import CHANNELS_LAST, Const, Input, Out, build
from ptec.cpu.pack_weights import pack, scratch_bytes
from ptec.quant import tosa_math as tm

ROOT = Path(__file__).resolve().parents[2]
RUN = Path(os.environ.get("PTEC_RUN", ROOT / "build" / "host" / "ptec-run"))
RUN_ASAN = Path(os.environ.get("PTEC_RUN_ASAN", ROOT / "build" / "asan" / "ptec-run"))
HWC_O = (1, 2, 3, 0)  # depthwise weights [KH, KW, C] in memory (TOSA's HWCM)

#: Scale regimes: from float scales; every shift in [32, 62] with extreme multipliers
#: (the short form); one channel's shift below 32 (the whole call keeps the long form).
REGIMES = ["typical", "short", "mixed"]


def _run(runner: Path, program, tmp: Path, threads: int = 1) -> list[np.ndarray]:
    if not runner.exists():
        pytest.fail(f"{runner} is missing: build it (make build-host / make build-asan)")
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "m.pte").write_bytes(program.data)
    args = [str(runner), str(tmp / "m.pte"), "--output-dir", str(tmp), "--threads", str(threads)]
    for i, x in enumerate(program.inputs):
        np.save(tmp / f"in{i}.npy", np.ascontiguousarray(x))
        args += ["--input", str(tmp / f"in{i}.npy")]
    done = subprocess.run(args, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return [np.load(p) for p in sorted(tmp.glob("output*.npy"))]


def _scales(rng, regime: str, real: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if regime == "typical":
        return tm.compute_multipliers_and_shifts(real)
    n = real.size
    m = rng.integers(1, 1 << 31, size=n, dtype=np.int64)
    m[rng.random(n) < 0.2] = (1 << 31) - 1
    m[rng.random(n) < 0.1] = 1
    s = rng.integers(32, 63, size=n)
    s[rng.random(n) < 0.3] = rng.choice([32, 62])
    if regime == "mixed":
        s[rng.integers(0, n)] = int(rng.integers(2, 32))
    return m.astype(np.int32), s.astype(np.int32)


def _case(rng, regime: str, *, depthwise: bool, sub: int):
    """Random int8 convolution arguments (logical NCHW NumPy) and the model's output."""
    n = int(rng.choice([1, 1, 2]))
    if depthwise:
        c = int(rng.choice([1, 5, 16, 31, 32, 33, 64, 96, 144]))
        o, kh, kw, stride = c, 3, 3, [1, 1]
        if sub % 4 == 1:  # the 3x3 path's stride-2 columns, any vertical stride
            stride = [int(rng.integers(1, 4)), 2]
        if sub % 4 == 3:  # the general path beside the 3x3 one
            kh, kw = (int(v) for v in rng.integers(1, 6, size=2))
            stride = [int(v) for v in rng.integers(1, 3, size=2)]
        pads = [int(v) for v in rng.integers(0, 2, size=4)]
        groups = c
    else:
        c = int(rng.choice([1, 3, int(rng.integers(1, 80))]))
        o = int(rng.choice([1, 7, 16, 24, 32, 40, 96, 100]))
        kh, kw = [(1, 1), (1, 1), (3, 3), (10, 4), (1, 3)][int(rng.integers(0, 5))]
        stride = [int(rng.choice([1, 2]))] * 2
        pads = [int(v) for v in rng.integers(0, kh // 2 + 1, size=2)] + \
            [int(v) for v in rng.integers(0, kw // 2 + 1, size=2)]
        groups = 1
    padding = pads  # top, bottom, left, right
    h = int(rng.integers(max(1, kh - pads[0] - pads[1]), 13))
    w = int(rng.integers(max(1, kw - pads[2] - pads[3]), 14))
    in_zp = int(rng.choice([-128, 127, 0, int(rng.integers(-128, 128))]))
    out_zp = int(rng.choice([-128, 127, 0, int(rng.integers(-128, 128))]))
    if sub % 5 == 1:  # every value at an end: accumulators at their extremes
        x = rng.choice([-128, 127], size=(n, c, h, w)).astype(np.int8)
        wt = rng.choice([-128, 127], size=(o, c // groups, kh, kw)).astype(np.int8)
    else:
        x = rng.integers(-128, 128, size=(n, c, h, w)).astype(np.int8)
        wt = rng.integers(-128, 128, size=(o, c // groups, kh, kw)).astype(np.int8)
    if sub % 6 == 2:  # cannot fold: acc + bias may saturate
        bias = rng.choice([-(2**31), 2**31 - 1, 0], size=o).astype(np.int32)
    else:
        bias = None if sub % 6 == 5 else rng.integers(-20000, 20000, size=o).astype(np.int32)
    dilation = [1, 1]
    acc = R.conv2d_acc(x, wt, stride, padding, dilation, groups, in_zp, 0)
    real = np.full(o, 1.0 / max(float(np.abs(acc).max()), 1.0) * 100)
    mult, shift = _scales(rng, regime, real * rng.uniform(0.5, 2.0, size=o))
    if sub % 2:  # per-tensor scale
        mult, shift = mult[:1], shift[:1]
    lo, hi = [(-128, 127), (out_zp, 127), (-100, 20)][sub % 3]
    lo = min(lo, hi)
    params = [stride, padding, dilation, groups, in_zp, 0]
    want = R.quantized_conv2d(x, wt, bias, *params, mult, shift, out_zp, lo, hi)
    return x, wt, bias, params, mult, shift, out_zp, lo, hi, want


def _depthwise_program(args):
    x, wt, bias, params, mult, shift, out_zp, lo, hi, want = args
    return build("ptec::quantized_conv2d.out", [
        Input(x, CHANNELS_LAST), Const(wt, HWC_O), None if bias is None else Const(bias),
        *params, Const(mult), Const(shift), out_zp, lo, hi,
        Out(want.shape, np.int8, CHANNELS_LAST)])


def _packed_program(args, out_order=CHANNELS_LAST):
    x, wt, bias, params, mult, shift, out_zp, lo, hi, want = args
    packed = pack(wt, bias, params[4])
    k = wt.shape[1] * wt.shape[2] * wt.shape[3]
    return build("ptec::quantized_conv2d_packed.out", [
        Input(x, CHANNELS_LAST), Const(wt, CHANNELS_LAST), None if bias is None else Const(bias),
        *params, Const(mult), Const(shift), out_zp, lo, hi, Const(packed),
        Out(want.shape, np.int8, out_order),
        Out((scratch_bytes(k, wt.shape[0]),), np.int8)])


@pytest.mark.parametrize("regime", REGIMES)
@pytest.mark.parametrize("kind", ["depthwise", "packed"])
def test_conv_s8_equals_model(kind, regime, seed, tmp_path):
    rng = np.random.default_rng(seed)
    for sub in range(12):
        args = _case(rng, regime, depthwise=kind == "depthwise", sub=sub)
        if kind == "depthwise":
            program = _depthwise_program(args)
        else:  # some outputs NCHW (DS-CNN's first layer), stored channel by channel
            program = _packed_program(args, None if sub % 4 == 1 else CHANNELS_LAST)
        want = args[-1]
        for threads in (1, 3):  # shares handed out as threads come free: same bytes
            got = _run(RUN, program, tmp_path / f"{sub}t{threads}", threads)[0]
            bad = np.argwhere(got.astype(np.int64) != want)
            assert got.shape == want.shape and bad.size == 0, (
                f"{kind} {regime} case {sub} (seed {seed}, {threads} threads): x "
                f"{args[0].shape} w {args[1].shape} params {args[3]} first differences at "
                f"{bad[:4].tolist()}")


@pytest.mark.parametrize("kind", ["depthwise", "packed"])
def test_conv_s8_asan(kind, seed, tmp_path):
    """A few of the same cases under ASan and UBSan: no out-of-bounds read in the
    groups of four that run past a row's end, or in the masked channel tails."""
    rng = np.random.default_rng(seed)
    for sub in range(4):
        args = _case(rng, "short", depthwise=kind == "depthwise", sub=sub)
        program = (_depthwise_program if kind == "depthwise" else _packed_program)(args)
        got = _run(RUN_ASAN, program, tmp_path / str(sub))[0]
        assert np.array_equal(got.astype(np.int64), args[-1]), f"{kind} case {sub} (seed {seed})"


# ------------------------------------------------- layer norm and rescale (transformer)

def _layer_norm_model(x, w, b, eps, in_scale, in_zp, out_scale, out_zp, lo, hi):
    """op_quantized_layer_norm.c's double arithmetic, operation by operation."""
    out = np.empty_like(x)
    rows = x.reshape(-1, x.shape[-1]).astype(np.int64) - in_zp
    for r, q in enumerate(rows):
        n, s1, s2 = q.size, int(q.sum()), int((q * q).sum())
        mean = float(s1) / float(n)
        var = (float(n) * float(s2) - float(s1) * float(s1)) / (float(n) * float(n))
        with np.errstate(divide="ignore", invalid="ignore"):
            rstd = 1.0 / np.sqrt(var * in_scale * in_scale + eps)
            y = (q.astype(np.float64) - mean) * in_scale * rstd
            if w is not None:
                y = y * w.astype(np.float64)
            if b is not None:
                y = y + b.astype(np.float64)
            code = np.rint(y / out_scale) + float(out_zp)
        code = np.where(~(code >= lo), lo, np.where(code > hi, hi, code))
        out.reshape(-1, x.shape[-1])[r] = code.astype(np.int8)
    return out


def test_layer_norm_s8_equals_model(seed, tmp_path):
    """Rows of any width (tails of 8 and 32), constant rows with eps 0 (NaN -> act_min),
    weight and bias present or not, extreme zero points and activation windows."""
    rng = np.random.default_rng(seed)
    for sub in range(10):
        rows, width = int(rng.integers(1, 6)), int(rng.choice([1, 7, 8, 33, 64, 100, 257]))
        in_zp, out_zp = (int(rng.choice([-128, 127, 0, int(rng.integers(-128, 128))]))
                         for _ in range(2))
        x = rng.integers(-128, 128, size=(rows, width)).astype(np.int8)
        eps = 1e-5
        if sub % 5 == 4:  # a constant row: variance 0
            x[0] = in_zp
            eps = 0.0 if sub % 2 else eps
        w = rng.uniform(0.5, 1.5, size=width).astype(np.float32) if sub % 3 else None
        b = rng.uniform(-0.5, 0.5, size=width).astype(np.float32) if sub % 4 else None
        in_scale, out_scale = float(rng.uniform(0.01, 0.1)), float(rng.uniform(0.01, 0.05))
        lo, hi = [(-128, 127), (out_zp, 127), (-100, 20)][sub % 3]
        lo = min(lo, hi)
        args = (w, b, eps, in_scale, in_zp, out_scale, out_zp, lo, hi)
        program = build("ptec::quantized_layer_norm.out", [
            Input(x), [width], None if w is None else Const(w), None if b is None else Const(b),
            eps, in_scale, in_zp, out_scale, out_zp, lo, hi, Out(x.shape, np.int8)])
        got = _run(RUN, program, tmp_path / f"ln{sub}")[0]
        want = _layer_norm_model(x, *args)
        assert np.array_equal(got, want), f"layer norm case {sub} (seed {seed}): rows {rows} " \
            f"width {width} first differences at {np.argwhere(got != want)[:4].tolist()}"


def test_rescale_s8_equals_model(seed, tmp_path):
    """int8 -> int8 per-tensor rescales of any length, every shift regime."""
    rng = np.random.default_rng(seed)
    for sub in range(16):
        shape = tuple(int(v) for v in rng.integers(1, 9, size=int(rng.integers(1, 4))))
        x = rng.integers(-128, 128, size=shape).astype(np.int8)
        in_zp, out_zp = (int(rng.choice([-128, 127, 0, int(rng.integers(-128, 128))]))
                         for _ in range(2))
        m = np.array([int(rng.choice([1, (1 << 31) - 1, int(rng.integers(1 << 30, 1 << 31))]))],
                     np.int32)
        # Mostly scales from 2 to 2^-8 (outputs that move with the input), some extremes.
        s = np.array([int(rng.choice([2, 62, 31, 32, int(rng.integers(29, 39)),
                                      int(rng.integers(29, 39))]))], np.int32)
        program = build("ptec::rescale.out", [Input(x), in_zp, Const(m), Const(s), out_zp, 0,
                                              Out(x.shape, np.int8)])
        got = _run(RUN, program, tmp_path / f"rs{sub}")[0]
        want = R.rescale(x, in_zp, m, s, out_zp, 0, np.int8)
        assert np.array_equal(got.astype(np.int64), want), f"rescale case {sub} (seed {seed})"


# ------------------------------------------------- fully connected (packed per call)

@pytest.mark.parametrize("regime", REGIMES)
def test_linear_s8_equals_model(regime, seed, tmp_path):
    """Rows 1 to 21 (tiles of 8 with tails; under 4 the dot-product kernel), k 1 to 300
    (k % 4 tails), 1 to 200 filters (half panels, more than one panel), extreme data,
    zero points and biases that cannot fold."""
    rng = np.random.default_rng(seed)
    for sub in range(10):
        rows, k = int(rng.integers(1, 22)), int(rng.choice([1, 3, 16, 64, 65, 128, 300]))
        n = int(rng.choice([1, 10, 16, 17, 32, 64, 100, 192, 200]))
        in_zp, out_zp = (int(rng.choice([-128, 127, 0, int(rng.integers(-128, 128))]))
                         for _ in range(2))
        if sub % 5 == 1:
            x = rng.choice([-128, 127], size=(rows, k)).astype(np.int8)
            w = rng.choice([-128, 127], size=(n, k)).astype(np.int8)
        else:
            x = rng.integers(-128, 128, size=(rows, k)).astype(np.int8)
            w = rng.integers(-128, 128, size=(n, k)).astype(np.int8)
        if sub % 4 == 2:
            bias = rng.choice([-(2**31), 2**31 - 1, 0], size=n).astype(np.int32)
        else:
            bias = None if sub % 4 == 3 else rng.integers(-20000, 20000, size=n).astype(np.int32)
        acc = np.matmul(x.astype(np.int64) - in_zp, w.astype(np.int64).T)
        real = np.full(n, 100.0 / max(float(np.abs(acc).max()), 1.0))
        mult, shift = _scales(rng, regime, real * rng.uniform(0.5, 2.0, size=n))
        if sub % 2:
            mult, shift = mult[:1], shift[:1]
        lo, hi = [(-128, 127), (out_zp, 127), (-100, 20)][sub % 3]
        lo = min(lo, hi)
        want = R.quantized_linear(x, w, bias, in_zp, 0, mult, shift, out_zp, lo, hi)
        program = build("ptec::quantized_linear.out", [
            Input(x), Const(w), None if bias is None else Const(bias), in_zp, 0, Const(mult),
            Const(shift), out_zp, lo, hi, Out(want.shape, np.int8)])
        got = _run(RUN, program, tmp_path / f"fc{sub}")[0]
        assert np.array_equal(got.astype(np.int64), want), \
            f"linear {regime} case {sub} (seed {seed}): rows {rows} k {k} n {n}"


# ------------------------------------------------- global average pool (quantized_mean)

def test_mean_nhwc_pool_equals_model(seed, tmp_path):
    """int8 NHWC means over H and W (the per-channel sums pass), any batch and channel
    count, keepdim or not, outputs in either order, extreme data and zero points."""
    rng = np.random.default_rng(seed)
    for sub in range(8):
        shape = (int(rng.integers(1, 4)), int(rng.integers(1, 300)), int(rng.integers(1, 10)),
                 int(rng.integers(1, 10)))
        x = (rng.choice([-128, 127], size=shape) if sub % 4 == 1 else
             rng.integers(-128, 128, size=shape)).astype(np.int8)
        dims, keepdim = [[2, 3], [3, 2], [-1, -2]][sub % 3], bool(sub % 2)
        in_zp, out_zp = (int(rng.choice([-128, 127, 0, int(rng.integers(-128, 128))]))
                         for _ in range(2))
        m, s = tm.compute_multipliers_and_shifts(
            np.array([rng.uniform(0.3, 1.5) / (shape[2] * shape[3])]))
        lo, hi = [(-128, 127), (out_zp, 127), (-100, 20)][sub % 3]
        lo = min(lo, hi)
        params = [dims, keepdim, in_zp, int(m[0]), int(s[0]), out_zp, lo, hi]
        want = R.quantized_mean(x, *params)
        order = CHANNELS_LAST if keepdim and sub % 4 == 3 else None
        program = build("ptec::quantized_mean.out",
                        [Input(x, CHANNELS_LAST), *params, Out(want.shape, np.int8, order)])
        got = _run(RUN, program, tmp_path / f"mean{sub}")[0]
        assert np.array_equal(got.astype(np.int64), want), f"mean case {sub} (seed {seed})"


def test_other_s8_asan(seed, tmp_path, monkeypatch):
    """The layer norm, rescale, fully connected and mean cases above, through the ASan and
    UBSan build: masked tails, the per-call packing on the stack, the pooled sums."""
    monkeypatch.setattr(sys.modules[__name__], "RUN", RUN_ASAN)
    test_layer_norm_s8_equals_model(seed, tmp_path / "ln")
    test_rescale_s8_equals_model(seed, tmp_path / "rs")
    test_linear_s8_equals_model("short", seed, tmp_path / "fc")
    test_mean_nhwc_pool_equals_model(seed, tmp_path / "mean")
