"""add, sub, rsub, mul, div, maximum, minimum, pow: broadcasting, dtypes
(float32, int32, int64, bool), scalar overloads, layouts, failures."""
import pytest
import torch

from op_testing import Fn, check_module, expect_failure, randint, randn

# Pairs of broadcastable shapes: same, trailing, leading, both sides, 0-d.
SHAPES = [
    ((2, 3, 4), (2, 3, 4)),
    ((2, 3, 4), (4,)),
    ((2, 3, 4), (3, 1)),
    ((1, 3, 1), (2, 1, 5)),
    ((5,), ()),
    ((), ()),
    ((4, 1, 3, 2), (1, 6, 1, 1)),
]

ARITH = {
    "add": lambda a, b: a + b,
    "add_alpha": lambda a, b: torch.add(a, b, alpha=2),
    "sub": lambda a, b: a - b,
    "sub_alpha": lambda a, b: torch.sub(a, b, alpha=3),
    "mul": lambda a, b: a * b,
    "maximum": torch.maximum,
    "minimum": torch.minimum,
}


@pytest.mark.parametrize("shapes", SHAPES, ids=str)
@pytest.mark.parametrize("op", ARITH, ids=str)
def test_float(seed, op, shapes):
    a, b = randn(*shapes[0]), randn(*shapes[1])
    check_module(Fn(ARITH[op]), (a, b))


@pytest.mark.parametrize("shapes", SHAPES[:4], ids=str)
def test_div(seed, shapes):
    a, b = randn(*shapes[0]), randn(*shapes[1])
    check_module(Fn(torch.div), (a, b), expect_ops=["aten::div.out"])


@pytest.mark.parametrize("mode", ["trunc", "floor"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.int64, torch.int32])
def test_div_rounding(seed, mode, dtype):
    if dtype.is_floating_point:
        a, b = randn(3, 4) * 10, randn(4) * 3
    else:
        a = randint(-50, 50, 3, 4, dtype=dtype)
        b = randint(1, 7, 4, dtype=dtype) * (torch.randint(0, 2, (4,), dtype=dtype) * 2 - 1)
    check_module(Fn(lambda x, y: torch.div(x, y, rounding_mode=mode)), (a, b))


@pytest.mark.parametrize("dtype", [torch.int32, torch.int64])
@pytest.mark.parametrize("op", ["add", "add_alpha", "sub", "mul", "maximum", "minimum"])
def test_integer(seed, op, dtype):
    a, b = randint(-100, 100, 2, 3, 4, dtype=dtype), randint(-100, 100, 3, 1, dtype=dtype)
    check_module(Fn(ARITH[op]), (a, b))


def test_integer_division_gives_float(seed):
    a, b = randint(-20, 20, 6), randint(1, 5, 6)
    check_module(Fn(torch.div), (a, b))


def test_mixed_dtypes_promote(seed):
    """int + float -> float; int32 + int64 -> int64; bool + int -> int."""
    f, i32, i64 = randn(2, 3), randint(-5, 5, 2, 3, dtype=torch.int32), randint(-5, 5, 3)
    check_module(Fn(lambda x, y: x + y), (f, i32))
    check_module(Fn(lambda x, y: x * y), (i32, i64))
    flags = torch.rand(2, 3) > 0.5
    check_module(Fn(lambda x, y: x + y), (flags, i64))


def test_bool(seed):
    a, b = torch.rand(3, 4) > 0.5, torch.rand(4) > 0.5
    check_module(Fn(lambda x, y: x + y), (a, b))
    check_module(Fn(lambda x, y: x * y), (a, b))
    check_module(Fn(torch.maximum), (a, b))


