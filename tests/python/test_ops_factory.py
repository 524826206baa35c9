"""Factories: full, full_like, zeros/ones (via full), arange, scalar_tensor."""
import pytest
import torch

from op_testing import Fn, check_module, randn


@pytest.mark.parametrize("dtype", [torch.float32, torch.int64, torch.int32, torch.bool])
def test_full(seed, dtype):
    """Added to an input so the result is computed at run time, not folded."""
    value = {torch.float32: 2.5, torch.int64: -3, torch.int32: 7, torch.bool: True}[dtype]
    x = randn(2, 3)
    check_module(Fn(lambda t: torch.full((2, 3), value, dtype=dtype) * (t > 0)), (x,))


def test_full_like_and_zeros(seed):
    x = randn(3, 4)
    check_module(Fn(lambda t: torch.full_like(t, 1.5) + t), (x,))
    check_module(Fn(lambda t: torch.zeros_like(t) + t), (x,))
    check_module(Fn(lambda t: torch.ones(3, 4) - t), (x,))
    check_module(Fn(lambda t: torch.full_like(t, 2.0) * t),
                 (randn(2, 3, 4, 4, channels_last=True),))


@pytest.mark.parametrize("args", [(5,), (2, 9), (1, 10, 3), (0.5, 3.0, 0.25), (10, 0, -3),
                                  (-1.0, 1.0, 0.3)], ids=str)
def test_arange(seed, args):
    check_module(Fn(lambda t: torch.arange(*args) + t), (torch.zeros(1),))
    if all(isinstance(a, int) for a in args):
        check_module(Fn(lambda t: torch.arange(*args) * t), (torch.ones(1, dtype=torch.int64),))


def test_scalar_tensor(seed):
    check_module(Fn(lambda t: t + torch.scalar_tensor(3.5)), (randn(4),))
