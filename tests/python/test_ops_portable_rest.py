"""The last of ExecuTorch's portable operators (test_op_coverage.py):
antialiased bilinear resampling, training-mode batch norm and eval-mode
native_dropout, each against PyTorch eager."""
from __future__ import annotations

import random

import numpy as np
import pytest
import torch

import ptec
from ptec.runtime import PtecError

from op_testing import Fn, check_module
from program_builder import Input, Out, build, run, run_op

F = torch.nn.functional
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