@pytest.mark.parametrize("op,fn", [
    ("add.Scalar", lambda x: torch.ops.aten.add.Scalar(x, 1.5)),
    ("sub.Scalar", lambda x: torch.ops.aten.sub.Scalar(x, 0.25, alpha=2)),
    ("rsub.Scalar", lambda x: torch.ops.aten.rsub.Scalar(x, 2.0)),
    ("mul.Scalar", lambda x: x * 3.0),
    ("div.Scalar", lambda x: x / 7.0),
    ("pow", lambda x: torch.pow(x, 2)),
    ("pow3", lambda x: torch.pow(x, 3.0)),
    ("pow_half", lambda x: torch.pow(x.abs(), 0.5)),
    ("pow_frac", lambda x: torch.pow(x.abs() + 0.1, 1.7)),
    ("pow_neg", lambda x: torch.pow(x.abs() + 0.5, -1)),
])
def test_scalar_overloads_float(seed, op, fn):
    check_module(Fn(fn), (randn(3, 5),))


@pytest.mark.parametrize("dtype", [torch.int32, torch.int64])
def test_scalar_overloads_int(seed, dtype):
    x = randint(-10, 10, 4, 3, dtype=dtype)
    check_module(Fn(lambda t: t + 3), (x,))
    check_module(Fn(lambda t: t * -2), (x,))
    check_module(Fn(lambda t: 5 - t), (x,))
    check_module(Fn(lambda t: torch.pow(t, 3)), (x,))
    check_module(Fn(lambda t: t * 1.5), (x,))  # int tensor, float scalar -> float


def test_rsub_int(seed):
    check_module(Fn(lambda t: torch.rsub(t, 7, alpha=2)), (randint(-9, 9, 5),))


def test_channels_last(seed):
    a = randn(2, 3, 4, 5, channels_last=True)
    b = randn(2, 3, 4, 5)
    check_module(Fn(lambda x, y: x + y), (a, b))
    check_module(Fn(lambda x, y: x * y), (a, randn(3, 1, 1)))
    check_module(Fn(lambda x, y: x - y), (a, randn(2, 3, 4, 5, channels_last=True)))


def test_nan_propagation(seed):
    a = randn(8)
    a[2] = float("nan")
    b = randn(8)
    b[5] = float("nan")
    check_module(Fn(torch.maximum), (a, b), equal_nan=True)
    check_module(Fn(torch.minimum), (a, b), equal_nan=True)


def test_integer_division_by_zero_fails(seed):
    a, b = randint(1, 9, 4), randint(1, 9, 4)
    zero = b.clone()
    zero[1] = 0
    expect_failure(Fn(lambda x, y: torch.div(x, y, rounding_mode="floor")), (a, b),
                   "PTEC_STATUS_OUT_OF_RANGE", run_inputs=(a, zero), match="division by zero")


def test_pow_tensor_tensor_and_scalar_base(seed):
    base, exponent = randn(3, 4).abs() + 0.1, randn(4) * 2
    check_module(Fn(torch.pow), (base, exponent), expect_ops=["aten::pow.Tensor_Tensor_out"])
    check_module(Fn(lambda e: torch.pow(2.0, e)), (exponent,), expect_ops=["aten::pow.Scalar_out"])
    check_module(Fn(torch.pow), (randint(-4, 5, 3, 4), randint(0, 4, 4)))


@pytest.mark.parametrize("dtype", [torch.float32, torch.int64, torch.int32])
def test_remainder_and_floor_divide(seed, dtype):
    if dtype.is_floating_point:
        a, b = randn(3, 5) * 10, randn(5) * 3
    else:
        a = randint(-50, 50, 3, 5, dtype=dtype)
        b = randint(1, 7, 5, dtype=dtype) * (torch.randint(0, 2, (5,), dtype=dtype) * 2 - 1)
    check_module(Fn(torch.remainder), (a, b), expect_ops=["aten::remainder.Tensor_out"])
    check_module(Fn(lambda x: torch.remainder(x, -3)), (a,),
                 expect_ops=["aten::remainder.Scalar_out"])
    check_module(Fn(torch.floor_divide), (a, b))
