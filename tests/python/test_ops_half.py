"""float16 and bfloat16 programs (issue 17): inputs, outputs, planning and
the portable kernels that PyTorch runs in these dtypes on CPU, computing in
float32 and rounding to nearest even on store (c10::Half, c10::BFloat16).
Arithmetic, comparisons, copies and layout ops must equal PyTorch bit for
bit; transcendental functions within half an ulp of the dtype (PyTorch's
float32 math may differ from libm's in the last float bit, which can tip a
rounding)."""
from __future__ import annotations

import os
import random
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

import ptec
from op_testing import Fn, check_module
from ptec.runtime import PtecError

ROOT = Path(__file__).resolve().parents[2]
HALF = [torch.float16, torch.bfloat16]
#: Half an ulp at 1.0 of each dtype.
HALF_ULP = {torch.float16: 2.0 ** -11, torch.bfloat16: 2.0 ** -8}


def shape_of(rank):
    return tuple(random.randint(1, 5) for _ in range(rank))


def exact_ops(a, b):
    return (a + b, a - b * 2, a * b, a / b, torch.neg(a), torch.abs(a), torch.relu(a),
            torch.maximum(a, b), torch.minimum(a, b), torch.clamp(a, -0.5, 0.5), a > b, a == b,
            torch.where(a > 0, a, b), a.to(torch.float32), (a * 100).to(torch.int32),
            torch.cat([a, a], -1), a.transpose(0, -1).contiguous(), torch.flip(a, [0]),
            torch.floor(a * 3), a.amax(-1))


@pytest.mark.parametrize("dtype", HALF)
def test_exact_ops(seed, dtype):
    shape = shape_of(3)
    a = (torch.randn(shape) * 4).to(dtype)
    b = (torch.randn(shape[-1:]) + 3).to(dtype)  # broadcast along the last dim
    check_module(Fn(exact_ops), (a, b), rtol=0, atol=0,
                 expect_ops=["aten::add.out", "aten::div.out", "aten::_to_copy.out"])


@pytest.mark.parametrize("dtype", HALF)
def test_math_and_reductions(seed, dtype):
    shape = shape_of(3)
    a = torch.randn(shape).to(dtype)
    tol = HALF_ULP[dtype]

    def f(t):
        return (torch.exp(t), torch.sigmoid(t), torch.tanh(t), torch.sin(t), torch.sqrt(t.abs()),
                torch.log(t.abs() + 1), t.sum(-1), t.mean(0), torch.softmax(t.float(), -1))

    check_module(Fn(f), (a,), rtol=2 * tol, atol=tol * (2 + shape[-1]),
                 expect_ops=["aten::exp.out", "aten::sum.IntList_out"])


def test_mixed_promotion(seed):
    """float16 with bfloat16 promotes to float32; with float32 to float32;
    with an int to the half type."""
    shape = shape_of(2)
    h, b = torch.randn(shape).half(), torch.randn(shape).bfloat16()
    f, i = torch.randn(shape), torch.randint(-5, 5, shape, dtype=torch.int32)
    check_module(Fn(lambda p, q, r, s: (p + q, p * r, q - r, p + s, q * s)), (h, b, f, i),
                 rtol=0, atol=0)


def test_rounding_edges():
    """Overflow to inf, subnormals, ties to even and NaN, through a copy from
    float32 (the runtime's conversion, not PyTorch's, makes the result)."""
    values = torch.tensor([65504.0, 65519.99, 65520.0, 1e-8, 5.96e-8, 2.0 ** -25, 3 * 2.0 ** -25,
                           1.0 + 2.0 ** -11, 1.0 + 3 * 2.0 ** -11, -0.0, float("inf"),
                           float("nan"), 3.0e38, 1.0 + 2.0 ** -8, 1.0 + 3 * 2.0 ** -8, -1e-40])
    for dtype in HALF:
        got = ptec.load(ptec.compile(Fn(lambda t: t.to(dtype)), (values,)).buffer)(values)[0]
        want = values.to(dtype)
        assert torch.equal(got.view(torch.int16)[~want.isnan()],
                           want.view(torch.int16)[~want.isnan()]), (dtype, got, want)
        assert got.isnan().tolist() == want.isnan().tolist()


def test_unsupported_kernel_refuses_with_the_dtype():
    """A kernel that computes only in float32 (_cdist_forward; PyTorch has no
    half cdist on CPU either) names the dtype instead of reading half data as
    floats."""
    module = Fn(lambda x, g: torch.cdist(x, g))
    x, g = torch.randn(3, 4).half(), torch.randn(5, 4).half()
    program = ptec.compile(module, (x, g))
    with pytest.raises(PtecError) as info:
        ptec.load(program.buffer)(x, g)
    assert "float16" in info.value.message


def test_ptec_run_takes_float16(seed, tmp_path):
    a = torch.randn(3, 4).half()
    module = Fn(lambda t: (t * 3 + 1, torch.exp(t)))
    ptec.compile(module, (a,)).save(tmp_path / "m.pte")
    np.save(tmp_path / "a.npy", a.numpy())
    runner = os.environ.get("PTEC_RUN", str(ROOT / "build" / "host" / "ptec-run"))
    done = subprocess.run([runner, str(tmp_path / "m.pte"), "--input", str(tmp_path / "a.npy"),
                           "--output-dir", str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    want = module(a)
    got0 = torch.from_numpy(np.load(tmp_path / "output0.npy"))
    assert got0.dtype == torch.float16 and torch.equal(got0, want[0])
    got1 = torch.from_numpy(np.load(tmp_path / "output1.npy"))
    torch.testing.assert_close(got1, want[1], rtol=2 * HALF_ULP[torch.float16], atol=0)
