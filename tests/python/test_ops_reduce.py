"""Reductions: mean, sum, amax, amin, argmax, var, any, all, cumsum."""
import pytest
import torch

from op_testing import Fn, check_module, randint, randn

CASES = [
    ((6,), [0], False),
    ((3, 4), [1], False),
    ((3, 4), [0], True),
    ((2, 3, 4, 5), [2, 3], True),
    ((2, 3, 4, 5), [-1, -2], False),
    ((2, 3, 4, 5), [0, 2], False),
    ((2, 3, 4, 5), [0, 1, 2, 3], False),
    ((4, 5), [], False),  # empty list: every dim
]


def terms(shape, dims):
    if not dims:
        dims = range(len(shape))
    n = 1
    for d in dims:
        n *= shape[d]
    return n


@pytest.mark.parametrize("shape,dims,keepdim", CASES, ids=str)
def test_mean(seed, shape, dims, keepdim):
    fn = Fn(lambda x: torch.mean(x, dims, keepdim=keepdim))
    check_module(fn, (randn(*shape),), terms=terms(shape, dims), expect_ops=["aten::mean.out"])


@pytest.mark.parametrize("keepdim", [False, True])
def test_mean_channels_last(seed, keepdim):
    """MobileNetV2's global pool: mean over H, W of an NHWC tensor."""
    fn = Fn(lambda x: torch.mean(x, [-1, -2], keepdim=keepdim))
    check_module(fn, (randn(2, 8, 5, 6, channels_last=True),), terms=30)


@pytest.mark.parametrize("shape,dims,keepdim", CASES, ids=str)
def test_sum(seed, shape, dims, keepdim):
    fn = Fn(lambda x: torch.sum(x, dims, keepdim=keepdim))
    check_module(fn, (randn(*shape),), terms=terms(shape, dims),
                 expect_ops=["aten::sum.IntList_out"])


@pytest.mark.parametrize("dtype", [torch.int32, torch.int64, torch.bool])
def test_sum_integer(seed, dtype):
    x = randint(-50, 50, 3, 4, 5, dtype=torch.int64).to(dtype)
    check_module(Fn(lambda t: torch.sum(t, [1])), (x,))
    check_module(Fn(lambda t: torch.sum(t, [0, 2], keepdim=True)), (x,))


@pytest.mark.parametrize("op", [torch.amax, torch.amin], ids=["amax", "amin"])
@pytest.mark.parametrize("shape,dims,keepdim", CASES, ids=str)
def test_amax_amin(seed, op, shape, dims, keepdim):
    check_module(Fn(lambda x: op(x, dims, keepdim=keepdim)), (randn(*shape),))


@pytest.mark.parametrize("op", [torch.amax, torch.amin], ids=["amax", "amin"])
def test_amax_amin_int_and_nan(seed, op):
    check_module(Fn(lambda x: op(x, [1])), (randint(-100, 100, 3, 7, dtype=torch.int32),))
    x = randn(3, 5)
    x[1, 2] = float("nan")
    check_module(Fn(lambda t: op(t, [1])), (x,), equal_nan=True)


@pytest.mark.parametrize("shape,dim,keepdim", [((7,), 0, False), ((3, 5), 1, True),
                                               ((3, 5), 0, False), ((2, 3, 4), None, False),
                                               ((2, 3, 4), None, True), ((2, 3, 4), -1, False)],
                         ids=str)
def test_argmax(seed, shape, dim, keepdim):
    check_module(Fn(lambda x: torch.argmax(x, dim, keepdim=keepdim)), (randn(*shape),),
                 expect_ops=["aten::argmax.out"])


def test_argmax_ties_nan_and_layout(seed):
    """First maximum wins; NaN is the maximum; flattened order is logical
    even for a channels-last input."""
    x = torch.tensor([[1.0, 3.0, 3.0, 2.0], [float("nan"), 5.0, float("nan"), 1.0]])
    check_module(Fn(lambda t: torch.argmax(t, 1)), (x,))
    check_module(Fn(lambda t: torch.argmax(t)), (randint(0, 3, 2, 3, 4, 5).float()
                                                  .to(memory_format=torch.channels_last),))
    check_module(Fn(lambda t: torch.argmax(t, 1)), (randint(-9, 9, 4, 6, dtype=torch.int32),))


@pytest.mark.parametrize("shape,dims,correction,keepdim", [
    ((10,), None, 1, False), ((3, 8), [1], 0, False), ((3, 8), [0], 1, True),
    ((2, 3, 4, 5), [2, 3], 1, True), ((4, 6), None, 2.5, False)], ids=str)
def test_var(seed, shape, dims, correction, keepdim):
    fn = Fn(lambda x: torch.var(x, dims, correction=correction, keepdim=keepdim))
    check_module(fn, (randn(*shape) * 2 + 1,), expect_ops=["aten::var.correction_out"])


@pytest.mark.parametrize("op", [torch.any, torch.all], ids=["any", "all"])
def test_any_all(seed, op):
    x = torch.rand(3, 4, 5) > 0.3
    check_module(Fn(lambda t: op(t)), (x,))
    check_module(Fn(lambda t: op(t, 1)), (x,))
    check_module(Fn(lambda t: op(t, dim=2, keepdim=True)), (x,))
    check_module(Fn(lambda t: op(t, 0)), (randn(3, 4).round(),))


@pytest.mark.parametrize("shape,dim", [((7,), 0), ((3, 5), 1), ((3, 5), 0), ((2, 3, 4), -2)],
                         ids=str)
def test_cumsum(seed, shape, dim):
    check_module(Fn(lambda x: torch.cumsum(x, dim)), (randn(*shape),), terms=shape[dim],
                 expect_ops=["aten::cumsum.out"])


def test_cumsum_integer(seed):
    check_module(Fn(lambda x: torch.cumsum(x, 1)), (randint(-9, 9, 3, 6, dtype=torch.int32),))
    check_module(Fn(lambda x: torch.cumsum(x, 0)), (torch.rand(8) > 0.5,))

