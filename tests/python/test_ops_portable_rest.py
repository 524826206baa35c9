"""The last of ExecuTorch's portable operators (test_op_coverage.py):
antialiased bilinear resampling, training-mode batch norm and eval-mode
native_dropout, each against PyTorch eager."""
from __future__ import annotations

import os
import random
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

import ptec
from ptec.runtime import PtecError

from op_testing import Fn, check_module
from program_builder import Const, Input, Out, build, run, run_op

F = torch.nn.functional
ROOT = Path(__file__).resolve().parents[2]
PTEC_RUN_ASAN = os.environ.get("PTEC_RUN_ASAN", str(ROOT / "build" / "asan" / "ptec-run"))
AA = "aten::_upsample_bilinear2d_aa.out"


def _aa(size=None, scale=None, align=False):
    return lambda t: F.interpolate(t, size=size, scale_factor=scale, mode="bilinear",
                                   align_corners=align, antialias=True)


@pytest.mark.parametrize("align", [False, True])
def test_upsample_bilinear2d_aa(seed, align):
    """Down- and up-scaling by sizes and by factors (so scales_h/w given or
    not), one dimension unchanged, channels-last input. Tolerance: float32
    sums of up to ~2 * factor products, PyTorch's order kept, so a few ulps."""
    h, w = random.randint(5, 24), random.randint(5, 24)
    x = torch.randn(random.randint(1, 2), random.randint(1, 3), h, w)
    cases = [
        _aa(size=(random.randint(1, h - 1), random.randint(2, w - 1)), align=align),
        _aa(size=(random.randint(h + 1, 2 * h), random.randint(2, w // 2)), align=align),
        _aa(size=(h, random.randint(2, w)), align=align),
        _aa(scale=(random.choice([0.3, 0.5, 0.75]), random.choice([1.5, 0.4])), align=align),
        _aa(scale=random.choice([2.0, 1.25]), align=align),
    ]
    check_module(Fn(lambda t: tuple(f(t) for f in cases)), (x,), rtol=1e-5, atol=1e-5,
                 expect_ops=[AA])
    check_module(Fn(cases[0]), (x.to(memory_format=torch.channels_last),), rtol=1e-5,
                 atol=1e-5, expect_ops=[AA])


def test_upsample_bilinear2d_aa_width_one(seed):
    """An output width of 1 with the height resized: PyTorch's CPU kernel
    (2.x) repeats output row 0 down the column (its vertical pass runs as a
    horizontal one on the width-1 tensor), its CUDA kernel does not. ptec
    computes the separable filter; the reference is eager on the transposed
    image, where the same filter runs without the quirk."""
    x = torch.randn(2, 3, random.randint(5, 12), random.randint(2, 12))
    oh = random.randint(2, 2 * x.shape[2])
    want = F.interpolate(x.transpose(2, 3), size=(1, oh), mode="bilinear",
                         antialias=True).transpose(2, 3)
    program = ptec.compile(Fn(_aa(size=(oh, 1))).eval(), (x,))
    (got,) = ptec.load(program.buffer)(x)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_upsample_bilinear2d_aa_large_downscale(seed):
    """Support grows with the factor: 64 -> 3 averages windows of ~43 inputs."""
    x = torch.randn(1, 2, 64, random.randint(40, 70))
    check_module(Fn(_aa(size=(3, 5))), (x,), rtol=1e-5, atol=1e-5, expect_ops=[AA])


def test_upsample_bilinear2d_aa_refuses_other_dtypes():
    """PyTorch's CPU kernel is float32/float64 only; ptec's float32: an int32
    program gets a named status, not a crash; so does a 3-D input."""
    x = np.arange(36, dtype=np.int32).reshape(1, 1, 6, 6)
    with pytest.raises(PtecError) as info:
        run_op(AA, [Input(x), [3, 3], False, None, None, Out((1, 1, 3, 3), np.int32)])
    assert info.value.status == "PTEC_STATUS_NOT_SUPPORTED", str(info.value)
    with pytest.raises(PtecError) as info:
        run_op(AA, [Input(x[0].astype(np.float32)), [3, 3], False, None, None,
                    Out((1, 3, 3), np.float32)])
    assert info.value.status == "PTEC_STATUS_SHAPE_MISMATCH", str(info.value)


BN = "aten::_native_batch_norm_legit.out"
BN_NO_STATS = "aten::_native_batch_norm_legit.no_stats_out"


def _bn_program(op, x, weight, bias, stats, training, momentum, eps, saved):
    """A one-call program; with running stats, those (method inputs the kernel
    updates in place) are also outputs, so the test sees their new values."""
    C = x.shape[1]
    params = [Const(p.numpy()) if p is not None else None for p in (weight, bias)]
    running = [Input(t.numpy().copy()) for t in stats]
    args = [Input(x.numpy()), *params, *running, training, momentum, eps,
            Out(x.shape, np.float32), Out((saved,), np.float32), Out((saved,), np.float32)]
    program = build(op, args)
    if stats:
        plan = program.program.execution_plan[0]
        plan.outputs = list(plan.outputs) + [3, 4]
        program.reserialize()
    return program


@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_training(seed, affine):
    """Batch statistics, the saved mean / invstd and the running stats updated
    with momentum, against eager's _native_batch_norm_legit on copies of the
    same running stats. Tolerance: float32 results of double sums."""
    C = random.randint(1, 5)
    # N >= 2: with one value per channel the unbiased variance is 0/0 (NaN in
    # eager too) and invstd = 1/sqrt(eps) amplifies rounding past any tolerance.
    spatial = [random.randint(2, 6) for _ in range(random.randint(0, 2))]
    shape = (random.randint(2, 3), C, *spatial)
    x = torch.randn(shape) * 3 + 1
    weight = torch.randn(C) if affine else None
    bias = torch.randn(C) if affine else None
    rm, rv = torch.randn(C), torch.rand(C) + 0.5
    momentum, eps = random.choice([0.1, 0.3]), random.choice([1e-5, 1e-3])
    got = run(_bn_program(BN, x, weight, bias, (rm, rv), True, momentum, eps, C))
    want_rm, want_rv = rm.clone(), rv.clone()
    want = torch.ops.aten._native_batch_norm_legit(x, weight, bias, want_rm, want_rv, True,
                                                   momentum, eps)
    for g, w in zip(got, [*want, want_rm, want_rv]):
        torch.testing.assert_close(torch.from_numpy(g), w, rtol=1e-5, atol=1e-5)
    assert not torch.equal(want_rm, rm)  # the stats did move

    got = run(_bn_program(BN_NO_STATS, x, weight, bias, (), True, momentum, eps, C))
    want = torch.ops.aten._native_batch_norm_legit.no_stats(x, weight, bias, True, momentum, eps)
    assert len(got) == 3
    for g, w in zip(got, want):
        torch.testing.assert_close(torch.from_numpy(g), w, rtol=1e-5, atol=1e-5)


def test_batch_norm_legit_eval_mode(seed):
    """training=False normalises with the running stats, leaves them as they
    are and returns empty save_mean / save_invstd, as eager does."""
    x, rm, rv = torch.randn(2, 3, 4), torch.randn(3), torch.rand(3) + 0.5
    got = run(_bn_program(BN, x, None, None, (rm, rv), False, 0.1, 1e-5, 0))
    want = torch.ops.aten._native_batch_norm_legit(x, None, None, rm, rv, False, 0.1, 1e-5)
    for g, w in zip(got, [*want, rm, rv]):
        torch.testing.assert_close(torch.from_numpy(g), w, rtol=1e-5, atol=1e-5)


def test_batch_norm_legit_refusals():
    """no_stats in eval mode (PyTorch itself crashes on it), a wrong running
    stat shape and float64: named statuses."""
    x = torch.randn(2, 3, 4)
    cases = [
        (_bn_program(BN_NO_STATS, x, None, None, (), False, 0.1, 1e-5, 3),
         "PTEC_STATUS_INVALID_ARGUMENT", "training=True"),
        (_bn_program(BN, x, None, None, (torch.zeros(2), torch.ones(2)), True, 0.1, 1e-5, 3),
         "PTEC_STATUS_SHAPE_MISMATCH", "running_mean"),
        (_bn_program(BN_NO_STATS, x.double(), None, None, (), True, 0.1, 1e-5, 3),
         "PTEC_STATUS_TYPE_MISMATCH", "input"),
    ]
    for program, status, match in cases:
        with pytest.raises(PtecError) as info:
            run(program)
        assert info.value.status == status and match in info.value.message, str(info.value)


DROPOUT = "aten::native_dropout.out"


@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.bool_])
def test_native_dropout_eval(seed, dtype):
    """train=False: out0 is the input (any dtype, channels-last too), out1 an
    all-true bool mask, as eager's native_dropout."""
    shape = (random.randint(1, 3), random.randint(1, 4), random.randint(1, 5), 3)
    x = torch.from_numpy((np.random.default_rng(seed).standard_normal(shape) * 5).astype(dtype))
    want = torch.ops.aten.native_dropout(x, 0.4, False)
    for order in (None, (0, 2, 3, 1)):
        got = run(build(DROPOUT, [Input(x.numpy(), order), 0.4, False,
                                  Out(shape, dtype, order), Out(shape, np.bool_)]))
        assert len(got) == 2
        for g, w in zip(got, want):
            assert torch.equal(torch.from_numpy(g), w)


def test_native_dropout_training_refused():
    """train=True (or None) needs random numbers: the compiler refuses with the
    reason; a hand-built program asking for it gets a named status."""
    class Dropout(torch.nn.Module):
        def forward(self, x):
            return F.dropout(x, 0.3, training=True)

    with pytest.raises(ptec.CompileError, match="random numbers"):
        ptec.compile(Dropout(), (torch.randn(2, 3),))
    x = np.ones((2, 3), np.float32)
    for train in (True, None):
        with pytest.raises(PtecError) as info:
            run(build(DROPOUT, [Input(x), 0.3, train, Out((2, 3), np.float32),
                                Out((2, 3), np.bool_)]))
        assert info.value.status == "PTEC_STATUS_NOT_SUPPORTED", str(info.value)
        assert "random numbers" in info.value.message


def test_under_asan(seed, tmp_path):
    """The three kernels' programs under ASan + UBSan (ptec-run --verify on
    bundles whose expected outputs are eager's): no out-of-bounds access on
    a large downscale with an upscale, in-place running stats."""
    x = torch.randn(2, 3, 23, 17)
    aa = Fn(lambda t: (_aa(size=(4, 30))(t), _aa(scale=(0.25, 1.5), align=True)(t)))
    with torch.no_grad():
        want = list(aa(x))
    bundles = [(ptec.compile(aa.eval(), (x,)).buffer, [x], want)]

    x, w = torch.randn(3, 4, 5), torch.randn(4)
    rm, rv = torch.randn(4), torch.rand(4) + 0.5
    program = _bn_program(BN, x, w, None, (rm, rv), True, 0.1, 1e-5, 4)
    want_rm, want_rv = rm.clone(), rv.clone()
    out = torch.ops.aten._native_batch_norm_legit(x, w, None, want_rm, want_rv, True, 0.1, 1e-5)
    bundles.append((program.data, [x, rm, rv], [*out, want_rm, want_rv]))

    m = torch.randn(2, 5)
    program = build(DROPOUT, [Input(m.numpy()), 0.5, False, Out((2, 5), np.float32),
                              Out((2, 5), np.bool_)])
    bundles.append((program.data, [m], list(torch.ops.aten.native_dropout(m, 0.5, False))))
    for k, (pte, inputs, outputs) in enumerate(bundles):
        path = tmp_path / f"portable_rest_{k}.bpte"
        ptec.bundle(pte, [(inputs, outputs)], path=path)
        r = subprocess.run([PTEC_RUN_ASAN, str(path), "--verify", "--rtol", "1e-5", "--atol",
                            "1e-5"], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, f"bundle {k}:\n{r.stdout}\n{r.stderr}"
        assert "1 of 1 cases passed" in r.stdout, r.stdout


def test_upsample_bilinear2d_aa_after_int8_conv(seed):
    """The int8 path has no integer aa kernel: the operator stays a float
    kernel after the dequantize, and the compile does not fail. Tolerance: the
    int8 conv's quantization error, a few steps of its output scale."""
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3), torch.nn.Identity()).eval()
    model[1] = Fn(_aa(size=(3, 5)))
    x = torch.randn(1, 2, 10, 11)
    program = ptec.compile(model, (x,), quantize=ptec.Int8(calibration=[(x,)]))
    ops = [info.operator for info in program.instructions]
    assert AA in ops and "ptec::quantized_conv2d.out" in ops, ops
    (got,) = ptec.load(program.buffer)(x)
    with torch.no_grad():
        want = model(x)
        step = float(model[0](x).abs().max()) / 127
    torch.testing.assert_close(got, want, rtol=0, atol=4 * step)
