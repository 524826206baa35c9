"""3-D pooling (issue 17): max_pool3d (with indices), avg_pool3d (ceil_mode,
count_include_pad, divisor_override, padding, stride), adaptive average and
max pools, against PyTorch eager on float32, float16 and bfloat16, NCDHW and
channels_last_3d; random sizes from the printed seed. The int8 and TOSA
targets keep these pools as float CPU kernels with the reason in the report
(TOSA 1.0 has no 3-D pooling; ptec has no integer 3-D pool)."""
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
from program_builder import Input, Out, build, run

F = torch.nn.functional
ROOT = Path(__file__).resolve().parents[2]
PTEC_RUN_ASAN = os.environ.get("PTEC_RUN_ASAN", str(ROOT / "build" / "asan" / "ptec-run"))
MAX = "aten::max_pool3d_with_indices.out"
AVG = "aten::avg_pool3d.out"
ADAPTIVE_AVG = "aten::_adaptive_avg_pool3d.out"
ADAPTIVE_MAX = "aten::adaptive_max_pool3d.out"

#: Tolerances per dtype: float32 window sums in PyTorch's order (a few ulps);
#: half types round once per output, so one ulp of theirs.
TOL = {torch.float32: (1e-5, 1e-5), torch.float16: (1e-3, 1e-3), torch.bfloat16: (8e-3, 8e-3)}


def _x(dtype=torch.float32, batch=True, channels_last=False):
    shape = (random.randint(1, 2), random.randint(1, 3), random.randint(3, 6),
             random.randint(3, 7), random.randint(3, 7))
    x = torch.randn(shape).to(dtype)
    if channels_last:
        x = x.to(memory_format=torch.channels_last_3d)
    return x if batch else x[0]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("ceil_mode", [False, True])
def test_max_pool3d(seed, dtype, ceil_mode):
    """Values and indices (flat d * H * W + h * W + w), with padding, stride
    and dilation per axis; an unbatched [C, D, H, W] input too."""
    x = _x(dtype)
    fn = Fn(lambda t: (F.max_pool3d(t, (2, 3, 2), stride=(1, 2, 2), padding=(1, 1, 0),
                                    dilation=(1, 1, 2), ceil_mode=ceil_mode, return_indices=True),
                       F.max_pool3d(t[0], 2, ceil_mode=ceil_mode)))
    rtol, atol = TOL[dtype]
    check_module(fn, (x,), rtol=rtol, atol=atol, expect_ops=[MAX])


def test_max_pool3d_nan_and_channels_last(seed):
    """NaN wins its window (as in PyTorch); channels_last_3d input."""
    x = _x(channels_last=True)
    x[tuple(random.randrange(n) for n in x.shape)] = float("nan")
    check_module(torch.nn.MaxPool3d(2, stride=1, return_indices=True), (x,), equal_nan=True,
                 expect_ops=[MAX])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("ceil_mode,include_pad,divisor",
                         [(False, True, None), (True, True, None), (True, False, None),
                          (False, False, 5)])
def test_avg_pool3d(seed, dtype, ceil_mode, include_pad, divisor):
    """Padding counted or not, windows past the end (ceil_mode), a divisor
    override; a window of 2 x 3 x 3 is 18 terms."""
    x = _x(dtype, channels_last=dtype == torch.float32 and ceil_mode)
    fn = Fn(lambda t: F.avg_pool3d(t, (2, 3, 3), stride=(2, 1, 2), padding=(1, 1, 0),
                                   ceil_mode=ceil_mode, count_include_pad=include_pad,
                                   divisor_override=divisor))
    if dtype != torch.float32:
        _check_half(fn, x, AVG)
    else:
        rtol, atol = TOL[dtype]
        check_module(fn, (x,), rtol=rtol, atol=atol, terms=18, expect_ops=[AVG])


def _check_half(fn, x, op):
    """PyTorch's CPU avg_pool3d has no float16 or bfloat16 kernel: the
    reference is eager on float32 rounded once to x's dtype, which is what ptec's kernel computes
    (a float32 sum, one rounding per output)."""
    program = ptec.compile(fn.eval(), (x,))
    assert op in [i.operator for i in program.instructions]
    got = ptec.load(program.buffer)(x)
    with torch.no_grad():
        want = ptec_flatten(fn(x.float()))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == x.dtype and g.shape == w.shape
        torch.testing.assert_close(g, w.to(x.dtype), rtol=0, atol=0)


def test_avg_pool3d_unbatched_default_stride(seed):
    check_module(torch.nn.AvgPool3d(2), (_x(batch=False),), terms=8, expect_ops=[AVG])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_adaptive_pools3d(seed, dtype):
    """Output sizes that do not divide the input (overlapping windows), one
    equal to the input, and a channels_last_3d input."""
    x = _x(dtype, channels_last=dtype == torch.float32)
    size = (random.randint(1, x.shape[2]), x.shape[3], random.randint(2, x.shape[4] + 2))
    fn = Fn(lambda t: (F.adaptive_avg_pool3d(t, size),
                       F.adaptive_max_pool3d(t, size, return_indices=True),
                       F.adaptive_max_pool3d(t[0], (2, 1, 3))))
    rtol, atol = TOL[dtype]
    check_module(fn, (x,), rtol=rtol, atol=atol, terms=64,
                 expect_ops=[ADAPTIVE_AVG, ADAPTIVE_MAX])


def _refusal(op, args):
    with pytest.raises(PtecError) as info:
        run(build(op, args))
    return info.value


