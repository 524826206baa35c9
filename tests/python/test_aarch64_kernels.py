"""AArch64 NEON float32 kernels under qemu-aarch64 against float64 PyTorch (issue 12).

- depthwise (kernels/neon/depthwise_conv2d_f32_neon.c): random kernel sizes (1x1 to 7x7,
  1x3), strides 1, 2 and 3 (plain loads, LD2, lane by lane), padding, dilation, channel
  counts, planes from 1 column to 48, batches of 2, channels-last inputs (the padded plane
  is gathered), with and without bias, and a fused ReLU6 (hardtanh) after it;
- groups-1 convolutions (conv2d_f32_neon.c's GEMM) on random shapes, and on output planes of
  fewer than 16 pixels (conv2d_f32_small_neon.c).

Each program runs through the cortex-a76 build (PTEC_RUN_CORTEX_A76) on 1 and 3 threads;
outputs are equal bit for bit between thread counts (each output is summed by one thread in
one order) and each is within the gamma_K bound of a K-term float32 sum in any order, with
or without fused multiply-adds: |y - y_exact| <= (K + 2) * 2^-24 * (sum_k |w_k x_k| + |b|)
(the data are exact float32 values). Small shapes: QEMU is slow.
"""
from __future__ import annotations

import random
import shutil

import numpy as np
import pytest
import torch
from torch import nn

import ptec
from ptec.device import aarch64_ptec_run
from op_testing import compile_module

U = 2.0 ** -24

pytestmark = pytest.mark.skipif(
    shutil.which("qemu-aarch64") is None or not aarch64_ptec_run("cortex-a76").is_file(),
    reason="needs qemu-aarch64 and `make build-aarch64`")


def _exact_and_magnitude(conv: nn.Conv2d, x: torch.Tensor):
    """The float64 result and the same convolution of |w|, |x|, |b| (sum |w x| + |b|)."""
    with torch.no_grad():
        d = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                      conv.padding, conv.dilation, conv.groups, conv.bias is not None).double()
        d.weight.copy_(conv.weight.double())
        if conv.bias is not None:
            d.bias.copy_(conv.bias.double())
        want = d(x.double())
        d.weight.abs_()
        if conv.bias is not None:
            d.bias.abs_()
        return want.numpy(), d(x.double().abs()).numpy()


def _check(model: nn.Module, conv: nn.Conv2d, x: torch.Tensor, what: str, clamp=None) -> None:
    program = compile_module(model.eval(), (x,)).buffer
    one, three = (ptec.load(program, target="cortex-a76", threads=t)(x)[0].numpy()
                  for t in (1, 3))
    assert np.array_equal(one.view(np.uint32), three.view(np.uint32)), \
        f"{what}: 1 and 3 threads differ"
    want, mag = _exact_and_magnitude(conv, x)
    if clamp is not None:
        want = np.clip(want, *clamp)
    terms = conv.in_channels // conv.groups * conv.kernel_size[0] * conv.kernel_size[1]
    bound = (terms + 2) * U * mag
    err = np.abs(one.astype(np.float64) - want)
    bad = err > bound
    assert not bad.any(), (f"{what}: {int(bad.sum())} of {bad.size} outputs beyond the bound, "
                           f"worst {float((err - bound).max()):.3g} over it")


def test_depthwise_f32_random(seed):
    rng = random.Random(seed)
    torch.manual_seed(seed)
    for case in range(7):
        k = rng.choice([1, 3, 3, 5, 7, (1, 3)])
        kh, kw = (k, k) if isinstance(k, int) else k
        dil = rng.choice([1, 1, 2]) if max(kh, kw) > 1 else 1
        stride = rng.choice([1, 1, 2, 2, 3])
        pad = rng.randrange(0, max(kh, kw))
        c = rng.choice([1, 3, 16, 37])
        h = max((kh - 1) * dil + 1, rng.choice([1, 5, 14, 17]))
        w = max((kw - 1) * dil + 1, rng.choice([1, 4, 16, 23, 48]))
        conv = nn.Conv2d(c, c, (kh, kw), stride=stride, padding=pad, dilation=dil, groups=c,
                         bias=rng.random() < 0.8)
        x = torch.randn(rng.choice([1, 1, 2]), c, h, w)
        if rng.random() < 0.3:
            x = x.contiguous(memory_format=torch.channels_last)
        relu6 = rng.random() < 0.3
        model = nn.Sequential(conv, nn.ReLU6()) if relu6 else conv
        _check(model, conv, x, f"case {case}: {conv} on {tuple(x.shape)} (seed {seed})",
               clamp=(0.0, 6.0) if relu6 else None)


def test_conv_f32_gemm_random(seed):
    rng = random.Random(seed)
    torch.manual_seed(seed)
    for case in range(3):
        k = rng.choice([1, 1, 3, 5])
        c, oc = rng.choice([1, 3, 8, 19]), rng.choice([1, 4, 9, 24])
        stride = rng.choice([1, 2])
        conv = nn.Conv2d(c, oc, k, stride=stride, padding=rng.randrange(0, k),
                         bias=rng.random() < 0.8)
        x = torch.randn(1, c, rng.choice([5, 9, 18]), rng.choice([5, 17, 20]))
        _check(conv, conv, x, f"case {case}: {conv} on {tuple(x.shape)} (seed {seed})")


def test_conv_f32_small_planes_random(seed):
    """Output planes under 16 pixels (conv2d_f32_small_neon.c: dot products along k, four
    filters by up to four pixels, K in chunks of 1024): 1 to 15 pixels, padding, stride 2,
    filter counts not multiples of 4, K past one chunk."""
    rng = random.Random(seed)
    torch.manual_seed(seed)
    for case in range(4):
        k = rng.choice([1, 3])
        c = 130 if case == 0 else rng.choice([3, 16, 33])  # case 0: K = 1170 or 130
        oc = rng.choice([1, 5, 8, 13])
        pad = rng.randrange(0, k)
        conv = nn.Conv2d(c, oc, k, stride=rng.choice([1, 2]), padding=pad,
                         bias=rng.random() < 0.8)
        h, w = (max(k - 2 * pad, rng.choice(v)) for v in ([1, 2, 3], [1, 3, 4]))
        x = torch.randn(rng.choice([1, 2]), c, h, w)
        _check(conv, conv, x, f"case {case}: {conv} on {tuple(x.shape)} (seed {seed})")
