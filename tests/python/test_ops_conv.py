"""convolution, batch norm (inference) and pooling: the vision-model ops,
contiguous and channels-last."""
import pytest
import torch
from torch import nn

from op_testing import Fn, check_module, randn

CONV2D = [
    # in, out, kernel, stride, padding, dilation, groups, bias, input H, W
    dict(cin=3, cout=8, k=3, stride=1, padding=1, dilation=1, groups=1, bias=True, hw=(9, 7)),
    dict(cin=4, cout=6, k=3, stride=2, padding=0, dilation=1, groups=1, bias=False, hw=(11, 8)),
    dict(cin=8, cout=8, k=3, stride=1, padding=1, dilation=1, groups=8, bias=True, hw=(6, 6)),
    dict(cin=6, cout=12, k=3, stride=2, padding=1, dilation=1, groups=6, bias=False, hw=(7, 9)),
    dict(cin=4, cout=6, k=1, stride=1, padding=0, dilation=1, groups=2, bias=True, hw=(5, 5)),
    dict(cin=2, cout=3, k=(3, 2), stride=(2, 1), padding=(1, 0), dilation=(2, 1), groups=1,
         bias=True, hw=(10, 6)),
    dict(cin=16, cout=4, k=5, stride=1, padding=2, dilation=1, groups=1, bias=True, hw=(4, 4)),
]


def make_conv(c: dict) -> nn.Conv2d:
    return nn.Conv2d(c["cin"], c["cout"], c["k"], stride=c["stride"], padding=c["padding"],
                     dilation=c["dilation"], groups=c["groups"], bias=c["bias"])


def conv_terms(c: dict) -> int:
    k = c["k"] if isinstance(c["k"], tuple) else (c["k"], c["k"])
    return c["cin"] // c["groups"] * k[0] * k[1]


@pytest.mark.parametrize("channels_last", [False, True], ids=["nchw", "nhwc"])
@pytest.mark.parametrize("c", CONV2D, ids=lambda c: f"{c['cin']}-{c['cout']}-g{c['groups']}")
def test_conv2d(seed, c, channels_last):
    conv = make_conv(c)
    x = randn(2, c["cin"], *c["hw"], channels_last=channels_last)
    if channels_last:
        conv = conv.to(memory_format=torch.channels_last)
    check_module(conv, (x,), terms=conv_terms(c), expect_ops=["aten::convolution.out"])


@pytest.mark.parametrize("groups", [1, 4])
def test_conv1d(seed, groups):
    conv = nn.Conv1d(8, 12, 3, stride=2, padding=1, groups=groups)
    check_module(conv, (randn(2, 8, 17),), terms=8 * 3, expect_ops=["aten::convolution.out"])


def test_conv1d_dilated(seed):
    conv = nn.Conv1d(3, 5, 4, dilation=3, bias=False)
    check_module(conv, (randn(1, 3, 20),), terms=12)


def test_conv2d_3d_input(seed):
    """An unbatched [C, H, W] input: torch.export adds the batch dim."""
    conv = nn.Conv2d(3, 4, 3, padding=1)
    check_module(conv, (randn(3, 6, 5),), terms=27)


@pytest.mark.parametrize("channels_last", [False, True], ids=["nchw", "nhwc"])
def test_batch_norm(seed, channels_last):
    bn = nn.BatchNorm2d(6)
    with torch.no_grad():
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
        bn.weight.uniform_(-2, 2)
        bn.bias.uniform_(-1, 1)
    x = randn(2, 6, 5, 4, channels_last=channels_last)
    check_module(bn, (x,), expect_ops=["aten::_native_batch_norm_legit_no_training.out"])


def test_batch_norm_no_affine_1d(seed):
    bn = nn.BatchNorm1d(5, affine=False)
    with torch.no_grad():
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
    check_module(bn, (randn(3, 5, 7),))
    check_module(bn, (randn(4, 5),))


def test_conv_bn_relu6(seed):
    """The MobileNetV2 building block, unfused."""
    block = nn.Sequential(nn.Conv2d(4, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8),
                          nn.ReLU6())
    with torch.no_grad():
        block[1].running_mean.uniform_(-1, 1)
        block[1].running_var.uniform_(0.5, 2)
    check_module(block, (randn(1, 4, 8, 8),), terms=36)


POOLS = [
    dict(k=2, stride=2, padding=0, ceil_mode=False),
    dict(k=3, stride=2, padding=1, ceil_mode=False),
    dict(k=3, stride=2, padding=1, ceil_mode=True),
    dict(k=(3, 2), stride=(1, 2), padding=(1, 0), ceil_mode=True),
    dict(k=3, stride=None, padding=0, ceil_mode=True),
]


@pytest.mark.parametrize("channels_last", [False, True], ids=["nchw", "nhwc"])
@pytest.mark.parametrize("p", POOLS, ids=str)
def test_max_pool2d(seed, p, channels_last):
    pool = nn.MaxPool2d(p["k"], p["stride"], p["padding"], ceil_mode=p["ceil_mode"])
    check_module(pool, (randn(2, 3, 9, 8, channels_last=channels_last),),
                 expect_ops=["aten::max_pool2d_with_indices.out"])


def test_max_pool2d_dilation_and_indices(seed):
    """Indices are an output here, so they are compared too."""
    fn = Fn(lambda x: torch.nn.functional.max_pool2d(x, 3, 2, 1, dilation=2, return_indices=True))
    check_module(fn, (randn(1, 2, 11, 10),))
    fn = Fn(lambda x: torch.nn.functional.max_pool2d(x, 2, return_indices=True, ceil_mode=True))
    check_module(fn, (randn(2, 3, 7, 5, channels_last=True),))


@pytest.mark.parametrize("channels_last", [False, True], ids=["nchw", "nhwc"])
@pytest.mark.parametrize("p", POOLS, ids=str)
@pytest.mark.parametrize("include_pad", [True, False], ids=["incpad", "nopad"])
def test_avg_pool2d(seed, p, channels_last, include_pad):
    pool = nn.AvgPool2d(p["k"], p["stride"], p["padding"], ceil_mode=p["ceil_mode"],
                        count_include_pad=include_pad)
    check_module(pool, (randn(2, 3, 9, 8, channels_last=channels_last),),
                 expect_ops=["aten::avg_pool2d.out"])


def test_avg_pool2d_divisor_override(seed):
    pool = nn.AvgPool2d(3, 2, 1, divisor_override=4)
    check_module(pool, (randn(1, 2, 7, 7),))


@pytest.mark.parametrize("channels_last", [False, True], ids=["nchw", "nhwc"])
@pytest.mark.parametrize("size", [(1, 1), (3, 2), (4, 4), (5, 7)], ids=str)
def test_adaptive_avg_pool2d(seed, size, channels_last):
    pool = nn.AdaptiveAvgPool2d(size)
    x = randn(2, 3, 8, 7, channels_last=channels_last)
    prog = check_module(pool, (x,), terms=16)
    assert prog is not None


def test_adaptive_avg_pool2d_kernel(seed):
    """(1, 1) usually decomposes to mean; uneven sizes keep the kernel."""
    pool = nn.AdaptiveAvgPool2d((3, 5))
    check_module(pool, (randn(1, 4, 7, 11),), expect_ops=["aten::_adaptive_avg_pool2d.out"])

