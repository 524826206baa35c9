"""3-D convolution (issue 17) against PyTorch eager: strides, padding,
dilation, groups, bias, channels-last-3d input; random sizes from the
printed seed."""
from __future__ import annotations

import random

import pytest
import torch

from op_testing import check_module


@pytest.mark.parametrize("groups,bias", [(1, True), (2, False)])
def test_conv3d(seed, groups, bias):
    cin, cout = 2 * groups, 3 * groups
    conv = torch.nn.Conv3d(cin, cout, (2, 3, random.randint(1, 3)), stride=(1, 2, 1),
                           padding=(1, 0, 1), dilation=(1, 1, 2), groups=groups, bias=bias)
    x = torch.randn(2, cin, random.randint(2, 4), random.randint(3, 6), random.randint(4, 6))
    check_module(conv, (x,), rtol=1e-4, atol=1e-5, terms=cin * 18,
                 expect_ops=["aten::convolution.out"])


def test_conv3d_channels_last(seed):
    conv = torch.nn.Conv3d(3, 4, 3, padding=1)
    x = torch.randn(1, 3, 3, 4, 5).to(memory_format=torch.channels_last_3d)
    check_module(conv, (x,), rtol=1e-4, atol=1e-5, terms=81)
