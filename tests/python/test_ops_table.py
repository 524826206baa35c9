"""The table-made pointwise kernels (runtime/src/kernels/portable/unary_ops.def,
binary_ops.def) against PyTorch eager: random shapes and dtypes (seeded),
broadcasting, PyTorch's type promotion. Several ops share one program so the
file stays fast.
"""
from __future__ import annotations

import random

import pytest
import torch

from op_testing import Fn, check_module

FLOAT_OPS = {
    # kernel: (function, how the input is brought into the op's domain)
    "aten::exp.out": (torch.exp, lambda x: x),
    "aten::expm1.out": (torch.expm1, lambda x: x),
    "aten::log.out": (torch.log, lambda x: x.abs() + 0.1),
    "aten::log2.out": (torch.log2, lambda x: x.abs() + 0.1),
    "aten::log10.out": (torch.log10, lambda x: x.abs() + 0.1),
    "aten::log1p.out": (torch.log1p, lambda x: x.abs()),
    "aten::sqrt.out": (torch.sqrt, lambda x: x.abs()),
    "aten::rsqrt.out": (torch.rsqrt, lambda x: x.abs() + 0.1),
    "aten::reciprocal.out": (torch.reciprocal, lambda x: x + 3),
    "aten::erf.out": (torch.erf, lambda x: x),
    "aten::sigmoid.out": (torch.sigmoid, lambda x: x),
    "aten::sin.out": (torch.sin, lambda x: x),
    "aten::cos.out": (torch.cos, lambda x: x),
    "aten::tan.out": (torch.tan, lambda x: x * 0.5),
    "aten::asin.out": (torch.asin, lambda x: x * 0.3),
    "aten::acos.out": (torch.acos, lambda x: x * 0.3),
    "aten::atan.out": (torch.atan, lambda x: x),
    "aten::sinh.out": (torch.sinh, lambda x: x),
    "aten::cosh.out": (torch.cosh, lambda x: x),
    "aten::tanh.out": (torch.tanh, lambda x: x),
    "aten::asinh.out": (torch.asinh, lambda x: x),
    "aten::acosh.out": (torch.acosh, lambda x: x.abs() + 1),
    "aten::atanh.out": (torch.atanh, lambda x: x * 0.3),
}


def random_shape(rank_max: int = 3) -> tuple[int, ...]:
    return tuple(random.randint(1, 4) for _ in range(random.randint(1, rank_max)))


def test_unary_float_ops(seed):
    """Every PTEC_UNARY_FLOAT row on float32 input, in one program."""
    names = sorted(FLOAT_OPS)
    x = torch.randn(random_shape()).clamp(-2.5, 2.5)

    def all_ops(t):
        return tuple(FLOAT_OPS[n][0](FLOAT_OPS[n][1](t)) for n in names)

    check_module(Fn(all_ops), (x,), rtol=2e-5, atol=2e-5, expect_ops=names)


@pytest.mark.parametrize("dtype", [torch.int32, torch.int64, torch.uint8, torch.bool])
def test_unary_float_ops_of_integers(seed, dtype):
    """acos of an int is a float: the ops convert integer and bool inputs.
    Out-of-domain results are NaN in both."""
    names = [f"aten::{n}.out" for n in ("exp", "expm1", "log2", "log10", "log1p", "sqrt", "sin",
                                        "tan", "asin", "acos", "atan", "sinh", "cosh", "asinh",
                                        "acosh", "atanh")]
    x = (torch.randint(0, 2, random_shape()) if dtype == torch.bool
         else torch.randint(0 if dtype == torch.uint8 else -4, 5, random_shape())).to(dtype)
    check_module(Fn(lambda t: tuple(FLOAT_OPS[n][0](t) for n in names)), (x,), rtol=2e-5,
                 atol=2e-5, equal_nan=True, expect_ops=names)


def test_sign_isnan_isinf_and_copies(seed):
    x = torch.randn(random_shape(4))
    flat = x.view(-1)
    flat[::3] = float("nan")
    flat[1::5] = float("inf")
    flat[2::7] = -float("inf")
    flat[0] = 0.0
    i = torch.randint(-3, 4, x.shape, dtype=torch.int32)
    check_module(Fn(lambda t, k: (t.sign(), k.sign(), t.isnan(), t.isinf(), k.isnan(),
                                  k.isinf(), torch.ops.aten._conj_physical(k))),
                 (x, i), equal_nan=True,
                 expect_ops=["aten::sign.out", "aten::isnan.out", "aten::isinf.out",
                             "aten::_conj_physical.out"])


