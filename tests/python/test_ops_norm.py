"""native_layer_norm, _softmax, _log_softmax."""
import pytest
import torch
from torch import nn

from op_testing import Fn, check_module, randn


@pytest.mark.parametrize("shape,normalized", [
    ((4, 16), (16,)),
    ((2, 5, 32), (32,)),
    ((2, 3, 4, 5), (4, 5)),
    ((3, 7), (3, 7)),
], ids=str)
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm(seed, shape, normalized, affine):
    ln = nn.LayerNorm(normalized, elementwise_affine=affine)
    if affine:
        with torch.no_grad():
            ln.weight.uniform_(-2, 2)
            ln.bias.uniform_(-1, 1)
    x = randn(*shape) * 3 + 1
    width = torch.tensor(normalized).prod().item()
    check_module(ln, (x,), terms=width, expect_ops=["aten::native_layer_norm.out"])


def test_layer_norm_stats_outputs(seed):
    """mean and rstd are outputs here, so they are compared too."""
    fn = Fn(lambda x: torch.ops.aten.native_layer_norm(x, [6], None, None, 1e-5))
    check_module(fn, (randn(2, 3, 6) * 2 + 3,), terms=6)


def test_layer_norm_channels_last(seed):
    fn = Fn(lambda x: torch.nn.functional.layer_norm(x, (4, 5)))
    check_module(fn, (randn(2, 3, 4, 5, channels_last=True),), terms=20)


@pytest.mark.parametrize("shape,dim", [((10,), 0), ((3, 9), -1), ((3, 9), 0), ((2, 3, 4), 1),
                                       ((2, 4, 3, 5), 1), ((), 0)], ids=str)
@pytest.mark.parametrize("log", [False, True], ids=["softmax", "log_softmax"])
def test_softmax(seed, shape, dim, log):
    fn = Fn(lambda x: (torch.log_softmax if log else torch.softmax)(x, dim))
    name = "aten::_log_softmax.out" if log else "aten::_softmax.out"
    check_module(fn, (randn(*shape) * 4,), expect_ops=[name] if shape else [],
                 terms=shape[dim] if shape else 1)


@pytest.mark.parametrize("log", [False, True], ids=["softmax", "log_softmax"])
def test_softmax_channels_last(seed, log):
    fn = Fn(lambda x: (torch.log_softmax if log else torch.softmax)(x, 1))
    check_module(fn, (randn(2, 6, 3, 4, channels_last=True) * 4,), terms=6)


def test_softmax_large_values(seed):
    """Max subtraction keeps exp finite."""
    x = randn(4, 8) * 100
    check_module(Fn(lambda t: torch.softmax(t, -1)), (x,))
    check_module(Fn(lambda t: torch.log_softmax(t, -1)), (x,), rtol=1e-5, atol=1e-4)
