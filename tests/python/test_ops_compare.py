"""Comparisons (tensor and scalar), logical_not, where, masked_fill."""
import pytest
import torch

from op_testing import (Fn, check_edited_program, check_module, kernel_calls, randint, randn,
                        rename_operator)
from ptec.pte import schema as pte

OPS = {"eq": torch.eq, "ne": torch.ne, "lt": torch.lt, "le": torch.le, "gt": torch.gt,
       "ge": torch.ge}


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.int64, torch.int32])
def test_tensor(seed, op, dtype):
    if dtype.is_floating_point:
        a, b = randn(3, 4).round(), randn(4).round()  # rounding makes ties likely
    else:
        a, b = randint(-3, 3, 3, 4, dtype=dtype), randint(-3, 3, 4, dtype=dtype)
    check_module(Fn(OPS[op]), (a, b), expect_ops=[f"aten::{op}.Tensor_out"])


@pytest.mark.parametrize("op", OPS)
def test_scalar(seed, op):
    check_module(Fn(lambda x: OPS[op](x, 0.5)), (randn(2, 3, 4),),
                 expect_ops=[f"aten::{op}.Scalar_out"])
    check_module(Fn(lambda x: OPS[op](x, 1)), (randint(-2, 3, 5),))
    check_module(Fn(lambda x: OPS[op](x, 0.5)), (randint(-2, 3, 5, dtype=torch.int32),))


def test_mixed_and_nan(seed):
    a = randn(6)
    a[1] = float("nan")
    check_module(Fn(lambda x, y: x < y), (a, randint(-1, 2, 6)))
    check_module(Fn(lambda x, y: x != y), (a, a.clone()))
    check_module(Fn(lambda x: x == x), (a,))


def test_channels_last(seed):
    check_module(Fn(lambda x, y: x > y), (randn(2, 3, 4, 4, channels_last=True), randn(3, 1, 1)))


def test_logical_not(seed):
    check_module(Fn(torch.logical_not), (torch.rand(3, 4) > 0.5,),
                 expect_ops=["aten::logical_not.out"])
    check_module(Fn(torch.logical_not), (randn(5).round(),))
    check_module(Fn(torch.logical_not), (randint(-1, 2, 7, dtype=torch.int32),))


@pytest.mark.parametrize("op", ["and", "or", "xor"])
def test_logical_binary(seed, op):
    fn = {"and": torch.logical_and, "or": torch.logical_or, "xor": torch.logical_xor}[op]
    check_module(Fn(fn), (torch.rand(3, 4) > 0.5, torch.rand(4) > 0.5),
                 expect_ops=[f"aten::logical_{op}.out"])
    check_module(Fn(fn), (randn(3, 4).round(), randint(-1, 2, 3, 1)))


@pytest.mark.parametrize("shapes", [((3, 4), (3, 4), (3, 4)), ((3, 1), (4,), (3, 4)),
                                    ((1, 4), (2, 1, 4), ()), ((5,), (), ())], ids=str)
def test_where(seed, shapes):
    c = torch.rand(shapes[0]) > 0.5
    a, b = randn(*shapes[1]), randn(*shapes[2])
    check_module(Fn(torch.where), (c, a, b), expect_ops=["aten::where.self_out"])


def test_where_dtypes(seed):
    c = torch.rand(3, 4) > 0.5
    check_module(Fn(torch.where), (c, randint(-9, 9, 3, 4), randint(-9, 9, 4)))
    check_module(Fn(torch.where), (c, randn(3, 4), randint(-9, 9, 4, dtype=torch.int32)))
    check_module(Fn(lambda c_, x: torch.where(c_, x, 0.0)), (c, randn(3, 4)))


@pytest.mark.parametrize("value", [0.0, -1e9, float("-inf"), 3])
def test_masked_fill_decomposed(seed, value):
    """Core ATen turns masked_fill into where(mask, value, self)."""
    mask = torch.rand(4, 1, 6) > 0.5
    check_module(Fn(lambda t, m: t.masked_fill(m, value)), (randn(4, 5, 6), mask))
    if value in (0.0, 3):  # the integral values also fill an int tensor
        check_module(Fn(lambda t, m: t.masked_fill(m, int(value))),
                     (randint(0, 9, 3, 6), mask[0, 0]))


def where_to_masked_fill(value):
    """Rewires `where(mask, x, y)` into `masked_fill(x, mask, value)`."""
    def edit(plan) -> None:
        call = dict(kernel_calls(plan))["aten::where.self_out"]
        mask, x, _, out, ret = call.args
        plan.values.append(pte.EValue(pte.Double(value) if isinstance(value, float)
                                      else pte.Int(value)))
        call.args = [x, mask, len(plan.values) - 1, out, ret]
        rename_operator("aten::where.self_out", "aten::masked_fill.Scalar_out")(plan)
    return edit


@pytest.mark.parametrize("value", [0.0, -1e9, float("-inf"), 3])
@pytest.mark.parametrize("shapes", [((4, 5, 6), (4, 1, 6)), ((2, 3), (3,)), ((5,), (1,))],
                         ids=str)
def test_masked_fill_kernel(seed, value, shapes):
    x, mask = randn(*shapes[0]), torch.rand(shapes[1]) > 0.5
    # where's output keeps x's shape and dtype; `y` only fills the slot.
    check_edited_program(Fn(lambda m, t, y: torch.where(m, t, y)), (mask, x, x * 2),
                         where_to_masked_fill(value), lambda m, t, y: t.masked_fill(m, value))


def test_masked_fill_kernel_int(seed):
    mask, x = torch.rand(3, 5) > 0.5, randint(0, 9, 3, 5)
    check_edited_program(Fn(lambda m, t, y: torch.where(m, t, y)), (mask, x, x),
                         where_to_masked_fill(-7), lambda m, t, y: t.masked_fill(m, -7))