INT_DTYPES = [torch.int8, torch.uint8, torch.int16, torch.int32, torch.int64]


def _ints(shape, dtype, low=-100, high=100):
    if dtype == torch.bool:
        return torch.randint(0, 2, shape).bool()
    info = torch.iinfo(dtype)
    return torch.randint(max(low, info.min), min(high, info.max) + 1, shape).to(dtype)


@pytest.mark.parametrize("dtype", [torch.int8, torch.uint8, torch.int64, torch.bool])
def test_bitwise(seed, dtype):
    shape = random_shape()
    a = _ints(shape, dtype)
    b = _ints(shape[-1:], dtype)  # broadcast along the last dim
    s = True if dtype == torch.bool else 5
    check_module(Fn(lambda x, y: (x & y, x | y, x ^ y, x & s, x | s, x ^ s, ~x)), (a, b),
                 expect_ops=["aten::bitwise_and.Tensor_out", "aten::bitwise_or.Tensor_out",
                             "aten::bitwise_xor.Tensor_out", "aten::bitwise_and.Scalar_out",
                             "aten::bitwise_or.Scalar_out", "aten::bitwise_xor.Scalar_out",
                             "aten::bitwise_not.out"])


def test_bitwise_mixed_dtypes_promote(seed):
    a, b = _ints((3, 4), torch.int8), _ints((4,), torch.int32)
    c = _ints((3, 1), torch.bool)
    check_module(Fn(lambda x, y, z: (x & y, y | z, x ^ z)), (a, b, c),
                 expect_ops=["aten::bitwise_and.Tensor_out"])


@pytest.mark.parametrize("dtype", [torch.int8, torch.uint8, torch.int16, torch.int64])
def test_shifts(seed, dtype):
    """Shifts by 0..width+2 (past the width: 0 left, the sign right, as c10)."""
    width = torch.iinfo(dtype).bits
    shape = random_shape()
    a = _ints(shape, dtype)
    n = torch.randint(0, width + 3, shape).to(dtype)
    check_module(Fn(lambda x, k: (x << k, x >> k, x << 3, x >> 2)), (a, n),
                 expect_ops=["aten::bitwise_left_shift.Tensor_out",
                             "aten::bitwise_right_shift.Tensor_out",
                             "aten::bitwise_left_shift.Tensor_Scalar_out",
                             "aten::bitwise_right_shift.Tensor_Scalar_out"])


@pytest.mark.parametrize("dtype", [torch.float32, torch.int32, torch.int64])
def test_fmod(seed, dtype):
    shape = random_shape()
    if dtype.is_floating_point:
        a, b = torch.randn(shape) * 5, torch.randn(shape[-1:]) + 3
    else:
        a = _ints(shape, dtype)
        b = _ints(shape[-1:], dtype, 1, 9) * (torch.randint(0, 2, shape[-1:]) * 2 - 1).to(dtype)
    check_module(Fn(lambda x, y: (torch.fmod(x, y), torch.fmod(x, 3), torch.fmod(x, -2.5))),
                 (a, b), expect_ops=["aten::fmod.Tensor_out", "aten::fmod.Scalar_out"])


def test_atan2(seed):
    shape = random_shape()
    a, b = torch.randn(shape), torch.randn(shape[-1:])
    b[0] = 0.0
    i = torch.randint(-3, 4, shape, dtype=torch.int32)
    check_module(Fn(lambda x, y, k: (torch.atan2(x, y), torch.atan2(k, y))), (a, b, i),
                 rtol=2e-5, atol=2e-5, expect_ops=["aten::atan2.out"])


def test_integer_fmod_by_zero_is_refused():
    from op_testing import expect_failure

    a = torch.tensor([5, -3], dtype=torch.int32)
    expect_failure(Fn(lambda x, y: torch.fmod(x, y)), (a, torch.tensor([1, 2], dtype=torch.int32)),
                   "PTEC_STATUS_OUT_OF_RANGE",
                   run_inputs=(a, torch.tensor([0, 2], dtype=torch.int32)), match="by zero")
