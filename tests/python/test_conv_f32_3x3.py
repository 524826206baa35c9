"""AVX-512 float32 convolution, ResNet-18's round (issue 12):

- the implicit GEMM (conv2d_f32_implicit_avx512.c) on "same" stride-1 layers: blocks of 48
  outputs (8x48 register block) or 32 (planes whose lanes 48 would leave empty, 7 x 7),
  small banks taking the input channels 32 at a time (partial sums stored in the output and
  resumed: the channel counts below cross those boundaries), large banks (> 1 MiB) filter
  group by filter group, the last one to four outputs of planes of 48 n + 1 .. 4 as dot
  products (ResNet-18's 7 x 7 and 14 x 14 layers);
- the stride-2 kernel (conv2d_f32_stem_avx512.c): the input rows split into even and odd
  columns, read as contiguous vectors; rows of 24+ outputs a row at a time (ResNet's 7 x 7
  stem on 3 channels), narrower ones with the whole image split and blocks across output
  rows (ResNet-18's 14 -> 7 layer, a bank over 1 MiB), channels in chunks when their phase
  rows exceed 336 KiB (partial sums stored and resumed); 1x1 windows decline to the im2col
  strip (also drawn here).

Random shapes from the printed seed, each convolution followed by relu or nothing, compiled
for "x86-64-avx512" (the compiler's 8-filter panels, relu fused into the store) and for
"host" (OIHW filters), run through ptec-run (PTEC_RUN). Checks, per case:
- the two programs equal bit for bit (the kernels read the same filter values in the same
  order from panels and OIHW rows; clamping is exact);
- 1 and 3 threads equal bit for bit;
- within (K + 2) * 2^-24 * (sum |w x| + |b|) of PyTorch in float64 (test_conv_f32_x86's
  bound), and within twice that of the reference twin: the same program on a channels-last
  input, which the x86 variants decline, so the C reference loops compute it.
On CPUs without AVX-512 the same programs run the AVX2 or reference kernels; the checks
still hold.
"""
from __future__ import annotations

import random

import numpy as np
import torch
from torch import nn

import ptec
from test_conv_f32_packed import RUN, _bitwise, _run
from test_conv_f32_x86 import exact_and_bound

TARGET = "x86-64-avx512"


def _check(conv: nn.Conv2d, relu: bool, x: torch.Tensor, tmp, what: str) -> None:
    model = (nn.Sequential(conv, nn.ReLU()) if relu else nn.Sequential(conv)).eval()
    xl = x.contiguous(memory_format=torch.channels_last)
    fused = ptec.compile(model, (x,), target=TARGET)
    host = ptec.compile(model, (x,))
    twin = ptec.compile(model, (xl,), target=TARGET)
    (one,) = _run(RUN, fused.buffer, (x,), tmp / "fused")
    (three,) = _run(RUN, fused.buffer, (x,), tmp / "fused", threads=3)
    (unpacked,) = _run(RUN, host.buffer, (x,), tmp / "host")
    # The reference twin: channels-last input, so the C reference loops.
    (ref,) = _run(RUN, twin.buffer, (xl,), tmp / "ref")
    assert np.array_equal(one.view(np.uint32), three.view(np.uint32)), \
        f"{what}: 1 and 3 threads differ"
    assert _bitwise(one, unpacked), f"{what}: panels and OIHW filters differ"
    want, bound = exact_and_bound(conv, x)
    want = want.clamp(min=0.0).numpy() if relu else want.numpy()
    for got, limit, name in ((one, bound, "PyTorch in float64"),
                             (ref, bound, "PyTorch in float64 (reference loops)"),
                             (one, None, "the reference loops")):
        other = ref if limit is None else want
        err = np.abs(got.astype(np.float64) - other.astype(np.float64))
        bad = err > (2 * bound if limit is None else limit)
        assert not bad.any(), (f"{what}: {int(bad.sum())} of {bad.size} outputs differ from "
                               f"{name} beyond the bound")


def test_implicit_blocks_random(seed, tmp_path):
    rng = random.Random(seed)
    torch.manual_seed(seed)
    # (h, w): 48-output blocks (56 x 9, 20 x 30, 14 x 14, 5 x 11 in one short block) and
    # 32-output ones (7 x 7, 3 x 3).
    planes = [(56, 9), (20, 30), (14, 14), (7, 7), (3, 3), (5, 11)]
    for case in range(8):
        k = rng.choice([3, 3, 5])
        dil = rng.choice([1, 1, 2])
        # Banks over 1 MiB: filter group by filter group; on 7 x 7, 5 x 10 and 14 x 14 planes
        # (48 + 1, 48 + 2, 4 x 48 + 4 outputs) the outputs past the last 48 are dot products.
        big = case < 3
        cin = 132 if big else rng.choice([1, 3, 31, 32, 33, 67])
        cout = 250 if big else rng.choice([5, 8, 13, 24])
        h, w = [(7, 7), (5, 10), (14, 14)][case] if big else rng.choice(planes)
        conv = nn.Conv2d(cin, cout, k, padding=(k - 1) * dil // 2, dilation=dil,
                         bias=rng.random() < 0.8)
        x = torch.randn(rng.choice([1, 1, 2]), cin, h, w)
        relu = rng.random() < 0.6
        _check(conv, relu, x, tmp_path / f"c{case}",
               f"case {case}: {conv} relu={relu} on {tuple(x.shape)} (seed {seed})")


def test_stem_random(seed, tmp_path):
    rng = random.Random(seed)
    torch.manual_seed(seed)
    for case in range(8):
        k = rng.choice([2, 3, 5, 7, 7]) if case else 7
        cin = rng.choice([1, 3, 4, 9]) if case else 3
        cout = rng.choice([3, 8, 20, 64])
        pad = rng.randrange(0, k // 2 + 1) if case else 3
        # Output rows of 24+ (a row at a time: 48 + 32 blocks and tails) and narrower
        # ones (the whole image's phase rows, blocks across output rows).
        w = rng.choice([47, 48, 63, 97, 130, 240]) if case % 2 == 0 else rng.choice([5, 14, 29, 40])
        h = rng.choice([k, 9, 20])
        if case == 1:  # a 1x1 window: declined (the strip)
            k, pad = 1, 0
        if case == 3:  # ResNet-18's 14 -> 7 layer, narrower: a bank over 1 MiB
            cin, cout, k, pad, h, w = 72, 520, 3, 1, 14, 14
        if case == 5:  # its 56 -> 28 layer: 64 channels of wide phase rows
            cin, cout, k, pad, h, w = 64, 24, 3, 1, 56, 56
        if case == 7:  # narrow phase rows over 336 KiB: two chunks of channels (38 + 37)
            cin, cout, k, pad, h, w = 75, 20, 3, 1, 28, 28
        conv = nn.Conv2d(cin, cout, k, stride=2, padding=pad, bias=rng.random() < 0.8)
        n = rng.choice([1, 2])
        x = torch.randn(2 if case == 7 else n, cin, max(h, k), max(w, k))
        relu = rng.random() < 0.6
        _check(conv, relu, x, tmp_path / f"c{case}",
               f"case {case}: {conv} relu={relu} on {tuple(x.shape)} (seed {seed})")