def test_pool3d_refusals(seed):
    """Bad arguments a compiler never emits: each a named status with a
    message, not a crash (programs built by hand, program_builder)."""
    x = np.random.randn(1, 2, 4, 5, 6).astype(np.float32)
    cases = [
        # padding over half the kernel
        (AVG, [Input(x), [2, 2, 2], [1], [2], False, True, None, Out((1, 2, 5, 6, 7), np.float32)],
         "PTEC_STATUS_INVALID_ARGUMENT", "padding"),
        # kernel_size with 2 entries
        (AVG, [Input(x), [2, 2], [], [0], False, True, None, Out((1, 2, 2, 2, 3), np.float32)],
         "PTEC_STATUS_INVALID_ARGUMENT", "kernel_size"),
        (AVG, [Input(x), [2], [], [0], False, True, 0, Out((1, 2, 2, 2, 3), np.float32)],
         "PTEC_STATUS_INVALID_ARGUMENT", "divisor_override"),
        # out of the wrong shape
        (MAX, [Input(x), [2], [], [0], [1], False, Out((1, 2, 2, 2, 2), np.float32),
               Out((1, 2, 2, 2, 2), np.int64)], "PTEC_STATUS_SHAPE_MISMATCH", "out"),
        # indices not int64
        (MAX, [Input(x), [2], [], [0], [1], False, Out((1, 2, 2, 2, 3), np.float32),
               Out((1, 2, 2, 2, 3), np.int32)], "PTEC_STATUS_TYPE_MISMATCH", "indices"),
        # a 2-D input
        (ADAPTIVE_AVG, [Input(x[0, 0, 0]), [1, 1, 1], Out((1, 1, 1), np.float32)],
         "PTEC_STATUS_SHAPE_MISMATCH", "[N, C, D, H, W]"),
        (ADAPTIVE_MAX, [Input(x), [1, -1, 1], Out((1, 2, 1, 1, 1), np.float32),
                        Out((1, 2, 1, 1, 1), np.int64)], "PTEC_STATUS_INVALID_ARGUMENT",
         "negative"),
        # an empty depth
        (ADAPTIVE_AVG, [Input(np.zeros((1, 2, 0, 3, 3), np.float32)), [1, 1, 1],
                        Out((1, 2, 1, 1, 1), np.float32)], "PTEC_STATUS_SHAPE_MISMATCH", "empty"),
    ]
    for op, args, status, match in cases:
        err = _refusal(op, args)
        assert err.status == status and match in err.message, (op, str(err))


class VideoNet(torch.nn.Module):
    """A small video classifier: conv3d, max pool, average pool, adaptive pool."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv3d(2, 4, 3, padding=1)
        self.pools = torch.nn.Sequential(torch.nn.MaxPool3d(2),
                                         torch.nn.AvgPool3d(2, ceil_mode=True),
                                         torch.nn.AdaptiveAvgPool3d((1, 2, 2)))

    def forward(self, x):
        return self.pools(torch.relu(self.conv(x)))


@pytest.mark.parametrize("target,quantized", [("host", True), ("tosa-fp", False),
                                              ("tosa-int", True)])
def test_pools3d_stay_float_on_int8_and_tosa(seed, target, quantized):
    """No integer or TOSA 3-D pool: the compile succeeds, each pool runs as a
    float CPU kernel and the report says why. Tolerance: the int8 conv's
    quantization error (a few steps of its output scale)."""
    model, x = VideoNet().eval(), torch.randn(1, 2, 4, 8, 8)
    quantize = ptec.Int8(calibration=[(x,)]) if quantized else None
    program = ptec.compile(model, (x,), target=target, quantize=quantize)
    report = program.report()
    for op in (MAX, AVG, ADAPTIVE_AVG):
        line = next(l for l in report.splitlines() if op in l and (" stays float: " in l
                                                                   or " on the CPU: " in l))
        assert "conversion" in line or "integer" in line or "quantized" in line, line
    if target.startswith("tosa"):
        assert "delegate TOSABackend" in [i.operator for i in program.instructions]
    got = ptec.load(program.buffer)(x)[0]
    with torch.no_grad():
        want = model(x)
    atol = 0.05 if quantized else 1e-5
    torch.testing.assert_close(got, want, rtol=1e-4, atol=atol)


def test_pools3d_under_asan(seed, tmp_path):
    """All four kernels under ASan + UBSan (ptec-run --verify on a bundle of
    eager's outputs): padded, ceil-mode and dilated windows at the edges,
    float32 and float16 (channels_last_3d is in the tests above: bundles
    hold contiguous inputs)."""
    for k, dtype in enumerate((torch.float32, torch.float16)):
        x = _x(dtype)
        fn = Fn(lambda t: (F.max_pool3d(t, 3, stride=2, padding=1, dilation=(2, 1, 1),
                                        ceil_mode=True, return_indices=True),
                           F.avg_pool3d(t, 3, stride=2, padding=1, ceil_mode=True,
                                        count_include_pad=False),
                           F.adaptive_avg_pool3d(t, (2, 3, 4)),
                           F.adaptive_max_pool3d(t, (3, 2, 5), return_indices=True)))
        with torch.no_grad():
            # Eager has no float16 avg_pool3d: float32 rounded once, as ptec computes.
            want = [w.to(dtype) if w.is_floating_point() else w
                    for w in ptec_flatten(fn(x.float()))]
        path = tmp_path / f"pool3d_{k}.bpte"
        ptec.bundle(ptec.compile(fn.eval(), (x,)).buffer, [([x], want)], path=path)
        tol = "1e-5" if dtype == torch.float32 else "1e-2"
        r = subprocess.run([PTEC_RUN_ASAN, str(path), "--verify", "--rtol", tol, "--atol", tol],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, f"{dtype}:\n{r.stdout}\n{r.stderr}"
        assert "1 of 1 cases passed" in r.stdout, r.stdout


def ptec_flatten(value):
    if isinstance(value, (tuple, list)):
        return [v for item in value for v in ptec_flatten(item)]
    return [value]
